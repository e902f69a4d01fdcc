import fc from 'fast-check';
import { describeEap } from '../../src/eap-methods/eap-summary.js';

describe('describeEap (debug log headers)', () => {
  test.each([
    ['', 'EAP-Start (no EAP-Message)'],
    ['0201000a01616c696365', 'Response/Identity id=1 len=10'],
    ['010400060d20', 'Request/EAP-TLS id=4 len=6'],
    ['03060004', 'Success id=6 len=4'],
    ['04070004', 'Failure id=7 len=4'],
    ['02030006037f', 'Response/Nak id=3 len=6'],
    ['0109000637', 'Request/TEAP id=9 len=6'],
    ['0101000ac8', 'Request/type 200 id=1 len=10'],
    ['0901', 'truncated EAP (2 octets)'],
    ['09010004', 'code 9 id=1 len=4'],
  ])('%s', (hex, text) => {
    expect(describeEap(Buffer.from(hex, 'hex'))).toBe(text);
  });

  test('any bytes give one short line and never their contents', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const s = describeEap(bytes);
        expect(s.length).toBeLessThan(60);
        expect(s).not.toContain('\n');
      }),
    );
  });
});
