/**
 * The portal's only way to produce markup: a tagged template whose every interpolated value is
 * escaped unless it is already `Html` made by this same tag. There is no "raw" escape hatch, so a
 * PeerInfo, a user name or an audit detail can never become markup.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes for text and for quoted attribute values alike. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

export class Html {
  /** Only `html` constructs it, so `text` is always made of escaped values and literal template parts. */
  private constructor(readonly text: string) {}

  static fromTemplate(strings: TemplateStringsArray, values: readonly unknown[]): Html {
    let out = strings[0]!;
    for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
    return new Html(out);
  }

  toString(): string {
    return this.text;
  }
}

/** A value in a template: Html as is, lists concatenated, absent values as nothing, anything else escaped text. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: unknown): string {
  if (v instanceof Html) return v.text;
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  return Html.fromTemplate(strings, values);
}
