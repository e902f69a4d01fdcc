/**
 * RADIUS servers drop a request whose authenticators do not verify, without a word (RFC 2865 §3),
 * so a wrong shared secret looks exactly like a server that is not there. When our peers hear
 * nothing, the operator is told both possibilities.
 */
export function noReplyHint(reason: string | undefined, server: string): string | undefined {
  if (reason === undefined || !/no valid reply/.test(reason)) return undefined;
  return `no answer from ${server}: either no RADIUS server listens there, or --secret is not the shared secret of the server's client entry for this address (a server drops requests with a wrong secret silently; Gangway logs "bad Message-Authenticator (wrong secret?)")`;
}

/** A RadiusClient onRetransmit callback that tells the person once that nothing has answered yet. */
export function firstSilenceNotice(write: (line: string) => void, server: string): (r: { elapsedMs: number }) => void {
  let told = false;
  return ({ elapsedMs }) => {
    if (told) return;
    told = true;
    write(`no answer from ${server} after ${(elapsedMs / 1000).toFixed(1)} s; retrying for up to 30 s (is a RADIUS server running there, and is --secret right?)\n`);
  };
}
