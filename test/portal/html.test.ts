import fc from 'fast-check';
import { escapeHtml, html, Html } from '../../src/portal/html.js';

describe('portal html template', () => {
  it('escapes every interpolated string, in text and in attributes', () => {
    const name = `<script>alert("x")</script>' onmouseover='1`;
    const out = html`<p title="${name}">${name}</p>`.text;
    expect(out).toBe('<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;1">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;1</p>');
  });

  it('keeps nested Html, joins lists, drops absent values', () => {
    const inner = html`<b>${'a&b'}</b>`;
    expect(html`<i>${inner}${[html`<u>1</u>`, '<2>']}${undefined}${null}${false}${0}</i>`.text).toBe('<i><b>a&amp;b</b><u>1</u>&lt;2&gt;0</i>');
  });

  it('has no way to build Html from a plain string', () => {
    // The constructor is private: the only Html comes from the tag.
    expect(Object.getOwnPropertyNames(Html).filter((k) => !['length', 'name', 'prototype', 'fromTemplate'].includes(k))).toEqual([]);
  });

  it('property: no interpolated string can open a tag, close an attribute or start an entity of its own', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = escapeHtml(s);
        expect(html`<a title="${s}">${s}</a>`.text).toBe(`<a title="${e}">${e}</a>`);
        expect(e.replace(/&(amp|lt|gt|quot|#39|#96);/g, '')).not.toMatch(/[<>"'`&]/);
        // Nothing is lost: decoding gives the original text back.
        const decoded = e.replace(/&(amp|lt|gt|quot|#39|#96);/g, (m) => ({ '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#96;': '`' })[m]!);
        expect(decoded).toBe(s);
      }),
    );
  });
});
