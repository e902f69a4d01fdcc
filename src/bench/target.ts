/** A RADIUS server under test: a child process on loopback, or any server given by address. */
export type ServerKind = 'gangway' | 'hostapd' | 'freeradius' | 'external';

export interface ServerTarget {
  kind: ServerKind;
  /** Gangway's `tls.engine`, when the bench set one. */
  engine?: 'openssl' | 'node';
  host: string;
  port: number;
  secret: string;
  /**
   * The process whose CPU time and memory are measured (/proc/PID). Unset for an external server
   * given without `--server-pid`: its CPU and memory are then not reported.
   */
  pid?: number;
  /** Gangway's `GET /metrics` on its monitoring listener: server-side time per request. */
  metricsUrl?: string;
  /** e.g. "hostapd v2.10", or Gangway's package version. */
  version: string;
  stop(): Promise<void>;
  /** The tail of the server's output, for failure messages. */
  tail(): string;
}

/** "gangway/openssl", "hostapd", ... */
export function targetLabel(t: { kind?: ServerKind; server?: ServerKind; engine?: string | undefined }): string {
  const kind = t.kind ?? t.server ?? 'external';
  return t.engine ? `${kind}/${t.engine}` : kind;
}
