import { X509Certificate } from 'node:crypto';
import { issueCrl } from '../../src/pki/crl.js';
import { generateDemoPki, type DemoPki } from '../../src/pki/demo-pki.js';
import { signerKeySha256 } from '../../src/pki/crl-acceptance.js';
import { baselineKey, type CrlBaseline } from '../../src/store/crl-baselines.js';
import { crlBytes, initialCrls, planCrls, type ReadCrlFile } from '../../src/server/crls-in-force.js';

const DAY = 86_400_000;
const now = new Date();

let pki: DemoPki;
let cas: X509Certificate[];
beforeAll(async () => {
  pki = await generateDemoPki('crl.test');
  cas = [new X509Certificate(pki.ca.certPem)];
});

const crl = async (crlNumber: bigint, nextUpdate = new Date(now.getTime() + DAY)) =>
  Buffer.from(await issueCrl(pki.ca.certPem, pki.ca.keyPem, [], { thisUpdate: new Date(now.getTime() - 60_000), nextUpdate, crlNumber }));

/** A file system of named buffers; a missing name fails like ENOENT. */
function files(map: Record<string, Buffer>): ReadCrlFile {
  return (path) => {
    const b = map[path];
    if (!b) throw new Error(`ENOENT: no such file, open '${path}'`);
    return b;
  };
}

describe('planCrls', () => {
  it('file by file: unchanged bytes stay, acceptable changes are taken, refused ones keep their CRLs in force', async () => {
    const [a1, b1, c1] = [await crl(1n), await crl(10n), await crl(20n)];
    const start = await initialCrls(['a', 'b', 'c'], cas, now, files({ a: a1, b: b1, c: c1 }));
    expect(start.warnings).toEqual([]);
    const a2 = await crl(2n);
    const expired = await crl(11n, new Date(now.getTime() - DAY));
    const plan = await planCrls(['a', 'b', 'c'], start.files, cas, now, files({ a: a2, b: expired }));
    expect(plan.accepted).toEqual(['a']);
    expect(plan.refused).toEqual([
      { path: 'b', reason: expect.stringMatching(/expired at/) },
      { path: 'c', reason: "cannot read it: ENOENT: no such file, open 'c'" },
    ]);
    expect(crlBytes(['a', 'b', 'c'], plan.files)).toEqual([a2, b1, c1]);
    expect(plan.files.get('a')?.facts[0]?.crlNumber).toBe(2n);
    // The same bytes again are not judged again.
    const again = await planCrls(['a'], plan.files, [], now, files({ a: a2 }));
    expect(again).toMatchObject({ accepted: [], refused: [] });
    expect(again.files.get('a')).toBe(plan.files.get('a'));
  });

  it('a file new to the configuration that is refused has nothing in force (a reload leaves it out and applies the rest)', async () => {
    const plan = await planCrls(['new'], new Map(), cas, now, files({ new: Buffer.from('junk') }));
    expect(plan.refused).toEqual([{ path: 'new', reason: expect.stringMatching(/^not a CRL/) }]);
    expect(plan.files.size).toBe(0);
  });
});

describe('initialCrls', () => {
  it('loads what parses even if a reload would refuse it (with a warning); what does not parse is an error', async () => {
    const expired = await crl(1n, new Date(now.getTime() - DAY));
    const r = await initialCrls(['x'], cas, now, files({ x: expired }));
    expect(r.warnings).toEqual([{ path: 'x', reason: expect.stringMatching(/expired at/) }]);
    expect(crlBytes(['x'], r.files)).toEqual([expired]);
    expect((await initialCrls(['x', 'y'], cas, now, files({ x: expired, y: Buffer.from('junk') }))).unreadable).toEqual({ path: 'y', reason: expect.stringMatching(/^cannot read a CRL from y: /) });
  });

  it('a badly signed CRL loaded at start is no baseline: the next genuine CRL is taken, whatever number the forgery carried (review finding)', async () => {
    const other = await generateDemoPki('elsewhere.test');
    const forged = Buffer.from(await issueCrl(pki.ca.certPem, other.ca.keyPem, [], { thisUpdate: new Date(now.getTime() - 60_000), nextUpdate: new Date(now.getTime() + DAY), crlNumber: 2n ** 64n }));
    const start = await initialCrls(['x'], cas, now, files({ x: forged }));
    expect(start.warnings).toEqual([{ path: 'x', reason: expect.stringMatching(/not signed by that CA's key/) }]);
    expect(start.files.get('x')?.facts).toEqual([expect.objectContaining({ crlNumber: 2n ** 64n, verified: false })]);
    const genuine = await crl(2n);
    const plan = await planCrls(['x'], start.files, cas, now, files({ x: genuine }));
    expect(plan).toMatchObject({ accepted: ['x'], refused: [] });
    expect(plan.files.get('x')?.facts).toEqual([expect.objectContaining({ crlNumber: 2n, verified: true })]);
  });
});

describe('the newest CRL held before (recorded in the store)', () => {
  /** What the store would hold after CRL `n` of the demo CA was in force. */
  async function recorded(n: bigint): Promise<Map<string, CrlBaseline>> {
    const [f] = (await initialCrls(['r'], cas, now, files({ r: await crl(n) }))).files.get('r')!.facts;
    const b: CrlBaseline = { issuerKey: f!.issuerKey, signerKeySha256: signerKeySha256(cas[0]!), issuer: f!.issuer, crlNumber: n, thisUpdate: f!.thisUpdate, recordedAt: now };
    return new Map([[baselineKey(b.issuerKey, b.signerKeySha256), b]]);
  }

  it('at start, an older CRL is refused (rolledBack), naming the file; the same or a newer one loads', async () => {
    const held = await recorded(5n);
    const r = await initialCrls(['x'], cas, now, files({ x: await crl(4n) }), held);
    expect(r.rolledBack).toEqual({ path: 'x', reason: expect.stringMatching(/^CRL of .* is older than the newest CRL of that CA held so far \(CRL number 4 < 5, held /) });
    expect((await initialCrls(['x'], cas, now, files({ x: await crl(5n) }), held)).rolledBack).toBeUndefined();
    expect((await initialCrls(['x'], cas, now, files({ x: await crl(6n) }), held)).files.get('x')?.facts[0]).toMatchObject({ crlNumber: 6n, verified: true, signerKeySha256: signerKeySha256(cas[0]!) });
  });

  it('on a refresh, a file whose CRL in force is none of its own (new in the configuration) is still held to the record', async () => {
    const plan = await planCrls(['new'], new Map(), cas, now, files({ new: await crl(4n) }), await recorded(5n));
    expect(plan.refused).toEqual([{ path: 'new', reason: expect.stringMatching(/older than the newest CRL of that CA held so far \(CRL number 4 < 5/) }]);
    expect(plan.files.size).toBe(0);
  });

  it('records are per CA key: a record of another key under the same name does not hold this CA back', async () => {
    const [b] = [...(await recorded(5n)).values()];
    const ofAnotherKey = { ...b!, signerKeySha256: '00'.repeat(32) };
    const held = new Map([[baselineKey(ofAnotherKey.issuerKey, ofAnotherKey.signerKeySha256), ofAnotherKey]]);
    expect((await initialCrls(['x'], cas, now, files({ x: await crl(1n) }), held)).rolledBack).toBeUndefined();
  });
});
