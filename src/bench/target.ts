/** A RADIUS server under test, running as a child process on loopback. */
export interface ServerTarget {
  kind: 'gangway' | 'hostapd';
  /** Gangway's `tls.engine`, when the bench set one. */
  engine?: 'openssl' | 'node';
  host: string;
  port: number;
  secret: string;
  /** The process whose CPU time and memory are measured. */
  pid: number;
  /** e.g. "hostapd v2.10", or Gangway's package version. */
  version: string;
  stop(): Promise<void>;
  /** The tail of the server's output, for failure messages. */
  tail(): string;
}
