/**
 * The administrator's TEAP-BRSKI pages: pledges awaiting approval, every device the registrar has
 * seen or been told about, and the certificates our CA issued. Serial numbers and subjects come
 * from device certificates: like everything else they pass through the escaping template.
 */
import type { Vlan } from '../policy/authorization-policy.js';
import type { BrskiDevice } from '../store/brski-devices.js';
import { REVOCATION_REASONS, type IssuedCertificateRecord } from '../store/issued-certificates.js';
import { html, type Html } from './html.js';
import { csrfField, flashBlock, layout, vlanText, when, type Flash, type Viewer } from './views.js';

const STATUS_TEXT: Record<BrskiDevice['status'], string> = {
  pending: 'awaiting approval',
  approved: 'approved',
  denied: 'denied',
};

function decisionForms(viewer: Viewer, d: BrskiDevice): Html {
  const field = html`${csrfField(viewer)}<input type="hidden" name="manufacturer" value="${d.manufacturer}"><input type="hidden" name="serial" value="${d.serialNumber}">`;
  return html`${d.status !== 'approved' ? html`<form class="inline" method="post" action="/admin/brski/approve">${field}<button type="submit">Approve</button></form>` : ''}
    ${d.status !== 'denied' ? html`<form class="inline" method="post" action="/admin/brski/deny" data-confirm="${`Deny ${d.manufacturer}:${d.serialNumber}? It will not be enrolled, and loses network access until approved again (its session is ended where it can be found).`}">${field}<button class="danger" type="submit">Deny</button></form>` : ''}`;
}

export function brskiDevicesPage(viewer: Viewer, opts: { pending: BrskiDevice[]; all: BrskiDevice[]; manufacturers: readonly string[]; vlanOf: (d: BrskiDevice) => Vlan | undefined; flash?: Flash }): Html {
  const pending =
    opts.pending.length === 0
      ? html`<p class="muted" id="no-pending">No pledge awaits approval.</p>`
      : html`<ul class="devices" id="pending-list">${opts.pending.map(
          (d) => html`<li data-device="${`${d.manufacturer}:${d.serialNumber}`}">
  <div class="name">${d.manufacturer} <span class="mono">${d.serialNumber}</span></div>
  <div class="muted">First seen ${when(d.firstSeen)} · last seen ${when(d.lastSeen)}</div>
  <div class="actions">${decisionForms(viewer, d)}</div>
</li>`,
        )}</ul>`;
  const rows = opts.all.map(
    (d) => html`<tr data-device="${`${d.manufacturer}:${d.serialNumber}`}">
  <td>${d.manufacturer}</td>
  <td class="mono">${d.serialNumber}</td>
  <td data-label="Status"><span class="state ${d.status === 'approved' ? 's4' : ''}">${STATUS_TEXT[d.status]}</span>${d.decidedBy !== undefined ? html`<div class="muted">by ${d.decidedBy}, ${when(d.decidedAt)}</div>` : ''}</td>
  <td data-label="Last seen">${when(d.lastSeen)}</td>
  <td class="mono" data-label="LDevID">${d.ldevidSerial !== undefined ? html`<a href="${`/admin/certificates#c-${d.ldevidSerial}`}">${d.ldevidSerial}</a>` : '—'}</td>
  <td class="mono" data-label="VLAN">${d.status === 'denied' ? 'no access (denied)' : vlanText(opts.vlanOf(d))}</td>
  <td>${decisionForms(viewer, d)}</td>
</tr>`,
  );
  return layout({
    title: 'BRSKI devices',
    viewer,
    body: html`${flashBlock(opts.flash)}
<section class="card">
  <h2>Awaiting approval</h2>
  <p class="muted">Devices whose manufacturer needs an administrator's approval (<span class="mono">approval: admin</span>) wait here after their first attempt; approved, they enrol at their next one.</p>
  ${pending}
</section>
<h2>All devices</h2>
${
  opts.all.length === 0
    ? html`<p class="card">No device has tried to enrol yet.</p>`
    : html`<div class="table-wrap"><table class="stack" id="brski-devices">
<thead><tr><th>Manufacturer</th><th>Serial number</th><th>Status</th><th>Last seen</th><th>LDevID</th><th>VLAN</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`
}
<p class="muted">VLAN: what the credential policy gives the device when it authenticates with its LDevID (EAP-TLS).</p>
${
  opts.manufacturers.length === 0
    ? ''
    : html`<form class="card" method="post" action="/admin/brski/approve">
  <h2>Pre-approve a serial number</h2>
  ${csrfField(viewer)}
  <label for="pre-manufacturer">Manufacturer</label>
  <select id="pre-manufacturer" name="manufacturer">${opts.manufacturers.map((m) => html`<option value="${m}">${m}</option>`)}</select>
  <label for="pre-serial">Serial number (as in the IDevID's subject)</label>
  <input id="pre-serial" name="serial" type="text" required maxlength="64" autocapitalize="none" spellcheck="false">
  <div class="actions"><button type="submit">Pre-approve</button></div>
</form>`
}`,
  });
}

export function certificatesPage(viewer: Viewer, certificates: IssuedCertificateRecord[], opts: { now: Date; flash?: Flash }): Html {
  const rows = certificates.map((c) => {
    const expired = c.notAfter <= opts.now;
    return html`<tr id="${`c-${c.serial}`}" data-serial="${c.serial}">
  <td class="mono">${c.serial}</td>
  <td class="mono" data-label="Device">${c.deviceId}</td>
  <td class="mono" data-label="Subject">${c.subject}</td>
  <td data-label="Issued">${when(c.issuedAt)}${c.reissuedFrom !== undefined ? html`<div class="muted">re-enrolled with <a class="mono" href="${`#c-${c.reissuedFrom}`}">${c.reissuedFrom}</a></div>` : ''}</td>
  <td data-label="Valid until">${when(c.notAfter)}</td>
  <td>${
    c.revokedAt !== undefined
      ? html`<span class="state">revoked</span><div class="muted">${when(c.revokedAt)} (${c.revocationReason ?? 'unspecified'})</div>`
      : expired
        ? html`<span class="state">expired</span>`
        : html`<span class="state s4">valid</span>`
  }</td>
  <td>${
    c.revokedAt === undefined && !expired
      ? html`<form class="inline" method="post" action="/admin/certificates/revoke" data-confirm="${`Revoke the LDevID of ${c.deviceId}? The device loses network access and must enrol again.`}">
    ${csrfField(viewer)}<input type="hidden" name="serial" value="${c.serial}">
    <select name="reason" aria-label="Reason">${REVOCATION_REASONS.map((r) => html`<option value="${r}">${r}</option>`)}</select>
    <button class="danger" type="submit">Revoke</button></form>`
      : ''
  }</td>
</tr>`;
  });
  return layout({
    title: 'Issued certificates',
    viewer,
    body: html`${flashBlock(opts.flash)}
<p class="muted">LDevIDs our registrar CA issued, newest first; a re-enrolled one names the LDevID whose key obtained it. A revoked certificate is refused by EAP-TLS from the device's next authentication; when its NAS accepts Disconnect-Requests, its session ends at once. Revoking for keyCompromise also revokes every certificate that key obtained by re-enrolment, at any depth.</p>
${
  certificates.length === 0
    ? html`<p class="card">No certificate issued yet.</p>`
    : html`<div class="table-wrap"><table class="stack" id="certificates">
<thead><tr><th>Serial</th><th>Device</th><th>Subject</th><th>Issued</th><th>Valid until</th><th>Status</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`
}`,
  });
}
