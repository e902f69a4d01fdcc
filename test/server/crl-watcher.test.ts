import { mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrlWatcher, fileIdentity } from '../../src/server/crl-watcher.js';

describe('fileIdentity', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crl-watch-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('changes with an in-place rewrite (even of the same size and mtime), a rename over the file, and its removal', async () => {
    const f = join(dir, 'ca.crl');
    writeFileSync(f, 'one');
    const first = await fileIdentity(f);
    expect(await fileIdentity(f)).toBe(first);
    writeFileSync(f, 'two');
    // The same size, and the old modification time put back: the inode's change time still moves.
    utimesSync(f, new Date(0), new Date(0));
    const rewritten = await fileIdentity(f);
    expect(rewritten).not.toBe(first);
    writeFileSync(join(dir, 'new'), 'two');
    renameSync(join(dir, 'new'), f);
    const renamed = await fileIdentity(f);
    expect(renamed).not.toBe(rewritten);
    unlinkSync(f);
    expect(await fileIdentity(f)).toBe('unreadable:ENOENT');
  });
});

describe('CrlWatcher', () => {
  function harness(paths: string[]) {
    const ids = new Map<string, string>(paths.map((p) => [p, `${p}-1`]));
    let t = Date.parse('2026-01-01T00:00:00Z');
    const refreshes: number[] = [];
    let retryAt: Date | undefined;
    const polls: Date[] = [];
    const watcher = new CrlWatcher({
      paths: () => paths,
      identity: async (p) => ids.get(p) ?? 'unreadable:ENOENT',
      refresh: async () => {
        refreshes.push(t);
        return retryAt ? { retryAt } : {};
      },
      afterPoll: (now) => polls.push(now),
      clock: () => new Date(t),
      onError: (err) => {
        throw err;
      },
    });
    return {
      watcher, ids, refreshes, polls, paths,
      advance: (s: number) => (t += s * 1000),
      retryAt: (d: Date | undefined) => (retryAt = d),
      now: () => new Date(t),
    };
  }

  it('refreshes only when an identity changed since the last poll (or since the baseline)', async () => {
    const h = harness(['a', 'b']);
    await h.watcher.baseline();
    await h.watcher.poll();
    expect(h.refreshes).toHaveLength(0);
    h.ids.set('b', 'b-2');
    await h.watcher.poll();
    expect(h.refreshes).toHaveLength(1);
    await h.watcher.poll();
    expect(h.refreshes).toHaveLength(1);
    h.ids.delete('a');
    await h.watcher.poll();
    expect(h.refreshes).toHaveLength(2);
    expect(h.polls).toHaveLength(4);
  });

  it('a path added by a reload counts as changed once; a refusal with retryAt is retried then, not before', async () => {
    const h = harness(['a']);
    await h.watcher.baseline();
    h.paths.push('c');
    h.ids.set('c', 'c-1');
    h.retryAt(new Date(h.now().getTime() + 60_000));
    await h.watcher.poll();
    expect(h.refreshes).toHaveLength(1);
    h.retryAt(undefined);
    h.advance(30);
    await h.watcher.poll();
    expect(h.refreshes).toHaveLength(1);
    h.advance(30);
    await h.watcher.poll();
    expect(h.refreshes).toHaveLength(2);
    h.advance(60);
    await h.watcher.poll();
    expect(h.refreshes).toHaveLength(2);
  });

  it('a poll while one is running is the same poll', async () => {
    let release!: () => void;
    let refreshes = 0;
    let id = 'x-1';
    const watcher = new CrlWatcher({
      paths: () => ['x'],
      identity: async () => id,
      refresh: () => {
        refreshes++;
        return new Promise((r) => (release = () => r({})));
      },
      onError: (err) => {
        throw err;
      },
    });
    await watcher.baseline();
    id = 'x-2';
    const first = watcher.poll();
    expect(watcher.poll()).toBe(first);
    await new Promise((r) => setImmediate(r));
    release();
    await first;
    expect(refreshes).toBe(1);
  });
});
