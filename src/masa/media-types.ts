/**
 * The two voucher formats the MASA speaks, by media type (RFC 8995 §5.5: application/voucher-cms+json;
 * cBRSKI: application/voucher+cose), and the choice of the voucher's format from Accept.
 */
import { VOUCHER_CMS_JSON_MEDIA_TYPE, VOUCHER_COSE_MEDIA_TYPE, isVoucherCoseMediaType } from '../teap-brski/brski/voucher/index.js';

export type ArtifactFormat = 'cms' | 'cose';

export const MEDIA_TYPE: Readonly<Record<ArtifactFormat, string>> = {
  cms: VOUCHER_CMS_JSON_MEDIA_TYPE,
  cose: VOUCHER_COSE_MEDIA_TYPE,
};

function bareType(value: string): string {
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

/** The format a Content-Type names, or undefined when it is neither voucher format. */
export function formatOfContentType(contentType: string | undefined): ArtifactFormat | undefined {
  if (contentType === undefined) return undefined;
  if (bareType(contentType) === VOUCHER_CMS_JSON_MEDIA_TYPE) return 'cms';
  if (isVoucherCoseMediaType(contentType)) return 'cose';
  return undefined;
}

/**
 * The voucher format for an Accept header (RFC 9110 §12.5.1): the acceptable voucher format with the
 * highest q; on a tie, or for wildcards, the request's own format. No header: the request's format.
 * undefined: nothing we can produce is acceptable (406).
 */
export function negotiateFormat(accept: string | undefined, requestFormat: ArtifactFormat): ArtifactFormat | undefined {
  if (accept === undefined || accept.trim() === '') return requestFormat;
  let best: { format: ArtifactFormat; q: number } | undefined;
  for (const item of accept.split(',')) {
    const [range = '', ...params] = item.split(';');
    const type = range.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (!(q > 0) || q > 1) continue;
    const formats: ArtifactFormat[] =
      type === '*/*' || type === 'application/*' ? [requestFormat] : [formatOfContentType(type)].filter((f): f is ArtifactFormat => f !== undefined);
    for (const format of formats) {
      if (!best || q > best.q || (q === best.q && format === requestFormat)) best = { format, q };
    }
  }
  return best?.format;
}
