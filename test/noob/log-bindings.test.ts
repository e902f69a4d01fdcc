/** EAP-NOOB's log lines carry the "method" key once: the EAP core binds it, the method must not bind it again. */
import { Writable } from 'node:stream';
import { DEFAULT_EAP_LIMITS, EapAuthenticator } from '../../src/eap-methods/authenticator.js';
import { MethodSelector } from '../../src/eap-methods/method-selection.js';
import { MethodRegistry } from '../../src/eap-methods/registry.js';
import { createNoobMethod } from '../../src/noob/method.js';
import { openSqlite } from '../../src/store/sqlite/database.js';
import { SqliteNoobPeerStore } from '../../src/store/sqlite/noob-peers.js';
import { createLog } from '../../src/util/log.js';

test('a line the NOOB method logs through the EAP core has one "method" key', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(...chunk.toString().split('\n').filter(Boolean)); cb(); } });
  const log = createLog('debug', sink);
  const db = openSqlite(':memory:');
  const store = new SqliteNoobPeerStore(db);
  const method = createNoobMethod({ store, config: { oobUrl: 'https://gangway.example.org/noob' }, log });
  const registry = new MethodRegistry();
  registry.register(method);
  const eap = new EapAuthenticator(registry, new MethodSelector([], ['eap-noob']), DEFAULT_EAP_LIMITS, log.child({ module: 'eap' }));
  try {
    // The core logs through a child with { conversation, method }; so does everything the method logs.
    const identity = Uint8Array.from(Buffer.concat([Buffer.from([2, 1, 0, 0, 1]), Buffer.from('noob@eap-noob.arpa')]));
    identity[3] = identity.length;
    const first = await eap.handle({ eap: identity, nas: { clientName: 'nas' } });
    if (first.kind !== 'challenge') throw new Error(`expected a challenge, got ${first.kind}`);
    // A Response the method cannot parse: it logs why, through the logger the core gave it.
    const garbage = Buffer.concat([Buffer.from([2, first.eap[1]!, 0, 0, 56]), Buffer.from('{"Type":1,"PeerId"')]);
    garbage.writeUInt16BE(garbage.length, 2);
    await eap.handle({ eap: garbage, state: first.state, nas: { clientName: 'nas' } });
  } finally {
    eap.close();
    db.close();
  }
  await new Promise((r) => setImmediate(r));
  const fromMethod = lines.filter((l) => l.includes('"msg":"eap-noob'));
  expect(fromMethod.length).toBeGreaterThan(0);
  for (const line of lines) expect(line.match(/"method":/g)?.length ?? 0).toBeLessThanOrEqual(1);
});
