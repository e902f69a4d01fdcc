/**
 * `--peers N`: N registered EAP-NOOB devices (state 4, Registered) put into Gangway's store before
 * it starts, so that Reconnect and Completion can be measured against a large table. They are
 * written through the store itself (`SqliteNoobPeerStore.transition`, the same rows and checks as
 * a real registration), batched into one transaction per few thousand: a transaction of its own
 * per device would take hours for a million. Nobody ever connects with them; their keys are random.
 */
import { randomBytes } from 'node:crypto';
import { openSqlite } from '../store/sqlite/database.js';
import { SqliteNoobPeerStore } from '../store/sqlite/noob-peers.js';
import type { NoobPeerWrite } from '../store/noob-peers.js';

const BATCH = 5000;
/** Random octets per device: PeerId 16, Kz 32, the Hoob of its Completion 16. */
const PER_DEVICE = 64;

/** A registered device as a completed registration leaves it, with the OOB message its Completion consumed. */
function registeredPeer(n: number, peerId: string, kz: Uint8Array, hoob: string, at: Date): NoobPeerWrite {
  return {
    peerId,
    state: 4,
    createdAt: at,
    updatedAt: at,
    accountBound: true,
    peerInfo: JSON.stringify({ Make: 'Gangway bench', Type: 'population', Serial: `P-${n}` }),
    association: { verp: 1, cryptosuite: 1, nai: 'noob@gangway.bench', kz, serverInfo: '{"ServerName":"Gangway","ServerURL":"https://gangway.bench/noob"}' },
    oobs: [],
    consumedOobs: [{ direction: 1, hoob, consumedAt: at }],
    lastAuthenticatedAt: at,
  };
}

export async function populateNoobPeers(database: string, count: number, progress?: (stored: number) => void): Promise<void> {
  const db = openSqlite(database);
  try {
    const store = new SqliteNoobPeerStore(db);
    const at = new Date();
    for (let done = 0; done < count; ) {
      const n = Math.min(BATCH, count - done);
      const random = randomBytes(n * PER_DEVICE);
      const writes: Promise<boolean>[] = [];
      // The store's transition runs synchronously inside; nested in this transaction it becomes a
      // savepoint, so a batch costs one commit.
      db.transaction(() => {
        for (let i = 0; i < n; i++) {
          const own = random.subarray(i * PER_DEVICE, (i + 1) * PER_DEVICE);
          const peerId = own.subarray(0, 16).toString('base64url');
          const hoob = own.subarray(48, 64).toString('base64url');
          writes.push(store.transition(peerId, null, registeredPeer(done + i, peerId, new Uint8Array(own.subarray(16, 48)), hoob, at)));
        }
      })();
      const stored = (await Promise.all(writes)).filter(Boolean).length;
      if (stored !== n) throw new Error(`--peers: ${n - stored} of ${n} generated PeerIds collided with stored ones`);
      done += n;
      if (progress && done % 100_000 === 0) progress(done);
    }
  } finally {
    db.close();
  }
}
