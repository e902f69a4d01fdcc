/**
 * Python's cbor2 (Debian python3-cbor2) as an independent CBOR decoder: it reads the constrained
 * vouchers and voucher-requests we sign (tag 18 COSE_Sign1, protected header, SID-keyed payload)
 * into exactly the structure we meant, and its canonical re-encoding reproduces our bytes, which
 * shows our output is deterministic.
 */
import { spawnSync } from 'node:child_process';
import {
  SignedVoucherCose, Voucher, createPledgeVoucherRequest, createRegistrarVoucherRequest, signVoucherCose,
} from '../../../../src/teap-brski/brski/voucher/index.js';
import { inCi, requireTool } from '../../../helpers/require-tool.js';
import { type BrskiPki, makeBrskiPki } from './test-pki.js';
import { cbrski } from './vectors.js';

// Debian's interpreter: the package installs cbor2 for /usr/bin/python3, whatever else is on PATH.
const PYTHON = '/usr/bin/python3';

function findCbor2(): string | undefined {
  const python = requireTool('python3 (for python3-cbor2)', PYTHON);
  if (!python) return undefined;
  const probe = spawnSync(python, ['-c', 'import cbor2']);
  if (probe.status === 0) return python;
  const message = `python module cbor2 missing for ${python} (apt-get install python3-cbor2)`;
  if (inCi()) throw new Error(`${message}; CI=true, so tests that need it fail instead of skipping`);
  console.warn(`\n${'!'.repeat(72)}\n!! SKIPPING tests that need cbor2: ${message}.\n${'!'.repeat(72)}\n`);
  return undefined;
}

const python = findCbor2();
const describeWithCbor2 = python ? describe : describe.skip;

// Reads hex on stdin; prints the decoded COSE_Sign1 as JSON with bytes as {"h": hex}, maps as
// lists of pairs (keys stay typed), tags as {"tag": n, "value": ...}; payload and protected header
// decoded as well; and whether cbor2's canonical encoding gives back the very same bytes.
const SCRIPT = String.raw`
import sys, json, cbor2
def walk(v):
    if isinstance(v, cbor2.CBORTag): return {"tag": v.tag, "value": walk(v.value)}
    if isinstance(v, (bytes, bytearray)): return {"h": bytes(v).hex()}
    if isinstance(v, dict): return {"map": [[walk(k), walk(x)] for k, x in v.items()]}
    if isinstance(v, list): return [walk(x) for x in v]
    return v
data = bytes.fromhex(sys.stdin.read().strip())
item = cbor2.loads(data)
out = {"item": walk(item)}
if isinstance(item, cbor2.CBORTag) and item.tag == 18:
    protected, unprotected, payload, signature = item.value
    out["protected"] = walk(cbor2.loads(protected))
    out["payload"] = walk(cbor2.loads(payload))
    out["payload_canonical"] = cbor2.dumps(cbor2.loads(payload), canonical=True) == payload
    out["signature_length"] = len(signature)
out["canonical"] = cbor2.dumps(item, canonical=True) == data
print(json.dumps(out))
`;

interface PyView {
  item: { tag: number; value: unknown[] };
  protected: unknown;
  payload: unknown;
  payload_canonical: boolean;
  signature_length: number;
  canonical: boolean;
}

function cbor2View(bytes: Uint8Array): PyView {
  const r = spawnSync(python as string, ['-c', SCRIPT], { input: Buffer.from(bytes).toString('hex') });
  if (r.status !== 0) throw new Error(`cbor2 failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as PyView;
}

const h = (b: Uint8Array): { h: string } => ({ h: Buffer.from(b).toString('hex') });

describeWithCbor2('python cbor2 decodes our constrained artefacts', () => {
  let pki: BrskiPki;
  beforeAll(async () => {
    pki = await makeBrskiPki('PY-CBOR-9');
  });

  it('a voucher: tag 18, {1: -7}, x5bag, payload {2451: {deltas}}, canonical', () => {
    const nonce = new Uint8Array(12).fill(0xab);
    const v = new Voucher({
      assertion: 'proximity',
      createdOn: '2026-06-01T00:00:00.000Z',
      domainCertRevocationChecks: false,
      nonce,
      pinnedDomainCert: pki.domainCa.der,
      serialNumber: pki.serialNumber,
    });
    const bytes = signVoucherCose(v, { privateKey: pki.masa.key, certificates: [pki.masa.der, pki.manufacturerCa.der] });
    const view = cbor2View(bytes);
    expect(view.item.tag).toBe(18);
    expect(view.item.value).toHaveLength(4);
    expect(view.item.value[1]).toEqual({ map: [[32, [h(pki.masa.der), h(pki.manufacturerCa.der)]]] });
    expect(view.protected).toEqual({ map: [[1, -7]] });
    expect(view.payload).toEqual({
      map: [[2451, {
        map: [
          [1, 2],
          [2, '2026-06-01T00:00:00.000Z'],
          [3, false],
          [7, h(nonce)],
          [8, h(pki.domainCa.der)],
          [11, pki.serialNumber],
        ],
      }]],
    });
    expect(view.signature_length).toBe(64);
    expect(view.payload_canonical).toBe(true);
    expect(view.canonical).toBe(true);
  });

  it('a registrar voucher-request wrapping the pledge request, as cbor2 sees both', () => {
    const pvr = createPledgeVoucherRequest({ serialNumber: pki.serialNumber, proximityRegistrarCert: pki.registrar.der, createdOn: null });
    const pvrBytes = signVoucherCose(pvr, { privateKey: pki.idevid.key });
    const rvr = createRegistrarVoucherRequest({
      idevid: pki.idevid.der,
      priorSigned: { bytes: pvrBytes, request: SignedVoucherCose.decode(pvrBytes).voucherRequest() },
      createdOn: new Date('2026-06-01T00:00:01.000Z'),
    });
    const rvrBytes = signVoucherCose(rvr, { privateKey: pki.registrar.key, certificates: [pki.registrar.der, pki.domainCa.der] });

    const inner = cbor2View(pvrBytes);
    expect(inner.item.value[1]).toEqual({ map: [] });
    expect(inner.payload).toEqual({
      map: [[2501, { map: [[1, 2], [7, h(pvr.nonce as Uint8Array)], [10, h(pki.registrar.der)], [13, pki.serialNumber]] }]],
    });
    expect(inner.canonical).toBe(true);

    const outer = cbor2View(rvrBytes);
    expect(outer.payload).toEqual({
      map: [[2501, {
        map: [
          [1, 2],
          [2, '2026-06-01T00:00:01.000Z'],
          [5, h(rvr.idevidIssuer as Uint8Array)],
          [7, h(pvr.nonce as Uint8Array)],
          [9, h(pvrBytes)],
          [13, pki.serialNumber],
        ],
      }]],
    });
    expect(outer.canonical).toBe(true);
  });

  it('agrees with our decoder on the cBRSKI voucher vector', () => {
    const view = cbor2View(cbrski.voucher);
    const ours = SignedVoucherCose.decode(cbrski.voucher).voucher();
    expect(view.payload).toEqual({
      map: [[2451, {
        map: [
          [1, 2],
          [2, ours.createdOn],
          [3, false],
          [7, h(ours.nonce as Uint8Array)],
          [8, h(ours.pinnedDomainCert as Uint8Array)],
          [11, ours.serialNumber],
        ],
      }]],
    });
  });
});
