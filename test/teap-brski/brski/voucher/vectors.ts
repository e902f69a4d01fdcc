/**
 * The test vectors of fixtures/ (see fixtures/README.md) and the public keys that
 * ../shared/specs/constrained-voucher.md §4 gives for them.
 */
import { type KeyObject, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(__dirname, 'fixtures');

function hexFile(name: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(join(dir, name), 'utf8').replace(/\s+/g, ''), 'hex'));
}

function pemCms(name: string): Uint8Array {
  const text = readFileSync(join(dir, name), 'utf8');
  return new Uint8Array(Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
}

export const fixturePath = (name: string): string => join(dir, name);

/** Uncompressed P-256 point (04 || x || y) as a node public key. */
export function p256PublicKey(pointHex: string): KeyObject {
  const point = Buffer.from(pointHex, 'hex');
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') },
    format: 'jwk',
  });
}

export const cbrski = {
  pvr: hexFile('cbrski-pvr.hex'),
  rvr: hexFile('cbrski-rvr.hex'),
  voucher: hexFile('cbrski-voucher.hex'),
  pledgeKey: p256PublicKey(
    '04487e8e5226054617c8816978186f231e88fc6bef2b7fab79b35999ff849e3e52a89b7f46437e29558af227d68799ba0b2dfcfaf5bcc809014a6e4a10e686a27b',
  ),
  registrarKey: p256PublicKey(
    '042030855be846910b3ecb15caf8572d3eb565bdc654a15efaf6edebaa8b9e1608c5c910c93a20868fc8504d370f1b26fa9759f67983bb78863eda9acbea5124f6',
  ),
  masaKey: p256PublicKey(
    '0492f4d565589773b70358f35c8f947d9438361686560065fb2a9c43d21592a7abc9aaf2017bf1955b622eaad85120f2490e458feba4853f5fb490b11b83fb0316',
  ),
};

export const rfc8995 = {
  vr: pemCms('rfc8995-vr.pem'),
  parboiledVr: pemCms('rfc8995-parboiled-vr.pem'),
  voucher: pemCms('rfc8995-voucher.pem'),
  /** All three were signed on this day (signingTime attributes). */
  signedAt: new Date('2020-02-03T06:51:04Z'),
};
