/**
 * A server under test running as a child process: spawned with its output kept (the tail only),
 * stopped with SIGTERM then SIGKILL, and killed when this process exits for any reason, so that a
 * benchmark interrupted half-way leaves nothing running.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const OUTPUT_LIMIT = 64 * 1024;
const live = new Set<ChildProcess>();

function killLiveChildren(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

export class ChildServer {
  private readonly child: ChildProcess;
  private output = '';
  private readonly exited: Promise<void>;

  constructor(readonly label: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    if (live.size === 0) process.on('exit', killLiveChildren);
    live.add(this.child);
    const keep = (d: Buffer): void => {
      this.output += d.toString('utf8');
      if (this.output.length > OUTPUT_LIMIT) this.output = this.output.slice(-OUTPUT_LIMIT);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise<void>((resolve) => {
      const done = (): void => {
        live.delete(this.child);
        if (live.size === 0) process.off('exit', killLiveChildren);
        resolve();
      };
      this.child.once('exit', done);
      this.child.once('error', (err) => {
        this.output += `\n[spawn error: ${err.message}]`;
        done();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.label} did not start`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the child printed, for error messages. */
  tail(lines = 30): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  /**
   * Polls `ready` every 100 ms until it says yes; fails when the child exits or `timeoutMs` passes
   * (the child is then stopped).
   */
  async waitReady(ready: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.label} exited during start-up:\n${this.tail()}`);
      if (await ready()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`${this.label} not ready after ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (this.running) this.child.kill('SIGKILL');
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    } else if (this.child.pid !== undefined) {
      await this.exited;
    }
  }
}
