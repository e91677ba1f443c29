/**
 * Policy overhead benchmark: ingress throughput of the send route with the full policy pipeline
 * on (A) vs the same gateway with every policy off (B), two gateway processes from one config
 * that differs only in `policy`, measured in the same run, alternating A/B/A/B so machine noise
 * (2 shared cores) falls on both. Goal: policies cost < 10 % of ingress throughput.
 *
 * A's pipeline: service window enforced (windows opened by signed Meta inbound webhooks), opt-in
 * enforced (opt-ins recorded through the consent API), repeat on with a limit no send reaches,
 * links allowlist, messaging limit 100K. Bodies vary per request (recipient, words, numbers,
 * links; texts to users with an open window, utility templates to users with an opt-in), so the
 * fingerprints, windows and tier charges are real work, and every send is admitted (non2xx 0).
 *
 * Each number is paced at 1 mps with a 30-day deadline, so the dispatcher stays nearly idle and
 * the figure is the ingress path; the simulator is the upstream, in its own process.
 * Verdict: medians over rounds, and the median of each round's own A-vs-B overhead (A and B run
 * back to back in a round, so a neighbour's burst that lasts a round falls on both). Both req/s
 * (the issue's goal) and the gateway's CPU µs per request (less noisy) are printed.
 * Then `--concurrent` rounds (default 4) load both gateways at the same time, half the connections
 * each, same bodies: a second reading that machine noise cannot favour one side of (the two share
 * the 2 cores, so a costlier pipeline shows as fewer req/s and more CPU per request).
 * Usage: npm run build && node dist/bench/macro/policy.js [--seconds 3] [--connections 50] [--rounds 8] [--concurrent 4] [--profile DIR]
 * (--profile: both gateways run under `node --cpu-prof`, profiles written to DIR when they stop).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { asciiJson, hubSignature256 } from '../../src/sim/ascii-json.js';
import { buildPayload, type WebhookUpdate } from '../../src/sim/webhook-sender.js';
import { CLI, cpuMs, freePort, machineLine, spawnServer, tempJson, type Child } from './processes.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '8' },
    profile: { type: 'string' },
    concurrent: { type: 'string', default: '4' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
const profileDir = values.profile;
const concurrentRounds = Number(values.concurrent);

const API_KEY = 'bench-key-123456';
const NUMBER = '1001';
const APP_SECRET = 'bench-app-secret';
/** Users with an open service window (texts) and users with a recorded opt-in (templates). */
const WINDOW_USERS = 1000;
const OPTIN_USERS = 1000;
const windowUser = (i: number) => `1650555${String(i % WINDOW_USERS).padStart(4, '0')}`;
const optInUser = (i: number) => `1650666${String(i % OPTIN_USERS).padStart(4, '0')}`;

const FULL_POLICY = {
  mode: 'enforce', serviceWindow: 'enforce', optIn: 'enforce',
  repeat: { maxRecipients: 1_000_000, windowSec: 600 },
  links: { allowedDomains: ['shop.example', 'help.example'] },
};
const NO_POLICY = { serviceWindow: 'off', optIn: 'off' };

interface Figures { rps: number; p50: number; p99: number; non2xx: number; errors: number; codes: string; cpuUsPerReq: number }


const WORDS = ['order', 'parcel', 'invoice', 'booking', 'ticket', 'refund', 'delivery', 'appointment', 'table', 'room', 'plan', 'seat'];
const VERBS = ['is ready', 'was updated', 'ships today', 'is confirmed', 'needs a signature', 'was moved', 'is on its way'];
const NAMES = ['Ana', 'Bo', 'Carla', 'Dmitri', 'Eve', 'Farid', 'Gus', 'Hana'];
const HOSTS = ['shop.example', 'track.shop.example', 'help.example'];

/** The i-th send: even → a free-form text in an open window, odd → a utility template to an opted-in user. */
function bodyOf(i: number): string {
  if (i % 2 === 0) {
    const w = WORDS[i % WORDS.length]!;
    const v = VERBS[(i >> 3) % VERBS.length]!;
    const text = `Hi ${NAMES[i % NAMES.length]}, your ${w} #${i} ${v}. Details: https://${HOSTS[i % HOSTS.length]}/${w}/${i}?ref=${i % 97}`;
    return JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${windowUser(i >> 1)}`, type: 'text', text: { body: text } });
  }
  // Parameter values repeat (an order reference out of 500): templates are counted by their values.
  const params = [`A-${i % 500}`, WORDS[i % WORDS.length]!, `https://${HOSTS[i % HOSTS.length]}/t/${i % 500}`];
  return JSON.stringify({
    messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${optInUser(i >> 1)}`, type: 'template',
    template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: params.map((text) => ({ type: 'text', text })) }] },
  });
}

const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'x-sendgate-deadline': '2592000', 'x-sendgate-category': 'utility' };

async function load(url: string, durationSec: number, offset: number, pid?: number, conns = connections): Promise<Figures> {
  let i = offset;
  const cpuBeforeMs = cpuMs(pid);
  const r = await autocannon({
    url, connections: conns, duration: durationSec,
    requests: [{
      method: 'POST', path: `/v23.0/${NUMBER}/messages`, headers,
      setupRequest: (req: autocannon.Request) => ({ ...req, body: bodyOf(i++) }),
    }],
  });
  // Which statuses the non-2xx were (a refusal in A would make the comparison meaningless).
  const stats = (r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  const codes = Object.entries(stats).filter(([code]) => !code.startsWith('2')).map(([code, v]) => `${code}×${v.count}`).join(' ');
  const cpuUsPerReq = ((cpuMs(pid) - cpuBeforeMs) * 1000) / Math.max(1, r.requests.total);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, codes, cpuUsPerReq };
}

/** Opens the service window of every WINDOW_USERS user (signed Meta inbound webhooks) and records every opt-in. */
async function seed(url: string): Promise<void> {
  const nowSec = String(Math.floor(Date.now() / 1000));
  for (let start = 0; start < WINDOW_USERS; start += 1000) {
    const updates: WebhookUpdate[] = [];
    for (let u = start; u < Math.min(start + 1000, WINDOW_USERS); u++) {
      const from = windowUser(u);
      updates.push({
        wabaId: '100000000000001', phoneNumberId: NUMBER, displayPhoneNumber: NUMBER,
        message: { contact: { profile: { name: 'User' }, wa_id: from }, message: { from, id: `wamid.bench-in-${u}`, timestamp: nowSec, type: 'text', text: { body: 'hi' } } },
      });
    }
    const body = asciiJson(buildPayload(updates));
    await expectOk(fetch(`${url}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': hubSignature256(body, APP_SECRET) }, body }), 'inbound webhooks');
  }
  const records = Array.from({ length: OPTIN_USERS }, (_, u) => ({ recipient: `+${optInUser(u)}`, status: 'opt_in', source: 'bench' }));
  await expectOk(fetch(`${url}/v1/consent/bulk`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(records) }), 'consent bulk');
}

async function expectOk(pending: Promise<Response>, what: string): Promise<void> {
  const res = await pending;
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${await res.text()}`);
}

async function startGateway(simUrl: string, policy: object, messagingLimit: number | string): Promise<{ child: Child; dataDir: string }> {
  const port = await freePort();
  const config = tempJson('gateway.json', {});
  const dataDir = `${dirname(config)}/data`;
  writeFileSync(config, JSON.stringify({
    listen: { host: '127.0.0.1', port },
    storage: { kind: 'embedded', path: dataDir },
    upstream: { baseUrl: simUrl, version: 'v23.0' },
    log: { level: 'warn' },
    webhooks: { appSecret: APP_SECRET, verifyToken: 'bench-verify-token' },
    tenants: [{ id: 'bench', apiKeys: [API_KEY], messagingLimit, policy, numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-bench', mps: 1, burst: 1 }] }],
  }));
  const profile = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${JSON.stringify(policy) === JSON.stringify(NO_POLICY) ? 'off' : 'on'}.cpuprofile`];
  const child = await spawnServer([...profile, CLI, 'serve', '--config', config], `http://127.0.0.1:${port}`, '/readyz');
  await seed(child.url);
  return { child, dataDir };
}

async function main(): Promise<void> {
  const simPort = await freePort();
  const simConfig = tempJson('sim.json', { acceptAnyNumber: true, limits: { mps: 1_000_000, burst: 1_000_000, pairIntervalMs: 0 } });
  const sim = await spawnServer([CLI, 'simulate', '--port', String(simPort), '--config', simConfig], `http://127.0.0.1:${simPort}`, '/__sim/stats');
  const on = await startGateway(sim.url, FULL_POLICY, 100000);
  const off = await startGateway(sim.url, NO_POLICY, 'unlimited');
  try {
    // Warm-up (JIT, sockets, first pages of the stores) on both, not measured.
    await load(on.child.url, 2, 0);
    await load(off.child.url, 2, 0);
    const runs: Array<{ name: 'on' | 'off'; f: Figures }> = [];
    for (let r = 0; r < rounds; r++) {
      // Same bodies for A and B in a round; each round moves on to new numbers and links.
      const offset = (r + 1) * 1_000_000;
      const order = r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const name of order) {
        const { child } = name === 'on' ? on : off;
        runs.push({ name, f: await load(child.url, seconds, offset, child.process.pid) });
      }
    }
    report(runs);
    if (concurrentRounds > 0) {
      // Both gateways under load at once, half the connections each, the same bodies: every
      // neighbour's burst lands on both at the same instant.
      const together: Array<{ on: Figures; off: Figures }> = [];
      for (let r = 0; r < concurrentRounds; r++) {
        const offset = (rounds + r + 1) * 1_000_000;
        const half = Math.max(1, connections >> 1);
        const [a, b] = await Promise.all([
          load(on.child.url, seconds, offset, on.child.process.pid, half),
          load(off.child.url, seconds, offset, off.child.process.pid, half),
        ]);
        together.push({ on: a, off: b });
      }
      reportConcurrent(together);
    }
  } finally {
    await on.child.stop();
    await off.child.stop();
    await sim.stop();
    rmSync(dirname(simConfig), { recursive: true, force: true });
    rmSync(dirname(on.dataDir), { recursive: true, force: true });
    rmSync(dirname(off.dataDir), { recursive: true, force: true });
  }
}

function report(runs: Array<{ name: 'on' | 'off'; f: Figures }>): void {
  const row = (name: string, f: Figures) =>
    `${name.padEnd(28)} ${f.rps.toFixed(0).padStart(8)} ${String(f.p50).padStart(6)} ${String(f.p99).padStart(6)} ${f.cpuUsPerReq.toFixed(0).padStart(9)} ${String(f.non2xx).padStart(7)} ${String(f.errors).padStart(6)} ${f.codes}`;
  console.log(`policy overhead benchmark — ${machineLine()}; ${connections} connections, ${seconds} s per run, ${rounds} rounds A/B alternating; load average (1 min) ${loadavg()[0]!.toFixed(2)}`);
  console.log(`${'run'.padEnd(28)} ${'req/s'.padStart(8)} ${'p50ms'.padStart(6)} ${'p99ms'.padStart(6)} ${'cpuµs/req'.padStart(9)} ${'non2xx'.padStart(7)} ${'errors'.padStart(6)}`);
  runs.forEach((r, i) => console.log(row(`${i + 1}. ${r.name === 'on' ? 'A policies on' : 'B policies off'}`, r.f)));
  // Medians: one run that a neighbour's burst lands on should not move the verdict.
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const mean = (name: 'on' | 'off'): Figures => {
    const fs = runs.filter((r) => r.name === name).map((r) => r.f);
    const med = (pick: (f: Figures) => number) => median(fs.map(pick));
    const sum = (pick: (f: Figures) => number) => fs.reduce((s, f) => s + pick(f), 0);
    return { rps: med((f) => f.rps), p50: med((f) => f.p50), p99: med((f) => f.p99), non2xx: sum((f) => f.non2xx), errors: sum((f) => f.errors), codes: '', cpuUsPerReq: med((f) => f.cpuUsPerReq) };
  };
  const a = mean('on');
  const b = mean('off');
  console.log(row('median A policies on', a));
  console.log(row('median B policies off', b));
  const overheadPct = ((b.rps - a.rps) / b.rps) * 100;
  const cpuPct = ((a.cpuUsPerReq - b.cpuUsPerReq) / a.cpuUsPerReq) * 100;
  // Per round: A and B ran back to back, on the same bodies.
  const pairs: Array<{ rpsPct: number; cpuPct: number }> = [];
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const [x, y] = [runs[i]!, runs[i + 1]!];
    const on = x.name === 'on' ? x.f : y.f;
    const off = x.name === 'on' ? y.f : x.f;
    pairs.push({ rpsPct: ((off.rps - on.rps) / off.rps) * 100, cpuPct: ((on.cpuUsPerReq - off.cpuUsPerReq) / on.cpuUsPerReq) * 100 });
  }
  const pct = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  console.log(`per round, throughput overhead %: ${pct(pairs.map((p) => p.rpsPct))}; CPU share %: ${pct(pairs.map((p) => p.cpuPct))}`);
  const pairedRps = median(pairs.map((p) => p.rpsPct));
  const pairedCpu = median(pairs.map((p) => p.cpuPct));
  console.log(`policy overhead: ${overheadPct.toFixed(1)} % of ingress throughput from the medians, ${pairedRps.toFixed(1)} % as the median of the rounds (goal < 10 %); ` +
    `CPU per admitted send ${a.cpuUsPerReq.toFixed(0)} vs ${b.cpuUsPerReq.toFixed(0)} µs (ratio ${(a.cpuUsPerReq / b.cpuUsPerReq).toFixed(3)}): ` +
    `${cpuPct.toFixed(1)} % of the gateway's CPU (median of rounds ${pairedCpu.toFixed(1)} %)` +
    `${a.non2xx + b.non2xx > 0 ? ' — WARNING: some sends were refused, compare with care' : ''}`);
}

function reportConcurrent(rounds: Array<{ on: Figures; off: Figures }>): void {
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const fmt = (f: Figures) => `${f.rps.toFixed(0)} req/s ${f.cpuUsPerReq.toFixed(0)} µs/req${f.non2xx > 0 ? ` non2xx ${f.non2xx} ${f.codes}` : ''}`;
  rounds.forEach((r, i) => console.log(`concurrent ${i + 1}. A on ${fmt(r.on)} | B off ${fmt(r.off)}`));
  const rpsPct = rounds.map((r) => ((r.off.rps - r.on.rps) / r.off.rps) * 100);
  const cpuPct = rounds.map((r) => ((r.on.cpuUsPerReq - r.off.cpuUsPerReq) / r.on.cpuUsPerReq) * 100);
  console.log(`concurrent A+B: policy overhead ${median(rpsPct).toFixed(1)} % of ingress throughput (median of ${rounds.length} rounds: ${rpsPct.map((x) => x.toFixed(1)).join(' ')}; goal < 10 %); ` +
    `${median(cpuPct).toFixed(1)} % of the gateway's CPU per admitted send (${cpuPct.map((x) => x.toFixed(1)).join(' ')})`);
}

await main();
