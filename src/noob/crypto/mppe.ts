/**
 * MS-MPPE keys from the MSK, the convention hostapd/FreeRADIUS/eapol_test share for every EAP
 * method (RFC 2548 attributes, key split per RFC 3079 usage): Recv-Key = MSK[0..31] and
 * Send-Key = MSK[32..63], both seen from the authenticator. The RADIUS layer salt-encrypts them.
 */
export interface MppeKeys {
  recv: Uint8Array;
  send: Uint8Array;
}

export function mppeKeysFromMsk(msk: Uint8Array): MppeKeys {
  if (msk.length < 64) throw new Error('the MSK is 64 bytes');
  return { recv: msk.slice(0, 32), send: msk.slice(32, 64) };
}
