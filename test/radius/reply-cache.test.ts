import { ReplyCache, replyCacheKey, requestFingerprint } from '../../src/radius/reply-cache.js';

const ra = (n: number): Uint8Array => new Uint8Array(16).fill(n);
const reply = Uint8Array.of(2, 1, 0, 20);

function setup(maxEntries = 100): { cache: ReplyCache; clock: { t: number } } {
  const clock = { t: 1000 };
  return { cache: new ReplyCache({ ttlMs: 5000, maxEntries, now: () => clock.t }), clock };
}

describe('ReplyCache', () => {
  const key = replyCacheKey(0, '10.0.0.1', 1812, 7);
  const fp = requestFingerprint(Uint8Array.of(1, 2, 3));

  test('new -> in-flight -> replay -> expired', () => {
    const { cache, clock } = setup();
    expect(cache.lookup(key, ra(1), fp)).toEqual({ kind: 'new' });
    const ticket = cache.begin(key, ra(1), fp);
    expect(cache.lookup(key, ra(1), fp)).toEqual({ kind: 'in-flight' });
    expect(cache.complete(ticket, reply)).toBe(true);
    expect(cache.lookup(key, ra(1), fp)).toEqual({ kind: 'replay', reply });
    clock.t += 4999;
    expect(cache.lookup(key, ra(1), fp).kind).toBe('replay');
    clock.t += 1;
    expect(cache.lookup(key, ra(1), fp)).toEqual({ kind: 'new' });
    expect(cache.size).toBe(0);
  });

  test('same key, other authenticator is a new request that replaces the entry', () => {
    const { cache } = setup();
    const old = cache.begin(key, ra(1), fp);
    expect(cache.lookup(key, ra(2), 'other')).toEqual({ kind: 'new' });
    const fresh = cache.begin(key, ra(2), 'other');
    expect(cache.complete(old, reply)).toBe(false);
    expect(cache.lookup(key, ra(2), 'other').kind).toBe('in-flight');
    cache.abandon(old);
    expect(cache.lookup(key, ra(2), 'other').kind).toBe('in-flight');
    cache.complete(fresh, reply);
    expect(cache.lookup(key, ra(1), fp)).toEqual({ kind: 'new' });
  });

  test('same authenticator, different octets is a mismatch', () => {
    const { cache } = setup();
    cache.complete(cache.begin(key, ra(1), fp), reply);
    expect(cache.lookup(key, ra(1), requestFingerprint(Uint8Array.of(9)))).toEqual({ kind: 'mismatch' });
  });

  test('abandon forgets the request so a retransmission is processed again', () => {
    const { cache } = setup();
    cache.abandon(cache.begin(key, ra(1), fp));
    expect(cache.lookup(key, ra(1), fp)).toEqual({ kind: 'new' });
  });

  test('size cap evicts the oldest; expired entries are swept', () => {
    const { cache, clock } = setup(3);
    for (let id = 0; id < 5; id++) cache.complete(cache.begin(replyCacheKey(0, 'a', 1, id), ra(id), fp), reply);
    expect(cache.size).toBe(3);
    expect(cache.lookup(replyCacheKey(0, 'a', 1, 0), ra(0), fp).kind).toBe('new');
    expect(cache.lookup(replyCacheKey(0, 'a', 1, 4), ra(4), fp).kind).toBe('replay');
    clock.t += 10_000;
    cache.sweep();
    expect(cache.size).toBe(0);
  });

  test('keys differ by socket, address, port and identifier', () => {
    const keys = new Set([replyCacheKey(0, 'a', 1, 1), replyCacheKey(1, 'a', 1, 1), replyCacheKey(0, 'b', 1, 1), replyCacheKey(0, 'a', 2, 1), replyCacheKey(0, 'a', 1, 2)]);
    expect(keys.size).toBe(5);
  });
});
