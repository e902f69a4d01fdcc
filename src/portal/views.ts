/**
 * The portal's pages. Every function returns Html from the escaping template, so whatever a
 * device or a person typed is text on the page, never markup.
 */
import type { AuditEntry } from '../store/audit.js';
import type { NoobPeerRecord } from '../store/noob-peers.js';
import type { PortalAccount } from '../store/portal.js';
import type { UserRecord } from '../store/users.js';
import type { UserPolicy } from '../store/user-policies.js';
import type { Vlan } from '../policy/authorization-policy.js';
import { html, type Html } from './html.js';
import { deviceName, NOOB_STATE_NAMES } from './devices.js';

export interface Viewer {
  userName: string;
  admin: boolean;
  csrf: string;
  /** The server runs a TEAP-BRSKI registrar: administrators get its pages. */
  brski?: boolean;
}

export interface Flash {
  kind: 'good' | 'bad';
  text: string;
}

export function flashBlock(flash: Flash | undefined): Html {
  return flash ? html`<p class="flash ${flash.kind}" role="${flash.kind === 'bad' ? 'alert' : 'status'}">${flash.text}</p>` : html``;
}

export function csrfField(viewer: Viewer): Html {
  return html`<input type="hidden" name="csrf" value="${viewer.csrf}">`;
}

export function layout(opts: { title: string; viewer?: Viewer; body: Html; scripts?: string[] }): Html {
  const v = opts.viewer;
  const nav = v
    ? html`<nav aria-label="Main">
        <a href="/devices">My devices</a>
        <a href="/devices/add">Add a device</a>
        ${v.admin ? html`<a href="/admin/users">Users</a> <a href="/admin/devices">All devices</a>` : ''}
        ${v.admin && v.brski ? html`<a href="/admin/brski">BRSKI devices</a> <a href="/admin/certificates">Certificates</a>` : ''}
        ${v.admin ? html`<a href="/admin/audit">Audit log</a>` : ''}
        <form class="inline" method="post" action="/logout">${csrfField(v)}<button class="link" type="submit">Log out ${v.userName}</button></form>
      </nav>`
    : html``;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · Gangway</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/portal.css">
</head>
<body>
<header><span class="brand">Gangway</span>${nav}</header>
<main>
<h1>${opts.title}</h1>
${opts.body}
</main>
<script src="/static/confirm.js"></script>
${(opts.scripts ?? []).map((s) => html`<script src="/static/${s}"></script>`)}
</body>
</html>`;
}

export function loginPage(opts: { next: string; loginToken: string; userName?: string; flash?: Flash }): Html {
  return layout({
    title: 'Log in',
    body: html`${flashBlock(opts.flash)}
<form class="card" method="post" action="/login">
  <input type="hidden" name="csrf" value="${opts.loginToken}">
  <input type="hidden" name="next" value="${opts.next}">
  <label for="user">User name</label>
  <input id="user" name="user" type="text" autocomplete="username" autocapitalize="none" required value="${opts.userName ?? ''}">
  <label for="password">Portal password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <div class="actions"><button type="submit">Log in</button></div>
</form>
<p class="muted">Your portal password is not your Wi-Fi password.</p>`,
  });
}

export function when(d: Date | undefined): string {
  return d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—';
}

/** A VLAN as the portal shows it; ids and names alike. */
export function vlanText(vlan: Vlan | undefined): string {
  return vlan === undefined ? 'none set' : String(vlan);
}

function deviceItem(viewer: Viewer, r: NoobPeerRecord, opts: { showOwner: boolean; vlan?: Vlan | undefined }): Html {
  const name = deviceName(r.peerInfo);
  return html`<li data-peer-id="${r.peerId}">
  <div class="name">${name}</div>
  <div><span class="state s${r.state}">${NOOB_STATE_NAMES[r.state] ?? `state ${r.state}`}</span></div>
  <div class="muted">PeerId <span class="mono">${r.peerId}</span></div>
  ${opts.showOwner ? html`<div class="muted">Owner: ${r.account ?? 'none'}</div>` : ''}
  <div class="muted">Last seen: ${when(r.lastAuthenticatedAt ?? r.updatedAt)}</div>
  ${opts.vlan !== undefined ? html`<div class="muted vlan">VLAN <span class="mono">${vlanText(opts.vlan)}</span></div>` : ''}
  ${r.peerInfo !== undefined && r.peerInfo !== name ? html`<div class="muted">Device says: <span class="mono">${r.peerInfo}</span></div>` : ''}
  <form class="inline" method="post" action="/devices/remove" data-confirm="${`Remove ${name}? It loses network access now and must be registered again.`}">
    ${csrfField(viewer)}<input type="hidden" name="peerId" value="${r.peerId}">
    ${opts.showOwner ? html`<input type="hidden" name="back" value="/admin/devices">` : ''}
    <div class="actions"><button class="danger" type="submit">Remove</button></div>
  </form>
</li>`;
}

/** VLAN per PeerId: what the credential policy assigns at the device's next authentication. */
export type DeviceVlans = ReadonlyMap<string, Vlan>;

export function devicesPage(viewer: Viewer, devices: NoobPeerRecord[], opts: { flash?: Flash; noobEnabled: boolean; vlans?: DeviceVlans }): Html {
  const list =
    devices.length === 0
      ? html`<p class="card">No devices yet. <a href="/devices/add">Add a device</a> by scanning its QR code.</p>`
      : html`<ul class="devices" id="device-list">${devices.map((d) => deviceItem(viewer, d, { showOwner: false, vlan: opts.vlans?.get(d.peerId) }))}</ul>`;
  return layout({
    title: 'My devices',
    viewer,
    body: html`${flashBlock(opts.flash)}${opts.noobEnabled ? list : html`<p class="card">EAP-NOOB is not enabled on this server.</p>`}`,
  });
}

export function addDevicePage(viewer: Viewer, opts: { flash?: Flash; url?: string; issuing?: boolean; peerId?: string }): Html {
  return layout({
    title: 'Add a device',
    viewer,
    scripts: ['jsqr.js', 'scan.js'],
    body: html`${flashBlock(opts.flash)}
<section class="card">
  <h2>Scan its QR code</h2>
  <p class="muted">The device shows a QR code while it waits to be registered. Nothing leaves this phone except the code itself.</p>
  <div class="actions">
    <button id="scan-start" type="button">Use the camera</button>
    <button id="scan-stop" class="secondary" type="button" hidden>Stop the camera</button>
  </div>
  <video id="camera" playsinline muted hidden></video>
  <canvas id="frame" hidden></canvas>
  <p id="scan-status" class="muted" aria-live="polite"></p>
</section>
<form class="card" id="add-form" method="post" action="/devices/add">
  <h2>Or paste what the code says</h2>
  ${csrfField(viewer)}
  <label for="oob-url">Device code (a link with P=…&amp;N=…&amp;H=…)</label>
  <textarea id="oob-url" name="url" required autocomplete="off" autocapitalize="none" spellcheck="false">${opts.url ?? ''}</textarea>
  <div class="actions"><button type="submit">Register to ${viewer.userName}</button></div>
</form>
${opts.issuing
  ? html`<form class="card" id="issue-form" method="post" action="/devices/issue">
  <h2>Or: the device shows only its ID and reads a code</h2>
  ${csrfField(viewer)}
  <label for="peer-id">Device ID (PeerId) it shows</label>
  <input id="peer-id" name="peerId" required autocomplete="off" autocapitalize="none" spellcheck="false" value="${opts.peerId ?? ''}">
  <div class="actions"><button type="submit">Make a code for ${viewer.userName}</button></div>
</form>`
  : ''}`,
  });
}

/**
 * The code a device reads (server-to-peer direction), as a link and as a QR code drawn from its
 * modules with plain elements: no image, no script, nothing the escaping template cannot make.
 */
export function issuedCodePage(viewer: Viewer, opts: { peerId: string; url: string; expiresAt: Date; modules: readonly (readonly boolean[])[] }): Html {
  const rows = opts.modules.map((row) => html`<div class="qr-row">${row.map((dark) => (dark ? html`<i class="qr-d"></i>` : html`<i></i>`))}</div>`);
  return layout({
    title: 'Show this code to the device',
    viewer,
    body: html`<section class="card">
  <p>Let the device <span class="mono">${opts.peerId}</span> read this code. It becomes yours, <strong>${viewer.userName}</strong>, when it connects with it.</p>
  <div class="qr" role="img" aria-label="QR code of the device code">${rows}</div>
  <p class="mono" id="issued-code">${opts.url}</p>
  <p class="muted">Valid until ${opts.expiresAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}.</p>
  <div class="actions"><a class="button secondary" href="/devices">Done</a></div>
</section>`,
  });
}

export function confirmNoobPage(viewer: Viewer, opts: { url: string; peerId: string; peerInfo?: string }): Html {
  return layout({
    title: 'Register this device?',
    viewer,
    body: html`<form class="card" method="post" action="/noob">
  ${csrfField(viewer)}
  <input type="hidden" name="url" value="${opts.url}">
  <p>Register <strong>${deviceName(opts.peerInfo)}</strong> to your account <strong>${viewer.userName}</strong>?</p>
  <p class="muted">PeerId <span class="mono">${opts.peerId}</span></p>
  ${opts.peerInfo !== undefined ? html`<p class="muted">Device says: <span class="mono">${opts.peerInfo}</span></p>` : ''}
  <p class="muted">Only continue if this is the device in front of you.</p>
  <div class="actions"><button type="submit">Register</button> <a class="button secondary" href="/devices">Cancel</a></div>
</form>`,
  });
}

export function messagePage(viewer: Viewer | undefined, title: string, flash: Flash): Html {
  return layout({ title, ...(viewer ? { viewer } : {}), body: html`${flashBlock(flash)}<p><a href="/devices">Back to my devices</a></p>` });
}

export interface UserVlans {
  /** Set in the portal (store/user-policies.ts); wins over gangway.yaml. */
  stored: ReadonlyMap<string, UserPolicy>;
  /** authorization.users.NAME.vlan of gangway.yaml. */
  configured: (userName: string) => Vlan | undefined;
}

function userVlanCell(viewer: Viewer, u: UserRecord, vlans: UserVlans): Html {
  const stored = vlans.stored.get(u.name)?.vlan;
  const configured = vlans.configured(u.name);
  const note = stored !== undefined ? (configured !== undefined ? `set here; gangway.yaml says ${configured}` : 'set here') : configured !== undefined ? `from gangway.yaml: ${configured}` : 'none: the device class, method or default applies';
  return html`<form class="inline vlan-form" method="post" action="/admin/users/vlan">${csrfField(viewer)}<input type="hidden" name="user" value="${u.name}">
    <input class="vlan" name="vlan" type="number" min="1" max="4094" inputmode="numeric" aria-label="${`VLAN of ${u.name}`}" value="${stored !== undefined ? String(stored) : ''}">
    <button class="secondary" type="submit">Set VLAN</button></form>
    <div class="muted">${note}</div>`;
}

export function adminUsersPage(viewer: Viewer, users: UserRecord[], accounts: Map<string, PortalAccount>, opts: { flash?: Flash; now: Date; vlans: UserVlans }): Html {
  const rows = users.map((u) => {
    const a = accounts.get(u.name);
    const locked = a?.lockedUntil && a.lockedUntil > opts.now;
    return html`<tr data-user="${u.name}">
  <td>${u.name}</td>
  <td>${u.enabled ? 'enabled' : 'disabled'}${locked ? ' · locked' : ''}</td>
  <td>${a ? (a.admin ? 'administrator' : 'person') : 'no portal login'}</td>
  <td>${[u.ntHash ? 'NT hash' : '', u.passwordHash ? 'scrypt' : ''].filter(Boolean).join(', ') || 'none'}</td>
  <td>${userVlanCell(viewer, u, opts.vlans)}</td>
  <td>
    <form class="inline" method="post" action="/admin/users/${u.enabled ? 'disable' : 'enable'}">${csrfField(viewer)}<input type="hidden" name="user" value="${u.name}"><button class="secondary" type="submit">${u.enabled ? 'Disable' : 'Enable'}</button></form>
    <form class="inline" method="post" action="/admin/users/reset-password" data-confirm="${`Give ${u.name} a new portal password?`}">${csrfField(viewer)}<input type="hidden" name="user" value="${u.name}"><button class="secondary" type="submit">Reset portal password</button></form>
  </td>
</tr>`;
  });
  return layout({
    title: 'Users',
    viewer,
    body: html`${flashBlock(opts.flash)}
<div class="table-wrap"><table class="stack">
<thead><tr><th>Name</th><th>Status</th><th>Portal</th><th>Network credentials</th><th>VLAN</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table></div>
<form class="card" method="post" action="/admin/users/create">
  <h2>Create a user</h2>
  ${csrfField(viewer)}
  <label for="new-user">User name</label>
  <input id="new-user" name="user" type="text" required autocapitalize="none">
  <label><input type="checkbox" name="admin" value="1"> Administrator</label>
  <p class="muted">A portal password is generated and shown once. Network credentials are set with <span class="mono">gangway users add</span>.</p>
  <p class="muted">A VLAN set here applies to the user's password and certificate logins and to the EAP-NOOB devices bound to them, from their next authentication; an empty field clears it.</p>
  <div class="actions"><button type="submit">Create</button></div>
</form>`,
  });
}

export function adminDevicesPage(viewer: Viewer, devices: NoobPeerRecord[], opts: { flash?: Flash; noobEnabled: boolean; vlans?: DeviceVlans }): Html {
  return layout({
    title: 'All devices',
    viewer,
    body: html`${flashBlock(opts.flash)}${
      !opts.noobEnabled
        ? html`<p class="card">EAP-NOOB is not enabled on this server.</p>`
        : devices.length === 0
          ? html`<p class="card">No EAP-NOOB devices.</p>`
          : html`<ul class="devices" id="device-list">${devices.map((d) => deviceItem(viewer, d, { showOwner: true, vlan: opts.vlans?.get(d.peerId) }))}</ul>`
    }`,
  });
}

export function auditPage(viewer: Viewer, entries: AuditEntry[]): Html {
  return layout({
    title: 'Audit log',
    viewer,
    body: html`<div class="table-wrap"><table class="stack">
<thead><tr><th>When</th><th>Event</th><th>Subject</th><th>Detail</th></tr></thead>
<tbody>${entries.map(
      (e) => html`<tr><td>${when(e.at)}</td><td>${e.event}</td><td class="mono">${e.subject ?? ''}</td><td class="mono">${e.detail ? JSON.stringify(e.detail) : ''}</td></tr>`,
    )}</tbody>
</table></div>`,
  });
}
