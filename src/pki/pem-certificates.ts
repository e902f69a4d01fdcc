import { X509Certificate } from 'node:crypto';

/** Every certificate of a PEM bundle (or of several), in order; text between the blocks is ignored. */
export function parsePemCertificates(pem: string | Buffer | ReadonlyArray<string | Buffer>): X509Certificate[] {
  const texts = (Array.isArray(pem) ? pem : [pem]).map((p) => p.toString());
  const out: X509Certificate[] = [];
  for (const text of texts) {
    for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)) out.push(new X509Certificate(m[0]));
  }
  return out;
}
