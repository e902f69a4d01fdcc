import fc from 'fast-check';
import { bindingMismatch } from '../../src/eap-methods/conversation-binding.js';
import type { NasFacts } from '../../src/eap-methods/method.js';

const BOUND = ['clientName', 'clientAddress', 'nasIpAddress', 'nasIpv6Address', 'nasIdentifier', 'callingStationId'] as const;

const facts: fc.Arbitrary<NasFacts> = fc.record(
  {
    clientName: fc.constantFrom('ap-1', 'ap-2'),
    clientAddress: fc.constantFrom('127.0.0.1', '127.0.0.2'),
    nasIpAddress: fc.constantFrom('192.0.2.1', '0x0102'),
    nasIpv6Address: fc.constantFrom('2001:db8::1'),
    nasIdentifier: fc.oneof(fc.constantFrom('ap', 'AP'), fc.string({ maxLength: 300 })),
    callingStationId: fc.oneof(fc.constantFrom('02-00-00-00-00-01'), fc.string({ maxLength: 300 })),
    calledStationId: fc.string({ maxLength: 20 }),
  },
  { requiredKeys: ['clientName'] },
);

describe('conversation binding', () => {
  test('a mismatch is reported exactly when a bound fact differs (absent counts as a value), with bounded text', () => {
    fc.assert(
      fc.property(facts, facts, (a, b) => {
        const differs = BOUND.some((k) => a[k] !== b[k]);
        const m = bindingMismatch(a, b);
        expect(m !== undefined).toBe(differs);
        expect(bindingMismatch(a, a)).toBeUndefined();
        if (m) {
          expect([...m.began].length).toBeLessThanOrEqual(65);
          expect([...m.now].length).toBeLessThanOrEqual(65);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('names the first differing fact and both values', () => {
    expect(bindingMismatch({ clientName: 'a', callingStationId: 'x' }, { clientName: 'a' })).toEqual({ fact: 'Calling-Station-Id', began: 'x', now: '(absent)' });
    expect(bindingMismatch({ clientName: 'a', nasIdentifier: 'n'.repeat(200) }, { clientName: 'a', nasIdentifier: 'm' })).toEqual({
      fact: 'NAS-Identifier', began: `${'n'.repeat(64)}…`, now: 'm',
    });
  });
});
