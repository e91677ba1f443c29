/**
 * kill -9 the gateway while thousands of messages are queued, restart it on the same data dir:
 * every accepted message is delivered, and the only duplicates are sends that were in flight.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type Child } from '../../bench/macro/processes.js';
import { startCrashGateway } from '../support/crash-gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { DB_FILE } from '../../src/store/embedded/database.js';

const API_KEY = 'key-crash-test-1';
const NUMBERS = Array.from({ length: 10 }, (_, i) => String(3000 + i));
const PER_NUMBER = 300;
/** Low enough that posting the backlog (3,000 requests) cannot drain it, however slow the machine. */
const MPS = 30;
const CONNECTIONS = 16;

let sim: Simulator | undefined;
let gateway: Child | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'sendgate-crash-'));
afterAll(async () => {
  await gateway?.stop();
  await sim?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function startGateway(port: number, simUrl: string): Promise<Child> {
  return startCrashGateway({
    port, dataDir, simUrl, upstream: { connections: CONNECTIONS },
    tenants: [{ id: 'crash', apiKeys: [API_KEY], numbers: NUMBERS.map((id) => ({ phoneNumberId: id, accessToken: `EAAG-${id}`, mps: MPS, burst: 10 })) }],
  });
}

interface Accepted {
  id: string;
  number: string;
  /** Recipient digits: each message has its own recipient, so the simulator's per-pair counts are per message. */
  to: string;
}

/** Posts PER_NUMBER messages to every number, each to its own recipient; returns the accepted ones. */
async function postBacklog(url: string, tag: string): Promise<Accepted[]> {
    const pool = new Pool(url, { connections: 32 });
    const accepted: Accepted[] = [];
    const sends: Promise<void>[] = [];
    for (let i = 0; i < PER_NUMBER; i++) {
      for (const number of NUMBERS) {
        const to = `+1${tag}${number}${String(i).padStart(4, '0')}`;
        sends.push(pool.request({
          path: `/v23.0/${number}/messages`, method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ messaging_product: 'whatsapp', to, type: 'text', text: { body: `crash ${number} ${i}` } }),
        }).then(async (res) => {
          const json = (await res.body.json()) as any;
          if (res.statusCode === 202) accepted.push({ id: json.messages[0].id, number, to: to.slice(1) });
        }));
      }
    }
    await Promise.all(sends);
    await pool.close();
    return accepted;
}

describe('crash recovery', () => {
  it('delivers every accepted message after kill -9 and restart', async () => {
    sim = await startSimulator({ numbers: NUMBERS.map((id) => ({ phoneNumberId: id, accessToken: `EAAG-${id}` })) });
    const port = await freePort();
    gateway = await startGateway(port, sim.url);
    const accepted = await postBacklog(gateway.url, '650');
    expect(accepted.length).toBe(NUMBERS.length * PER_NUMBER);

    // Let some go out, then kill -9 with the rest still queued.
    await new Promise((r) => setTimeout(r, 500));
    gateway.process.kill('SIGKILL');
    await new Promise((r) => gateway!.process.once('exit', r));
    // What the dead process left: unfinished records (so there is something to recover), and
    // those in `sending`, which were in flight at the kill.
    const atKill = storeAtKill();
    expect(atKill.unfinished).toBeGreaterThan(0);
    const inFlightAtKill = atKill.sending;

    gateway = await startGateway(port, sim.url);
    const deadline = Date.now() + 60_000;
    while (!allReachedUpstream(sim, accepted) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

    // Every accepted message reached a sent state (checked through the status API).
    const states = new Map<string, number>();
    const check = new Pool(gateway.url, { connections: 16 });
    await Promise.all(accepted.map(async ({ id }) => {
      const res = await check.request({ path: `/v1/messages/${id}`, method: 'GET', headers: { authorization: `Bearer ${API_KEY}` } });
      const json = (await res.body.json()) as any;
      states.set(json.state, (states.get(json.state) ?? 0) + 1);
    }));
    await check.close();
    const sent = (states.get('sent') ?? 0) + (states.get('delivered') ?? 0) + (states.get('read') ?? 0);
    expect(sent).toBe(accepted.length);
    // What the upstream saw, per message: every accepted one at least once; a second copy only of a
    // message that was in flight at the kill, never a third; at most the connections' worth.
    const pairs = sim.stats().pairs;
    const copies = accepted.map((m) => ({ ...m, copies: pairs[m.number]?.[m.to]?.accepted ?? 0 }));
    expect(copies.filter((m) => m.copies === 0)).toEqual([]);
    const duplicated = copies.filter((m) => m.copies > 1);
    expect(duplicated.filter((m) => m.copies > 2)).toEqual([]);
    expect(duplicated.filter((m) => !inFlightAtKill.has(m.to))).toEqual([]);
    expect(duplicated.length).toBeLessThanOrEqual(CONNECTIONS);
    expect(totalAccepted(sim)).toBe(accepted.length + duplicated.length); // and nothing it was not asked to send
  }, 120_000);

  it('SIGTERM drains in-flight sends and keeps the rest queued: nothing lost, nothing sent twice', async () => {
    const port = Number(new URL(gateway!.url).port);
    await gateway!.stop();
    sim!.reset();
    gateway = await startGateway(port, sim!.url);
    const accepted = await postBacklog(gateway.url, '651');
    await new Promise((r) => setTimeout(r, 300));
    const exit = new Promise<number | null>((r) => gateway!.process.once('exit', (code) => r(code)));
    gateway.process.kill('SIGTERM');
    expect(await exit).toBe(0);
    const sentAtStop = totalAccepted(sim!);
    expect(sentAtStop).toBeLessThan(accepted.length);
    gateway = await startGateway(port, sim!.url);
    const deadline = Date.now() + 60_000;
    while (!allReachedUpstream(sim!, accepted) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    expect(totalAccepted(sim!)).toBe(accepted.length); // exactly once: a graceful stop repeats nothing
    const pairs = sim!.stats().pairs;
    expect(accepted.filter((m) => pairs[m.number]?.[m.to]?.accepted !== 1)).toEqual([]);
  }, 120_000);
});

/** From the store file, read while no gateway holds it: unfinished records, and the recipients of those left `sending`. */
function storeAtKill(): { unfinished: number; sending: Set<string> } {
  const db = new Database(join(dataDir, DB_FILE), { fileMustExist: true });
  try {
    const { n } = db.prepare("SELECT count(*) AS n FROM messages WHERE state IN ('queued', 'sending')").get() as { n: number };
    const rows = db.prepare("SELECT to_digits FROM messages WHERE state = 'sending'").all() as Array<{ to_digits: string }>;
    return { unfinished: n, sending: new Set(rows.map((r) => r.to_digits)) };
  } finally {
    db.close();
  }
}

function allReachedUpstream(s: Simulator, accepted: Accepted[]): boolean {
  const pairs = s.stats().pairs;
  return accepted.every((m) => (pairs[m.number]?.[m.to]?.accepted ?? 0) > 0);
}

function totalAccepted(s: Simulator): number {
  return s.stats().totals.accepted;
}
