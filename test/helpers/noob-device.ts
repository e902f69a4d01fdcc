/**
 * An EAP-NOOB device in this process, over real RADIUS: our peer (src/peer/noob) with its state
 * in memory, one RADIUS client per connection. Tests drive the Initial Exchange, read the OOB
 * message it would show, and connect again for the Completion.
 */
import { systemRandom } from '../../src/noob/crypto/random.js';
import { resolvePeerConfig, type ResolvedNoobPeerConfig } from '../../src/peer/noob/config.js';
import { peerOobToShow } from '../../src/peer/noob/oob.js';
import { RadiusEapTransport } from '../../src/peer/noob/radius-transport.js';
import { runNoobPeer, type ConversationOutcome } from '../../src/peer/noob/runner.js';
import { MemoryPeerStateStore, type NoobPeerState } from '../../src/peer/noob/state.js';
import { RadiusClient } from '../../src/radius/client.js';
import { silentLog, type Log } from '../../src/util/log.js';

export interface NoobDeviceOptions {
  name: string;
  host: string;
  port: number;
  secret: string;
  callingStationId: string;
  /** RADIUS retransmission policy (a test that kills the server wants it short). */
  initialTimeoutMs?: number;
  maxRetransmissions?: number;
  log?: Log;
}

export class NoobDevice {
  readonly store = new MemoryPeerStateStore();
  readonly config: ResolvedNoobPeerConfig;

  constructor(private readonly opts: NoobDeviceOptions) {
    this.config = resolvePeerConfig({ peerInfo: { PeerName: opts.name, Manufacturer: 'Gangway tests' } });
  }

  state(): Promise<NoobPeerState> {
    return this.store.load();
  }

  /**
   * One EAP conversation (whichever exchange the states call for). Throws when RADIUS gives up.
   * `via` changes where this one conversation goes: another server, or another Calling-Station-Id
   * (the device seen through another access point's port, or steered by a keyed proxy).
   */
  async connect(via: Partial<Pick<NoobDeviceOptions, 'host' | 'port' | 'secret' | 'callingStationId'>> = {}): Promise<ConversationOutcome> {
    const to = { ...this.opts, ...via };
    const client = new RadiusClient({
      host: to.host,
      port: to.port,
      secret: to.secret,
      initialTimeoutMs: this.opts.initialTimeoutMs ?? 1000,
      maxRetransmissions: this.opts.maxRetransmissions ?? 2,
    });
    try {
      const transport = new RadiusEapTransport({ client, secret: to.secret, callingStationId: to.callingStationId });
      return await runNoobPeer({ transport, store: this.store, config: this.config, log: this.opts.log ?? silentLog() });
    } finally {
      await client.close();
    }
  }

  /** The OOB message (URL) the device shows now, saved as shown; undefined when it shows none. */
  async shownOob(): Promise<{ url: string; noob: string } | undefined> {
    const shown = peerOobToShow(await this.store.load(), { config: this.config, now: new Date(), random: systemRandom });
    if (!shown) return undefined;
    await this.store.save(shown.state);
    return { url: shown.text, noob: shown.message.noob };
  }
}
