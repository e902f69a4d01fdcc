/**
 * A Gangway with its portal, a NAS's Disconnect listener, people with portal logins, and our
 * EAP-NOOB device talking RADIUS to it: what the portal tests share.
 */
import { request } from 'node:https';
import { resolvePeerConfig } from '../../src/peer/noob/config.js';
import { acceptServerOob, peerOobToShow } from '../../src/peer/noob/oob.js';
import { RadiusEapTransport } from '../../src/peer/noob/radius-transport.js';
import { runNoobPeer, type ConversationOutcome } from '../../src/peer/noob/runner.js';
import { MemoryPeerStateStore } from '../../src/peer/noob/state.js';
import { systemRandom } from '../../src/noob/crypto/random.js';
import { RadiusClient } from '../../src/radius/client.js';
import type { AuditStore } from '../../src/store/audit.js';
import type { NoobPeerStore } from '../../src/store/noob-peers.js';
import { hashPassword } from '../../src/store/users.js';
import { startTestGangway, type TestGangway } from '../helpers/gangway.js';
import { MemoryLog } from '../helpers/silent-log.js';
import { TestDynamicAuthorizationServer } from '../helpers/test-nas.js';
import { TEST_RADIUS_SECRET } from '../helpers/test-secrets.js';

export const PEOPLE = { alice: 'alice-portal-pw-1', bob: 'bob-portal-pw-22', carol: 'carol-portal-pw-333' } as const;

export interface PortalHarness {
  gangway: TestGangway;
  das: TestDynamicAuthorizationServer;
  portalUrl: string;
  admin: { name: string; password: string };
  noobStore: NoobPeerStore;
  audit: AuditStore;
  close(): Promise<void>;
}

/** `configure` changes gangway.yaml further (a brski section, an authorization policy, ...). */
export async function startPortalHarness(opts: { configure?: (doc: Record<string, unknown>) => void } = {}): Promise<PortalHarness> {
  const das = await TestDynamicAuthorizationServer.open(TEST_RADIUS_SECRET);
  const gangway = await startTestGangway({
    configure: (doc) => {
      const d = doc as { portal: Record<string, unknown>; radius: { clients: Record<string, unknown>[] } };
      d.portal = { ...d.portal, listen: '127.0.0.1:0', maxFailedLogins: 3, lockoutMinutes: 1 };
      // The test NAS: 127.0.0.0/8 with a Dynamic Authorization port.
      d.radius.clients[0]!.coa = { port: das.port };
      opts.configure?.(doc);
    },
  });
  const stores = gangway.running.stores;
  for (const [name, pw] of Object.entries(PEOPLE)) {
    await stores.users.add({ name });
    await stores.portalAccounts.setPassword(name, await hashPassword(pw));
  }
  return {
    gangway,
    das,
    portalUrl: `https://127.0.0.1:${gangway.running.portal!.port}`,
    admin: gangway.init.portal.admin,
    noobStore: stores.noobPeers,
    audit: stores.audit,
    async close() {
      await gangway.close();
      await das.close();
    },
  };
}

/** Our EAP-NOOB device, as a NAS at 127.0.0.1 sees it (Calling-Station-Id set). */
export class TestDevice {
  readonly store = new MemoryPeerStateStore();
  readonly log = new MemoryLog();
  private readonly config;

  /** `directions`: 1 shows a code (the default here), 2 reads one (server-to-peer). */
  constructor(private readonly h: PortalHarness, peerInfo: Record<string, unknown>, readonly callingStationId = '02-00-5e-00-53-01', directions: 1 | 2 = 1) {
    this.config = resolvePeerConfig({ peerInfo, directions });
  }

  /** The device reads a server-to-peer code (what `noob-peer --oob` does); true when it took it. */
  async readCode(text: string): Promise<boolean> {
    const r = acceptServerOob(await this.store.load(), text, { config: this.config, now: new Date() });
    if (!r.ok) return false;
    await this.store.save(r.state);
    return true;
  }

  async connect(): Promise<ConversationOutcome> {
    const client = new RadiusClient({ host: '127.0.0.1', port: this.h.gangway.port, secret: this.h.gangway.secret });
    try {
      const transport = new RadiusEapTransport({ client, secret: this.h.gangway.secret, callingStationId: this.callingStationId, nasIdentifier: 'test-ap' });
      return await runNoobPeer({ transport, store: this.store, config: this.config, log: this.log });
    } finally {
      await client.close();
    }
  }

  /** The text of the QR code the device shows while it waits (state 1). */
  async qrText(): Promise<string> {
    const shown = peerOobToShow(await this.store.load(), { config: this.config, now: new Date(), random: systemRandom });
    if (!shown) throw new Error('the device shows no QR code (not waiting for peer-to-server OOB)');
    if (shown.created) await this.store.save(shown.state);
    return shown.text;
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A tiny HTTPS client with a cookie jar, for what scripts (not browsers) do to the portal. */
export class PortalClient {
  readonly cookies = new Map<string, string>();

  constructor(private readonly base: string) {}

  get(path: string): Promise<HttpResult> {
    return this.send('GET', path);
  }

  post(path: string, form: Record<string, string>): Promise<HttpResult> {
    return this.send('POST', path, new URLSearchParams(form).toString());
  }

  /** The CSRF token of the last page's forms. */
  static csrfOf(page: HttpResult): string {
    const m = /name="csrf" value="([^"]+)"/.exec(page.body);
    if (!m) throw new Error(`no CSRF field on the page (status ${page.status})`);
    return m[1]!;
  }

  async login(user: string, password: string): Promise<HttpResult> {
    const page = await this.get('/login');
    return this.post('/login', { csrf: PortalClient.csrfOf(page), user, password, next: '/devices' });
  }

  private send(method: string, path: string, body?: string): Promise<HttpResult> {
    const url = new URL(path, this.base);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          // The demo PKI's server certificate names the RADIUS server, not 127.0.0.1.
          rejectUnauthorized: false,
          headers: {
            ...(this.cookies.size > 0 ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
            ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const set = res.headers['set-cookie'] ?? [];
            for (const c of set) {
              const [pair] = c.split(';');
              const eq = pair!.indexOf('=');
              const name = pair!.slice(0, eq);
              const value = pair!.slice(eq + 1);
              if (value === '' || /Max-Age=0/.test(c)) this.cookies.delete(name);
              else this.cookies.set(name, value);
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
          });
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}
