/**
 * RADIUS servers drop a request whose authenticators do not verify, without a word (RFC 2865 §3),
 * so a wrong shared secret looks exactly like a server that is not there. When our peers hear
 * nothing, the operator is told both possibilities.
 */
export function noReplyHint(reason: string | undefined, server: string): string | undefined {
  if (reason === undefined || !/no valid reply/.test(reason)) return undefined;
  return `no answer from ${server}: either no RADIUS server listens there, or --secret is not the shared secret of the server's client entry for this address (a server drops requests with a wrong secret silently; Gangway logs "bad Message-Authenticator (wrong secret?)")`;
}
