import type { NoobPeerWrite } from '../../src/store/noob-peers.js';

/** A new registration in state 1 as the Initial Exchange stores it: unbound, no OOB message yet. */
export function ephemeralRegistration(peerId: string, createdAt: Date): NoobPeerWrite {
  return {
    peerId,
    state: 1,
    createdAt,
    updatedAt: createdAt,
    peerInfo: '{"Make":"Acme"}',
    ephemeral: {
      transcript: { vers: '[1]', verp: '1', peerId: JSON.stringify(peerId), cryptosuites: '[1,2]', dirs: '3', serverInfo: '{}', cryptosuitep: '1', dirp: '1', nai: '"noob@x.org"', peerInfo: '{"Make":"Acme"}', pks: '{}', ns: '"a"', pkp: '{}', np: '"b"' },
      identity: '@noob.eap.arpa',
      newNai: 'noob@x.org',
      cryptosuite: 1,
      dirp: 1,
      z: new Uint8Array(32).fill(7),
      sleepTime: 60,
      waitingExchanges: 0,
      oobRejections: 0,
    },
    accountBound: false,
    oobs: [],
    consumedOobs: [],
  };
}
