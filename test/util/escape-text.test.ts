import fc from 'fast-check';
import { escapeForTerminal } from '../../src/util/escape-text.js';

/** What must never reach a terminal raw from a device: C0, DEL, C1, bidirectional and invisible format characters. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/u;

describe('escapeForTerminal', () => {
  test.each([
    ['plain text', 'lamp 1 (kitchen) — ünïcødé 🙂', 'lamp 1 (kitchen) — ünïcødé 🙂'],
    ['carriage return overwriting the line', 'ok\rFAKE', 'ok\\rFAKE'],
    ['ESC and CSI sequences (7-bit and 8-bit)', '\u001b[2J\u009b2J', '\\x1b[2J\\x9b2J'],
    ['right-to-left override and isolate', 'abc\u202etxt.exe\u2066', 'abc\\u202etxt.exe\\u2066'],
    ['DEL, NUL, tab, newline', '\u007f\u0000\t\n', '\\x7f\\x00\\t\\n'],
    ['a backslash is doubled, so an escape is never ambiguous', 'a\\x1b', 'a\\\\x1b'],
  ])('%s', (_name, input, expected) => {
    expect(escapeForTerminal(input)).toBe(expected);
  });

  test('no unsafe character survives, and distinct inputs stay distinct', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const ea = escapeForTerminal(a);
        expect(UNSAFE.test(ea)).toBe(false);
        if (a !== b) expect(ea).not.toBe(escapeForTerminal(b));
      }),
      { numRuns: 2000 },
    );
  });
});
