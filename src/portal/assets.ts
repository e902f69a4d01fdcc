/**
 * The portal's static files: its stylesheet and camera script (kept here as text so that the
 * compiled server needs no copy step), and jsQR served from its npm package. No CDN: the portal
 * works on a network that has no internet yet, which is exactly where devices get onboarded.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface StaticAsset {
  body: string;
  contentType: string;
  /** Strong ETag: the SHA-256 of the body. */
  etag: string;
}

function asset(body: string, contentType: string): StaticAsset {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
}

const STYLESHEET = `
:root { --fg: #1b1f24; --muted: #5b6470; --bg: #f6f7f9; --card: #fff; --line: #d9dde3; --accent: #0b5cad; --bad: #a4161a; --good: #1b7a3a; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: var(--accent); color: #fff; padding: .6rem 1rem; display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; }
header .brand { font-weight: 700; margin-right: auto; }
header a, header button.link { color: #fff; }
nav { display: flex; flex-wrap: wrap; gap: .3rem 1rem; align-items: center; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .6rem; }
.card > h2:first-child, .card > input[type=hidden]:first-child + h2 { margin-top: 0; }
#scan-status:empty { display: none; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: 1rem; margin: 0 0 1rem; }
.flash { border-radius: .5rem; padding: .7rem 1rem; margin: 0 0 1rem; border: 1px solid; }
.flash.good { color: var(--good); border-color: var(--good); background: #eef8f1; }
.flash.bad { color: var(--bad); border-color: var(--bad); background: #fbeeee; }
label { display: block; font-weight: 600; margin: .6rem 0 .2rem; }
input[type=text], input[type=password], input[type=number], select, textarea { width: 100%; font: inherit; padding: .55rem .6rem; border: 1px solid var(--line); border-radius: .4rem; background: #fff; }
textarea { min-height: 5rem; word-break: break-all; }
button, .button { font: inherit; border: 0; border-radius: .4rem; padding: .55rem 1rem; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: #e7ebf0; color: var(--fg); }
button.danger { background: var(--bad); }
button.link { background: none; padding: 0; text-decoration: underline; }
form.inline { display: inline; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .8rem; }
.muted { color: var(--muted); font-size: .9rem; }
.qr { display: inline-block; background: #fff; padding: 12px; line-height: 0; }
.qr-row { display: flex; }
.qr-row > i { display: block; width: 5px; height: 5px; }
.qr-row > i.qr-d { background: #000; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
.devices { list-style: none; padding: 0; margin: 0; }
.devices li { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .8rem 1rem; margin-bottom: .6rem; }
.devices .name { font-weight: 600; }
.state { display: inline-block; font-size: .8rem; padding: .05rem .5rem; border-radius: 1rem; background: #e7ebf0; }
.state.s4 { background: #dff3e6; color: var(--good); }
table { width: 100%; border-collapse: collapse; background: var(--card); font-size: .92rem; }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.table-wrap { overflow-x: auto; }
#camera { width: 100%; max-height: 60vh; background: #000; border-radius: .5rem; display: block; }
#scan-status { min-height: 1.5em; }
[hidden] { display: none !important; }
td form.inline button { margin: .15rem 0; }
input.vlan { width: 6.5rem; margin-right: .3rem; }
.vlan-form { white-space: nowrap; }
section.card h2 { margin-top: 0; }
@media (max-width: 30rem) { main { padding: .6rem; } .card { padding: .8rem; } th, td { padding: .35rem; } }
/* Phones: each table row becomes a small card, nothing scrolls sideways. */
@media (max-width: 40rem) {
  table.stack thead { display: none; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack tr { border-bottom: 1px solid var(--line); padding: .4rem 0; }
  table.stack td { border: 0; padding: .1rem .6rem; }
  table.stack td:first-child { font-weight: 600; }
  table.stack td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-family: system-ui, sans-serif; font-weight: normal; }
}
`;

/**
 * Camera scanning on the "add a device" page: getUserMedia, frames drawn to a canvas, jsQR over
 * the pixels. A code that looks like an EAP-NOOB OOB message (P, N, H) fills the form and submits
 * it; the server does every check. A file, not inline script, so the CSP can forbid inline code.
 */
const SCAN_SCRIPT = `'use strict';
(function () {
  var start = document.getElementById('scan-start');
  var stop = document.getElementById('scan-stop');
  var video = document.getElementById('camera');
  var canvas = document.getElementById('frame');
  var status = document.getElementById('scan-status');
  var form = document.getElementById('add-form');
  var field = document.getElementById('oob-url');
  if (!start || !video || !canvas || !form || !field) return;
  var stream = null;
  var timer = null;
  var ctx = canvas.getContext('2d', { willReadFrequently: true });

  function say(text) { status.textContent = text; }

  function looksLikeOob(text) {
    var q = text.indexOf('?') >= 0 ? text.slice(text.indexOf('?') + 1) : text;
    var params = new URLSearchParams(q);
    return params.has('P') && params.has('N') && params.has('H');
  }

  function halt() {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }

  function tick() {
    timer = null;
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      var scale = Math.min(1, 800 / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
      if (code && code.data) {
        if (looksLikeOob(code.data)) {
          say('Device code found; registering…');
          field.value = code.data;
          halt();
          form.requestSubmit();
          return;
        }
        say('This QR code is not a device registration code. Keep looking.');
      }
    }
    timer = setTimeout(tick, 150);
  }

  start.addEventListener('click', function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say('This browser cannot use the camera here. Paste the code below instead.');
      return;
    }
    say('Starting the camera…');
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      start.hidden = true;
      stop.hidden = false;
      return video.play();
    }).then(function () {
      say('Point the camera at the device’s QR code.');
      tick();
    }).catch(function (err) {
      halt();
      say('No camera: ' + (err && err.name ? err.name : 'unavailable') + '. Paste the code below instead.');
    });
  });
  stop.addEventListener('click', function () { halt(); say(''); });
})();
`;

/** Forms that ask "are you sure?" carry data-confirm; a file, for the same CSP reason. */
const CONFIRM_SCRIPT = `'use strict';
document.addEventListener('submit', function (e) {
  var f = e.target;
  if (f instanceof HTMLFormElement && f.dataset.confirm && !window.confirm(f.dataset.confirm)) e.preventDefault();
});
`;

/** A gangway (a ramp onto a ship): browsers ask for an icon on every site. */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b5cad"/><path d="M5 24 L27 10" stroke="#fff" stroke-width="4" stroke-linecap="round"/></svg>`;

function jsQrSource(): string {
  // The UMD build defines window.jsQR when loaded by a plain <script>.
  const path = createRequire(import.meta.url).resolve('jsqr');
  return readFileSync(path, 'utf8');
}

let cached: Map<string, StaticAsset> | undefined;

/** Static files by URL path below /static/. Read once. */
export function staticAssets(): Map<string, StaticAsset> {
  cached ??= new Map([
    ['portal.css', asset(STYLESHEET, 'text/css; charset=utf-8')],
    ['scan.js', asset(SCAN_SCRIPT, 'text/javascript; charset=utf-8')],
    ['confirm.js', asset(CONFIRM_SCRIPT, 'text/javascript; charset=utf-8')],
    ['jsqr.js', asset(jsQrSource(), 'text/javascript; charset=utf-8')],
    ['favicon.svg', asset(FAVICON, 'image/svg+xml')],
  ]);
  return cached;
}
