/**
 * The administrator's TEAP-BRSKI routes. Every POST has passed the app's CSRF check before it gets
 * here; every change is an audit entry written by BrskiAdmin.
 */
import type { FastifyInstance } from 'fastify';
import type { RouteHelpers } from './app.js';
import type { AuthorizationView } from './authorization-view.js';
import type { BrskiAdmin, BrskiDecision } from './brski-admin.js';
import { brskiDevicesPage, certificatesPage } from './brski-views.js';
import type { Flash, Viewer } from './views.js';

export function registerBrskiRoutes(app: FastifyInstance, h: RouteHelpers, brski: BrskiAdmin, authorization: AuthorizationView | undefined): void {
  const devicesPage = async (v: Viewer, flash?: Flash) =>
    brskiDevicesPage(v, {
      pending: await brski.pending(),
      all: await brski.all(),
      manufacturers: brski.manufacturers,
      vlanOf: (d) => authorization?.brskiDevice(d.manufacturer).vlan,
      ...(flash ? { flash } : {}),
    });

  app.get('/admin/brski', async (req, reply) => {
    const v = h.requireAdmin(req, reply);
    if (!v) return reply;
    return h.send(reply, await devicesPage(v, h.message(req)));
  });

  for (const [action, decision] of [['approve', 'approved'], ['deny', 'denied']] as const satisfies readonly (readonly [string, BrskiDecision])[]) {
    app.post(`/admin/brski/${action}`, async (req, reply) => {
      const v = h.requireAdmin(req, reply);
      if (!v) return reply;
      const r = await brski.decide((req.form.manufacturer ?? '').slice(0, 256), (req.form.serial ?? '').slice(0, 256), decision, v, req.ip);
      if (!r.ok) return h.send(reply.code(r.status), await devicesPage(v, { kind: 'bad', text: r.message }));
      return h.back(reply, `/admin/brski?m=${decision}`);
    });
  }

  app.get('/admin/certificates', async (req, reply) => {
    const v = h.requireAdmin(req, reply);
    if (!v) return reply;
    const flash = h.message(req);
    return h.send(reply, certificatesPage(v, await brski.certificates(), { now: new Date(), ...(flash ? { flash } : {}) }));
  });

  app.post('/admin/certificates/revoke', async (req, reply) => {
    const v = h.requireAdmin(req, reply);
    if (!v) return reply;
    const r = await brski.revoke((req.form.serial ?? '').trim().slice(0, 128), req.form.reason ?? 'unspecified', v, req.ip);
    if (!r.ok) return h.send(reply.code(r.status), certificatesPage(v, await brski.certificates(), { now: new Date(), flash: { kind: 'bad', text: r.message } }));
    const d = r.disconnect?.kind;
    return h.back(reply, `/admin/certificates?m=${d === 'ack' ? 'revoked-connected' : d === 'nak' || d === 'failed' ? 'revoked-not-disconnected' : 'revoked'}`);
  });
}
