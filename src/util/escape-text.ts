/**
 * Text from devices and peers (PeerInfo, identities, certificate names) shown on an operator's
 * terminal. Control characters would let it move the cursor, erase lines or start escape sequences
 * (C0, DEL, and C1 such as U+009B CSI); bidirectional overrides would reorder what the operator
 * reads. Each such character is shown as an escape instead; a backslash is doubled so that an
 * escape in the output always means an escaped character.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\\]/gu;

export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
