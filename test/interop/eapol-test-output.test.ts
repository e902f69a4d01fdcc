/**
 * The eapol_test output parser (test/helpers/eapol-test.ts) against excerpts of real wpa_supplicant
 * 2.10 eapol_test runs (captured from Debian's eapol_test against hostapd's RADIUS server).
 */
import { parseEapolTestOutput } from '../helpers/eapol-test.js';

const twoRunsOk = [
  'RADIUS message: code=2 (Access-Accept) identifier=3 length=227',
  'EAP: EAP entering state SUCCESS',
  'CTRL-EVENT-EAP-SUCCESS EAP authentication completed successfully',
  'eapol_sm_cb: result=1',
  '',
  'eapol_test: Triggering EAP reauthentication',
  'RADIUS message: code=2 (Access-Accept) identifier=7 length=227',
  'CTRL-EVENT-EAP-SUCCESS EAP authentication completed successfully',
  'eapol_sm_cb: result=1',
  'WPA: Clear old PMK and PTK',
  'MPPE keys OK: 2  mismatch: 0',
  'SUCCESS',
  '',
].join('\n');

const rejected = [
  'RADIUS message: code=3 (Access-Reject) identifier=0 length=50',
  'CTRL-EVENT-EAP-FAILURE EAP authentication failed',
  'MPPE keys OK: 0  mismatch: 1',
  'FAILURE',
  '',
].join('\n');

const timedOut = [
  '   Attribute 80 (Message-Authenticator) length=18',
  'EAPOL test timed out',
  'EAPOL: EAP Session-Id not available',
  'MPPE keys OK: 0  mismatch: 1',
  'FAILURE',
].join('\n');

describe('parseEapolTestOutput', () => {
  test('successful run with one re-authentication', () => {
    expect(parseEapolTestOutput(twoRunsOk)).toEqual({
      success: true,
      mppeOk: 2,
      mppeMismatch: 0,
      authSuccessCount: 2,
      authFailureCount: 0,
      acceptCount: 2,
      rejectCount: 0,
      timedOut: false,
    });
  });

  test('Access-Reject', () => {
    expect(parseEapolTestOutput(rejected)).toMatchObject({
      success: false,
      mppeOk: 0,
      mppeMismatch: 1,
      authSuccessCount: 0,
      authFailureCount: 1,
      rejectCount: 1,
      timedOut: false,
    });
  });

  test('no answer from the server', () => {
    expect(parseEapolTestOutput(timedOut)).toMatchObject({ success: false, timedOut: true, acceptCount: 0 });
  });

  test('"SUCCESS" only counts as the final line', () => {
    expect(parseEapolTestOutput('EAP: EAP entering state SUCCESS\nFAILURE\n').success).toBe(false);
    expect(parseEapolTestOutput('').success).toBe(false);
  });
});
