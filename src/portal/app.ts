import QRCode from 'qrcode';
/**
 * The portal web application (fastify): server-rendered pages for people and administrators.
 * State-changing requests are POST forms carrying a CSRF token; sessions live in HttpOnly,
 * SameSite=Strict cookies (Secure under HTTPS); every page carries a strict CSP.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { hashPassword, UserExistsError, validateUserName, type UserStore } from '../store/users.js';
import { isVlanId } from '../store/user-policies.js';
import type { AuditStore } from '../store/audit.js';
import type { PortalAccountStore } from '../store/portal.js';
import { parseOobMessage, OobFormatError } from '../noob/oob.js';
import { capConnections, SERVICE_CONNECTION_CAPS, type ConnectionCaps, type ConnectionLimit } from '../util/connection-cap.js';
import type { Log } from '../util/log.js';
import { staticAssets } from './assets.js';
import { PortalAuth, type AuthPolicy, type SignedIn } from './auth.js';
import type { DeviceService } from './devices.js';
import type { UserPolicyStore } from '../store/user-policies.js';
import type { NoobPeerRecord } from '../store/noob-peers.js';
import type { AuthorizationView } from './authorization-view.js';
import type { BrskiAdmin } from './brski-admin.js';
import { registerBrskiRoutes } from './brski-routes.js';
import { RateLimiter } from './rate-limit.js';
import { PORTAL_REPORT_BUDGET, ReportBudget } from './report-budget.js';
import { clearCookie, LOGIN_COOKIE, newToken, parseCookies, safeNextPath, sameToken, securityHeaders, SESSION_COOKIE, setCookie } from './security.js';
import type { Html } from './html.js';
import * as views from './views.js';

export interface PortalAppDeps {
  users: UserStore;
  accounts: PortalAccountStore;
  auth: PortalAuth;
  devices: DeviceService;
  audit: AuditStore;
  log: Log;
  policy: AuthPolicy;
  /** Cookies get Secure and responses HSTS. */
  https: boolean;
  /** TLS credentials when `https`. */
  tls?: { cert: Buffer; key: Buffer };
  /** Login attempts per client address per window. */
  loginRate?: { limit: number; windowMs: number };
  /** VLANs administrators set for people (users page). */
  userPolicies: UserPolicyStore;
  /** The credential policy, to show the VLAN devices and people get; absent: no VLANs shown. */
  authorization?: AuthorizationView;
  /** The TEAP-BRSKI registrar's pages; absent without a brski section. */
  brski?: BrskiAdmin;
  /** How long a client may take; PORTAL_TIMEOUTS by default (tests make them short). */
  timeouts?: PortalTimeouts;
  /** Audit entries and log lines about refused requests; PORTAL_REPORT_BUDGET by default. */
  reportBudget?: { windowMs: number; perWindow: number; maxKeys: number };
  /** Connections open at once, in all and per source address; SERVICE_CONNECTION_CAPS by default. */
  connections?: ConnectionCaps;
  /** Told of each connection a cap refused (a metric). */
  onConnectionRefused?: (limit: ConnectionLimit) => void;
}

/**
 * How long a client may take, as the BRSKI registrar allows (Node's defaults: 120 s for the TLS
 * handshake, 60 s for the headers, 300 s for the request, and the portal's Fastify had none at
 * all): a body sent one octet at a time must not hold a connection, and its file descriptor, for
 * ever. Past them the client gets 408 and the connection is closed.
 */
export interface PortalTimeouts {
  handshakeMs: number;
  headersMs: number;
  /** The whole request, headers and body. */
  requestMs: number;
  /** How often Node looks for requests past those (its default, 30 s, would triple the headers' 10 s). */
  checkEveryMs: number;
}

export const PORTAL_TIMEOUTS: PortalTimeouts = { handshakeMs: 10_000, headersMs: 10_000, requestMs: 30_000, checkEveryMs: 2_000 };

/** What route modules share with this one. */
export interface RouteHelpers {
  requireAdmin(req: FastifyRequest, reply: FastifyReply): views.Viewer | undefined;
  send(reply: FastifyReply, page: Html): FastifyReply;
  back(reply: FastifyReply, path: string): FastifyReply;
  message(req: FastifyRequest): views.Flash | undefined;
}

/** Bodies are small forms; anything bigger is refused before parsing. */
const BODY_LIMIT = 16 * 1024;

type Form = Record<string, string>;

declare module 'fastify' {
  interface FastifyRequest {
    viewer: SignedIn | undefined;
    form: Form;
  }
}

const MESSAGES: Record<string, views.Flash> = {
  added: { kind: 'good', text: 'Device registered to your account. It completes registration the next time it connects.' },
  removed: { kind: 'good', text: 'Device removed. It has lost its network access and must be registered again.' },
  'removed-connected': { kind: 'good', text: 'Device removed and disconnected from the network.' },
  'removed-not-disconnected': { kind: 'bad', text: 'Device removed, but the network equipment did not confirm the disconnection; it loses access at its next re-authentication.' },
  enabled: { kind: 'good', text: 'User enabled.' },
  disabled: { kind: 'good', text: 'User disabled; their portal sessions ended.' },
  'vlan-set': { kind: 'good', text: 'VLAN saved. It applies from the next authentication.' },
  approved: { kind: 'good', text: 'Device approved: it enrols at its next attempt.' },
  denied: { kind: 'good', text: 'Device denied: it will not be enrolled.' },
  revoked: { kind: 'good', text: 'Certificate revoked: EAP-TLS and TEAP refuse it from the next authentication.' },
  'revoked-connected': { kind: 'good', text: 'Certificate revoked and the device disconnected from the network.' },
  'revoked-not-disconnected': { kind: 'bad', text: 'Certificate revoked, but the network equipment did not confirm the disconnection; the device loses access at its next re-authentication.' },
};

function messageFor(req: FastifyRequest): views.Flash | undefined {
  const m = (req.query as Record<string, string | undefined>).m;
  return m !== undefined && Object.hasOwn(MESSAGES, m) ? MESSAGES[m] : undefined;
}

/** What an error answer says: the status only, never a framework's code or the request's own text. */
function errorText(status: number): string {
  return status >= 500 ? 'Internal error' : `${http.STATUS_CODES[status] ?? 'Bad request'} (${status})`;
}

function parseForm(body: string): Form {
  const out: Form = {};
  for (const [k, v] of new URLSearchParams(body)) if (!(k in out)) out[k] = v;
  return out;
}

export function buildPortalApp(deps: PortalAppDeps): FastifyInstance {
  const log = deps.log;
  const headers = securityHeaders(deps.https);
  const t = deps.timeouts ?? PORTAL_TIMEOUTS;
  /** An error answer: the status and the security headers, nothing set before the error (it may be what failed). */
  const plainError = (reply: FastifyReply, status: number): FastifyReply => {
    for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
    return reply.code(status).headers(headers).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(errorText(status));
  };
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 200 },
    trustProxy: false,
    serverFactory: (handler: http.RequestListener) => {
      // Set on the raw response first, so that whatever Fastify writes, even from its last-resort
      // error path, carries them; what the portal sets later replaces them.
      const withHeaders: http.RequestListener = (req, res) => {
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.setHeader('cache-control', 'no-store');
        handler(req, res);
      };
      // keepAliveTimeout as Fastify's own server has it: a reverse proxy keeps idle connections
      // for up to a minute, and one we closed first would answer its next request with a 502.
      const limits = { headersTimeout: t.headersMs, requestTimeout: t.requestMs, connectionsCheckingInterval: t.checkEveryMs, keepAliveTimeout: 72_000 };
      const server = deps.https && deps.tls
        ? https.createServer({ cert: deps.tls.cert, key: deps.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: t.handshakeMs, ...limits }, withHeaders)
        : http.createServer(limits, withHeaders);
      capConnections(server, {
        listener: 'portal',
        caps: deps.connections ?? SERVICE_CONNECTION_CAPS,
        log,
        ...(deps.onConnectionRefused ? { onRefused: deps.onConnectionRefused } : {}),
      });
      return server;
    },
    // Node's own answers to a request it could not read (too slow, malformed, headers too big).
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      // A response already under way on this socket: nothing more can be written into it.
      if ((socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
        socket.destroy();
        return;
      }
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const body = errorText(status);
      const lines = [
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
        'cache-control: no-store',
        'content-type: text/plain; charset=utf-8',
        `content-length: ${Buffer.byteLength(body)}`,
        'connection: close',
      ];
      if (socket.writable) socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
      socket.destroy();
    },
    // The router's refusals (a malformed or overlong path) come here instead of Fastify's JSON.
    frameworkErrors: (err: { statusCode?: number }, _req: FastifyRequest, reply: FastifyReply) => {
      const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      plainError(reply, status);
    },
  }) as unknown as FastifyInstance;
  const assets = staticAssets();
  const loginLimiter = new RateLimiter(deps.loginRate?.limit ?? 30, deps.loginRate?.windowMs ?? 10 * 60_000);
  const reports = new ReportBudget(deps.reportBudget ?? PORTAL_REPORT_BUDGET);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });
  app.decorateRequest('viewer', undefined);
  app.decorateRequest('form', undefined as unknown as Form);

  app.addHook('onRequest', async (req, reply) => {
    reply.headers(headers);
    reply.header('cache-control', 'no-store');
    req.viewer = await deps.auth.resolve(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
  });

  // Every state-changing request: a form whose csrf field matches the session's token (or, for
  // the login form, the pre-login cookie). No token, no action: 403 and an audit entry.
  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST') return;
    req.form = (req.body ?? {}) as Form;
    const expected = req.url === '/login' ? parseCookies(req.headers.cookie).get(LOGIN_COOKIE) : req.viewer?.csrf;
    if (!sameToken(req.form.csrf, expected)) {
      // Anyone can send these as fast as they like: audited and logged within the budget.
      const suppressed = reports.admit('portal.csrf.rejected', req.ip);
      if (suppressed !== undefined) {
        const more = suppressed > 0 ? { suppressed } : {};
        deps.audit.append({ at: new Date(), event: 'portal.csrf.rejected', ...(req.viewer ? { subject: req.viewer.userName } : {}), detail: { path: req.url.slice(0, 200), client: req.ip, ...more } });
        log.warn({ path: req.url.slice(0, 200), client: req.ip, ...more }, 'portal: request without a valid CSRF token refused');
      }
      return reply.code(403).type('text/plain; charset=utf-8').send('Forbidden: missing or invalid CSRF token. Reload the page and try again.');
    }
  });

  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err: err.message, path: req.url.slice(0, 200) }, 'portal: request failed');
    // Headers set before the error go: one of them may be what failed (a Location Node refused),
    // and sending it again would drop this answer to Fastify's JSON fallback.
    plainError(reply, status);
  });
  app.setNotFoundHandler((req, reply) => {
    send(reply.code(404), views.messagePage(viewerOf(req), 'Not found', { kind: 'bad', text: 'There is no such page.' }));
  });

  const viewerOf = (req: FastifyRequest): views.Viewer | undefined =>
    req.viewer ? { userName: req.viewer.userName, admin: req.viewer.admin, csrf: req.viewer.csrf, ...(deps.brski ? { brski: true } : {}) } : undefined;
  const send = (reply: FastifyReply, page: Html): FastifyReply => reply.type('text/html; charset=utf-8').send(page.text);
  const back = (reply: FastifyReply, path: string): FastifyReply => reply.code(303).header('location', path).send();

  /** Pages for signed-in people; others go to the login page and come back afterwards. */
  function requireViewer(req: FastifyRequest, reply: FastifyReply): views.Viewer | undefined {
    const v = viewerOf(req);
    if (!v) {
      if (req.method === 'GET') back(reply, `/login?next=${encodeURIComponent(req.url)}`);
      else reply.code(401).type('text/plain; charset=utf-8').send('Not logged in');
    }
    return v;
  }

  function requireAdmin(req: FastifyRequest, reply: FastifyReply): views.Viewer | undefined {
    const v = requireViewer(req, reply);
    if (v && !v.admin) {
      deps.audit.append({ at: new Date(), event: 'portal.forbidden', subject: v.userName, detail: { path: req.url.slice(0, 200) } });
      send(reply.code(403), views.messagePage(v, 'Forbidden', { kind: 'bad', text: 'This page is for administrators.' }));
      return undefined;
    }
    return v;
  }

  app.get('/static/:name', async (req, reply) => {
    const a = assets.get((req.params as { name: string }).name);
    if (!a) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    reply.header('cache-control', 'no-cache').header('etag', a.etag);
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.type(a.contentType).send(a.body);
  });

  app.get('/', async (req, reply) => back(reply, req.viewer ? '/devices' : '/login'));

  // ----- log in / out -----
  function renderLogin(reply: FastifyReply, next: string, flash?: views.Flash, userName?: string): FastifyReply {
    const token = newToken();
    reply.header('set-cookie', setCookie(LOGIN_COOKIE, token, { secure: deps.https, maxAgeSeconds: 3600 }));
    return send(reply, views.loginPage({ next, loginToken: token, ...(flash ? { flash } : {}), ...(userName !== undefined ? { userName } : {}) }));
  }

  app.get('/login', async (req, reply) => {
    const next = safeNextPath((req.query as Record<string, string | undefined>).next);
    if (req.viewer) return back(reply, next);
    return renderLogin(reply, next);
  });

  app.post('/login', async (req, reply) => {
    const next = safeNextPath(req.form.next);
    const user = (req.form.user ?? '').trim();
    // Per address, not per /64: the people registering devices share their site's /64, and one
    // of them must not lock the others out of the portal.
    const client = req.ip;
    if (!loginLimiter.hit(client)) {
      // Refused without a password check: worth an entry once in a while, not one per request.
      const suppressed = reports.admit('portal.login.rate-limited', req.ip);
      if (suppressed !== undefined) {
        deps.audit.append({ at: new Date(), event: 'portal.login.failed', subject: user.slice(0, 253), detail: { client: req.ip, reason: 'rate-limited', ...(suppressed > 0 ? { suppressed } : {}) } });
      }
      reply.header('retry-after', String(loginLimiter.retryAfter(client)));
      return renderLogin(reply.code(429), next, { kind: 'bad', text: 'Too many login attempts from this address; wait a few minutes.' }, user);
    }
    const r = await deps.auth.login(user, req.form.password ?? '', req.ip);
    if (!r.ok) {
      const text =
        r.reason === 'locked'
          ? 'Too many wrong passwords: this account is locked for a while. Try again later or ask an administrator.'
          : r.reason === 'disabled'
            ? 'This account is disabled.'
            : 'Wrong user name or password.';
      return renderLogin(reply.code(r.reason === 'locked' ? 423 : 401), next, { kind: 'bad', text }, user);
    }
    reply.header('set-cookie', [
      setCookie(SESSION_COOKIE, r.token, { secure: deps.https, maxAgeSeconds: Math.floor(deps.policy.sessionMs / 1000) }),
      clearCookie(LOGIN_COOKIE, deps.https),
    ]);
    return back(reply, next);
  });

  app.post('/logout', async (req, reply) => {
    if (req.viewer) await deps.auth.logout(req.viewer);
    reply.header('set-cookie', clearCookie(SESSION_COOKIE, deps.https));
    return back(reply, '/login');
  });

  // ----- a person's devices -----
  /** The VLAN each device gets at its next authentication, where the policy gives one. */
  async function vlansOf(devices: NoobPeerRecord[]): Promise<views.DeviceVlans> {
    const out = new Map<string, string | number>();
    if (!deps.authorization) return out;
    for (const d of devices) {
      const vlan = (await deps.authorization.noobDevice(d)).vlan;
      if (vlan !== undefined) out.set(d.peerId, vlan);
    }
    return out;
  }

  app.get('/devices', async (req, reply) => {
    const v = requireViewer(req, reply);
    if (!v) return reply;
    const flash = messageFor(req);
    const devices = await deps.devices.listFor(v);
    return send(reply, views.devicesPage(v, devices, { noobEnabled: deps.devices.enabled, vlans: await vlansOf(devices), ...(flash ? { flash } : {}) }));
  });

  app.get('/devices/add', async (req, reply) => {
    const v = requireViewer(req, reply);
    if (!v) return reply;
    return send(reply, views.addDevicePage(v, { issuing: deps.devices.issuing }));
  });

  app.post('/devices/issue', async (req, reply) => {
    const v = requireViewer(req, reply);
    if (!v) return reply;
    const peerId = (req.form.peerId ?? '').trim().slice(0, 200);
    const r = await deps.devices.issueCode(peerId, v, req.ip);
    if (!r.ok) return send(reply.code(r.status), views.addDevicePage(v, { issuing: deps.devices.issuing, peerId, flash: { kind: 'bad', text: r.message } }));
    const qr = QRCode.create(r.url, { errorCorrectionLevel: 'M' });
    const size = qr.modules.size;
    const modules = Array.from({ length: size }, (_, y) => Array.from({ length: size }, (_, x) => qr.modules.get(y, x) === 1));
    return send(reply, views.issuedCodePage(v, { peerId: r.peerId, url: r.url, expiresAt: r.expiresAt, modules }));
  });

  async function register(req: FastifyRequest, reply: FastifyReply, v: views.Viewer): Promise<FastifyReply> {
    const url = (req.form.url ?? '').slice(0, 4096);
    const r = await deps.devices.register(url, v, req.ip);
    if (r.ok) return back(reply, '/devices?m=added');
    return send(reply.code(r.status), views.addDevicePage(v, { issuing: deps.devices.issuing, flash: { kind: 'bad', text: r.message }, url }));
  }

  app.post('/devices/add', async (req, reply) => {
    const v = requireViewer(req, reply);
    if (!v) return reply;
    return register(req, reply, v);
  });

  // The device's QR code is a URL of this portal: a phone's camera app opens it here, the person
  // logs in if needed and confirms. GET never registers anything (links can be prefetched).
  app.get('/noob', async (req, reply) => {
    const v = requireViewer(req, reply);
    if (!v) return reply;
    const q = req.url.indexOf('?');
    const url = q >= 0 ? req.url.slice(q) : '';
    let peerId: string;
    try {
      peerId = parseOobMessage(url).peerId;
    } catch (e) {
      if (!(e instanceof OobFormatError)) throw e;
      deps.audit.append({ at: new Date(), event: 'noob.oob.refused', detail: { account: v.userName, reason: 'malformed', via: 'portal', client: req.ip } });
      return send(reply.code(400), views.messagePage(v, 'Not a device code', { kind: 'bad', text: 'This link is not a device registration code.' }));
    }
    const peerInfo = await deps.devices.pendingPeerInfo(peerId, v);
    return send(reply, views.confirmNoobPage(v, { url, peerId, ...(peerInfo !== undefined ? { peerInfo } : {}) }));
  });

  app.post('/noob', async (req, reply) => {
    const v = requireViewer(req, reply);
    if (!v) return reply;
    return register(req, reply, v);
  });

  app.post('/devices/remove', async (req, reply) => {
    const v = requireViewer(req, reply);
    if (!v) return reply;
    const r = await deps.devices.remove((req.form.peerId ?? '').slice(0, 300), v, req.ip);
    const backTo = v.admin && req.form.back === '/admin/devices' ? '/admin/devices' : '/devices';
    if (!r.ok) return send(reply.code(r.status), views.messagePage(v, 'Not removed', { kind: 'bad', text: r.message }));
    const d = r.disconnect?.kind;
    return back(reply, `${backTo}?m=${d === 'ack' ? 'removed-connected' : d === 'nak' || d === 'failed' ? 'removed-not-disconnected' : 'removed'}`);
  });

  // ----- administrators -----
  async function usersPage(reply: FastifyReply, v: views.Viewer, flash?: views.Flash): Promise<FastifyReply> {
    const [users, accounts, policies] = await Promise.all([deps.users.list(), deps.accounts.list(), deps.userPolicies.list()]);
    const vlans: views.UserVlans = {
      stored: new Map(policies.map((p) => [p.userName, p])),
      configured: (name) => deps.authorization?.configuredUserVlan(name),
    };
    return send(reply, views.adminUsersPage(v, users, new Map(accounts.map((a) => [a.userName, a])), { now: new Date(), vlans, ...(flash ? { flash } : {}) }));
  }

  app.get('/admin/users', async (req, reply) => {
    const v = requireAdmin(req, reply);
    if (!v) return reply;
    return usersPage(reply, v, messageFor(req));
  });

  app.post('/admin/users/create', async (req, reply) => {
    const v = requireAdmin(req, reply);
    if (!v) return reply;
    const name = (req.form.user ?? '').trim();
    const admin = req.form.admin === '1';
    try {
      validateUserName(name);
    } catch (e) {
      return usersPage(reply.code(400), v, { kind: 'bad', text: (e as Error).message });
    }
    const password = newToken().slice(0, 20);
    try {
      await deps.users.add({ name });
    } catch (e) {
      if (e instanceof UserExistsError) return usersPage(reply.code(409), v, { kind: 'bad', text: e.message });
      throw e;
    }
    await deps.accounts.setPassword(name, await hashPassword(password), { admin });
    deps.audit.append({ at: new Date(), event: 'portal.user.created', subject: name, detail: { by: v.userName, admin } });
    return usersPage(reply, v, { kind: 'good', text: `Created ${name}. Portal password (shown once): ${password}` });
  });

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post(`/admin/users/${action}`, async (req, reply) => {
      const v = requireAdmin(req, reply);
      if (!v) return reply;
      const name = req.form.user ?? '';
      if (!enabled && name === v.userName) return usersPage(reply.code(409), v, { kind: 'bad', text: 'You cannot disable your own account.' });
      if (!(await deps.users.setEnabled(name, enabled))) return usersPage(reply.code(404), v, { kind: 'bad', text: 'No such user.' });
      if (!enabled) await deps.auth.endSessionsOf(name);
      deps.audit.append({ at: new Date(), event: `portal.user.${action}d`, subject: name, detail: { by: v.userName } });
      return back(reply, `/admin/users?m=${action}d`);
    });
  }

  app.post('/admin/users/reset-password', async (req, reply) => {
    const v = requireAdmin(req, reply);
    if (!v) return reply;
    const name = req.form.user ?? '';
    if (!(await deps.users.get(name))) return usersPage(reply.code(404), v, { kind: 'bad', text: 'No such user.' });
    const password = newToken().slice(0, 20);
    await deps.accounts.setPassword(name, await hashPassword(password));
    await deps.auth.endSessionsOf(name);
    deps.audit.append({ at: new Date(), event: 'portal.user.password-reset', subject: name, detail: { by: v.userName } });
    return usersPage(reply, v, { kind: 'good', text: `New portal password for ${name} (shown once): ${password}` });
  });

  // A person's VLAN (credential policy layer "portal:NAME", docs/configuration.md). Empty clears it.
  app.post('/admin/users/vlan', async (req, reply) => {
    const v = requireAdmin(req, reply);
    if (!v) return reply;
    const name = req.form.user ?? '';
    const text = (req.form.vlan ?? '').trim();
    const vlan = text === '' ? undefined : /^\d{1,4}$/.test(text) ? Number(text) : NaN;
    if (vlan !== undefined && !isVlanId(vlan)) return usersPage(reply.code(400), v, { kind: 'bad', text: 'A VLAN is a number from 1 to 4094 (or empty to clear it).' });
    if (!(await deps.userPolicies.setVlan(name, vlan, v.userName, new Date()))) return usersPage(reply.code(404), v, { kind: 'bad', text: 'No such user.' });
    deps.audit.append({ at: new Date(), event: 'portal.user.vlan', subject: name, detail: { by: v.userName, vlan: vlan ?? null } });
    return back(reply, '/admin/users?m=vlan-set');
  });

  app.get('/admin/devices', async (req, reply) => {
    const v = requireAdmin(req, reply);
    if (!v) return reply;
    const m = messageFor(req);
    const devices = await deps.devices.listAll();
    return send(reply, views.adminDevicesPage(v, devices, { noobEnabled: deps.devices.enabled, vlans: await vlansOf(devices), ...(m ? { flash: m } : {}) }));
  });

  app.get('/admin/audit', async (req, reply) => {
    const v = requireAdmin(req, reply);
    if (!v) return reply;
    return send(reply, views.auditPage(v, await deps.audit.recent(300)));
  });

  if (deps.brski) registerBrskiRoutes(app, { requireAdmin, send, back, message: messageFor }, deps.brski, deps.authorization);

  return app;
}
