// sendgate dashboard: reads the admin API every REFRESH_MS with the admin token and draws what it
// says. Plain script, no build step, no third-party code. The token comes from the URL fragment
// (#token=…, which browsers never send to the server) or the form, and is kept for this tab only.
'use strict';

const REFRESH_MS = 2000;
/** Rate samples kept per number: two minutes at REFRESH_MS. */
const SAMPLES = 60;

const state = {
  token: null,
  /** Whether the gateway lists broadcasts: asked once (a 404 each poll would count as a refusal). */
  broadcasts: undefined,
  /** phone_number_id → { at: ms, sent: total } of the previous poll, and the rate samples. */
  history: new Map(),
  timer: null,
};

const $ = (selector) => document.querySelector(selector);

function readToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get('token');
  if (fromUrl) {
    sessionStorage.setItem('sendgate.token', fromUrl);
    // Out of the address bar (and so out of screenshots and history).
    history.replaceState(null, '', location.pathname + location.search);
    return fromUrl;
  }
  return sessionStorage.getItem('sendgate.token');
}

async function api(method, path) {
  const response = await fetch(path, { method, headers: { authorization: `Bearer ${state.token}` }, cache: 'no-store' });
  if (response.status === 401 || response.status === 403) throw Object.assign(new Error('The admin token was refused'), { auth: true });
  if (response.status === 404 && method === 'GET') return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.error_data?.details ?? `${method} ${path}: HTTP ${response.status}`);
  return body;
}

function showLogin(message) {
  clearTimeout(state.timer);
  $('#main').hidden = true;
  $('#login').hidden = false;
  const error = $('#login-error');
  error.hidden = !message;
  error.textContent = message ?? '';
  $('#status').textContent = 'signed out';
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const fmt = (n, digits = 1) => (n === null || n === undefined ? '–' : Number(n).toFixed(digits).replace(/\.0+$/, ''));

function age(sec) {
  if (!sec) return '–';
  if (sec < 120) return `${Math.round(sec)} s`;
  if (sec < 7200) return `${Math.round(sec / 60)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

function pauseText(paused) {
  if (!paused) return '';
  const who = paused.by === 'operator' ? 'operator' : `upstream${paused.code ? ` ${paused.code}` : ''}`;
  const scope = paused.scope === 'tenant' ? ' (whole tenant)' : '';
  const until = paused.until ? ` until ${new Date(paused.until).toLocaleTimeString()}` : '';
  return `by ${who}${scope}${until}`;
}

/** Sent/s from the difference of this process's send counts between two polls. */
function sample(number, nowMs) {
  let h = state.history.get(number.phone_number_id);
  if (!h) {
    h = { at: nowMs, sent: number.sent_total ?? null, rates: [] };
    state.history.set(number.phone_number_id, h);
    return h;
  }
  if (typeof number.sent_total === 'number' && typeof h.sent === 'number' && nowMs > h.at) {
    h.rates.push({ rate: Math.max(0, (number.sent_total - h.sent) / ((nowMs - h.at) / 1000)), pacing: number.effective_mps, limit: number.mps });
    if (h.rates.length > SAMPLES) h.rates.shift();
  }
  h.at = nowMs;
  h.sent = number.sent_total ?? null;
  return h;
}

/** The rate line against the pacing rate and the limit, scaled to the largest of them. */
function drawRate(canvas, rates) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 180;
  const height = canvas.clientHeight || 36;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  if (rates.length === 0) return;
  const top = Math.max(1, ...rates.map((r) => Math.max(r.rate, r.limit, r.pacing))) * 1.1;
  // Newest at the right edge; until two minutes of samples exist, the ones there span the width.
  const x = (i) => (rates.length === 1 ? width : (i / (rates.length - 1)) * width);
  const y = (v) => height - (v / top) * (height - 2) - 1;
  const line = (pick, color, dash) => {
    g.beginPath();
    g.setLineDash(dash);
    g.strokeStyle = color;
    g.lineWidth = 1.5;
    rates.forEach((r, i) => (i === 0 ? g.moveTo(x(i), y(pick(r))) : g.lineTo(x(i), y(pick(r)))));
    g.stroke();
  };
  line((r) => r.limit, '#cb2431', [2, 3]);
  line((r) => r.pacing, '#6a737d', [5, 3]);
  line((r) => r.rate, '#128c7e', []);
}

async function pauseOrResume(id, action, button) {
  button.disabled = true;
  try {
    await api('POST', `/admin/numbers/${encodeURIComponent(id)}/${action}`);
    await refresh();
  } catch (err) {
    if (err.auth) return showLogin(err.message);
    $('#status').textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

function renderNumbers(numbers, nowMs) {
  const body = $('#numbers tbody');
  body.replaceChildren(...numbers.map((n) => {
    const h = sample(n, nowMs);
    const canvas = el('canvas', { class: 'rate', 'data-rate': n.phone_number_id });
    const last = h.rates[h.rates.length - 1];
    const action = n.paused && n.paused.scope === 'number' ? 'resume' : 'pause';
    const button = el('button', { class: action, type: 'button' }, action === 'pause' ? 'Pause' : 'Resume');
    button.addEventListener('click', () => pauseOrResume(n.phone_number_id, action, button));
    const row = el('tr', { 'data-number': n.phone_number_id },
      el('td', {}, n.phone_number_id),
      el('td', {}, n.tenant),
      el('td', {}, canvas),
      el('td', { class: 'num sent-rate' }, last ? fmt(last.rate) : '–'),
      el('td', { class: 'num', title: `pacing at ${fmt(n.effective_mps)} mps, burst ${n.burst}` }, `${fmt(n.effective_mps)} / ${fmt(n.mps)}`),
      el('td', { class: 'num depth' }, n.queue_depth),
      el('td', { class: 'num oldest' }, age(n.oldest_queued_age_sec)),
      el('td', { class: 'num' }, n.in_flight ?? '–'),
      el('td', { class: `pause ${n.paused ? 'paused' : ''}` }, pauseText(n.paused)),
      el('td', {}, button),
    );
    queueMicrotask(() => drawRate(canvas, h.rates));
    return row;
  }));
}

function renderUsage(usage) {
  $('#usage tbody').replaceChildren(...usage.map((u) => {
    const share = u.limit === 'unlimited' ? 0 : Math.min(1, u.used / u.limit);
    const bar = el('div', { class: `bar ${share >= 1 ? 'full' : share >= 0.8 ? 'high' : ''}` }, el('span'));
    bar.firstChild.style.width = `${share * 100}%`;
    return el('tr', { 'data-tenant': u.tenant }, el('td', {}, u.tenant), el('td', {}, bar), el('td', { class: 'num' }, u.used), el('td', { class: 'num' }, u.limit));
  }));
}

function renderFailures(failures) {
  $('#failures-since').textContent = `Upstream errors and refused requests, this process since ${new Date(failures.since).toLocaleString()}.`;
  const rows = [
    ...failures.upstream.map((f) => el('tr', {}, el('td', {}, f.code), el('td', {}, `upstream (${f.outcome})`), el('td', { class: 'num' }, f.count))),
    ...failures.refused.map((f) => el('tr', {}, el('td', {}, f.reason), el('td', {}, 'refused'), el('td', { class: 'num' }, f.count))),
  ];
  $('#failures tbody').replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colSpan: 3, class: 'muted' }, 'None'))]));
}

/** Recipients whose message ended, however it ended: the progress bar's share. */
const ENDED = ['sent', 'failed', 'expired', 'rejected', 'cancelled'];

function renderBroadcasts(list) {
  if (!Array.isArray(list?.data)) return;
  const host = $('#broadcasts');
  if (list.data.length === 0) return host.replaceChildren(el('p', { class: 'muted' }, 'No broadcasts yet.'));
  host.replaceChildren(el('table', {},
    el('thead', {}, el('tr', {},
      el('th', {}, 'Broadcast'), el('th', {}, 'Tenant'), el('th', {}, 'Number'), el('th', {}, 'State'), el('th', {}, 'Progress'),
      el('th', { class: 'num' }, 'Done'), el('th', { class: 'num' }, 'Sent'), el('th', { class: 'num' }, 'Failed'),
      el('th', { class: 'num' }, 'Waiting for limit'), el('th', { class: 'num' }, 'ETA'))),
    el('tbody', {}, ...list.data.map((b) => {
      const c = b.counts ?? {};
      const done = ENDED.reduce((sum, k) => sum + (c[k] ?? 0), 0);
      const share = b.recipients > 0 ? Math.min(1, done / b.recipients) : 1;
      const bar = el('div', { class: `bar ${c.failed + c.expired + c.rejected > 0 ? 'high' : ''}`, title: `${Math.round(share * 100)} %` }, el('span'));
      bar.firstChild.style.width = `${share * 100}%`;
      const active = b.state === 'running' || b.state === 'scheduled';
      return el('tr', { 'data-broadcast': b.id },
        el('td', { title: `created ${new Date(b.created_at).toLocaleString()}` }, b.id),
        el('td', {}, b.tenant),
        el('td', {}, b.phone_number_id),
        el('td', { class: `state ${b.state}` }, b.state),
        el('td', { class: 'progress' }, bar),
        el('td', { class: 'num done' }, `${done} / ${b.recipients}`),
        el('td', { class: 'num' }, c.sent ?? 0),
        el('td', { class: 'num' }, (c.failed ?? 0) + (c.expired ?? 0) + (c.rejected ?? 0)),
        el('td', { class: 'num' }, b.waiting_for_limit ?? 0),
        el('td', { class: 'num', title: b.finish_at }, active ? age(b.eta_seconds) : '–'),
      );
    })),
  ));
}

async function refresh() {
  clearTimeout(state.timer);
  try {
    const [numbers, usage, failures, broadcasts] = await Promise.all([
      api('GET', '/admin/numbers'), api('GET', '/admin/usage'), api('GET', '/admin/failures'),
      // A failed poll keeps the last table; only a 404 (no such route) stops asking.
      state.broadcasts === false ? null : api('GET', '/admin/broadcasts?limit=20').catch((err) => (err.auth ? Promise.reject(err) : undefined)),
    ]);
    if (broadcasts === null) state.broadcasts = false;
    $('#login').hidden = true;
    $('#main').hidden = false;
    renderNumbers(numbers ?? [], Date.now());
    renderUsage(usage ?? []);
    if (failures) renderFailures(failures);
    renderBroadcasts(broadcasts);
    $('#status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (err.auth) return showLogin(err.message);
    $('#status').textContent = `not updated: ${err.message}`;
  }
  state.timer = setTimeout(refresh, REFRESH_MS);
}

$('#login').addEventListener('submit', (event) => {
  event.preventDefault();
  state.token = $('#token').value.trim();
  sessionStorage.setItem('sendgate.token', state.token);
  refresh();
});

state.token = readToken();
if (state.token) refresh();
else showLogin();
