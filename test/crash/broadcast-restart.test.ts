/**
 * kill -9 the gateway in the middle of a broadcast and start it again on the same data dir: the
 * broadcast resumes by itself and ends `completed`; every recipient has exactly one message in the
 * store (admitted once, across the crash); the upstream saw every recipient, and a second copy
 * only of a message that was in flight (`sending`) at the kill, as for any send.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type Child } from '../../bench/macro/processes.js';
import { startCrashGateway } from '../support/crash-gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { DB_FILE } from '../../src/store/embedded/database.js';
import { call, employee, waitForBroadcast } from '../broadcasts/support.js';

const API_KEY = 'key-acme-test-1';
const NUMBER = '1001';
const RECIPIENTS = 1500;
/** Slow enough that the kill lands mid-run however slow the machine, fast enough to end in seconds. */
const MPS = 300;

let sim: Simulator | undefined;
let gateway: Child | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'sendgate-broadcast-crash-'));
afterAll(async () => {
  await gateway?.stop();
  await sim?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function start(port: number, simUrl: string): Promise<Child> {
  return startCrashGateway({
    port, dataDir, simUrl,
    tenants: [{
      id: 'acme', apiKeys: [API_KEY], messagingLimit: 'unlimited', policy: { optIn: 'off' },
      numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-acme', mps: MPS, burst: 30 }],
    }],
  });
}

describe('broadcast across kill -9', () => {
  it('resumes after a restart: nothing admitted twice, nothing lost', async () => {
    sim = await startSimulator({ numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-acme' }] });
    const port = await freePort();
    gateway = await start(port, sim.url);
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({
      to: employee(i),
      components: [{ type: 'body', parameters: [{ type: 'text', text: `employee ${i}` }] }],
    }));
    const created = await call(gateway.url, 'POST', '/v1/broadcasts', {
      phone_number_id: NUMBER, category: 'utility', recipients,
      message: { messaging_product: 'whatsapp', type: 'template', template: { name: 'payslip', language: { code: 'en' } } },
    }, { authorization: `Bearer ${API_KEY}`, 'idempotency-key': 'payslips-11' });
    expect(created.status).toBe(201);
    const id = created.json.id as string;

    // Kill once a few hundred have gone and most are still to go.
    const until = Date.now() + 20_000;
    while (sim.stats().totals.accepted < 300 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    gateway.process.kill('SIGKILL');
    await new Promise((r) => gateway!.process.once('exit', r));
    const sentAtKill = sim.stats().totals.accepted;
    expect(sentAtKill).toBeLessThan(RECIPIENTS);
    const inFlightAtKill = sendingAtKill();

    gateway = await start(port, sim.url);
    // The same request again after the restart is still the same broadcast.
    const again = await call(gateway.url, 'POST', '/v1/broadcasts', {
      phone_number_id: NUMBER, category: 'utility', recipients,
      message: { messaging_product: 'whatsapp', type: 'template', template: { name: 'payslip', language: { code: 'en' } } },
    }, { authorization: `Bearer ${API_KEY}`, 'idempotency-key': 'payslips-11' });
    expect(again.json.id).toBe(id);

    const done = await waitForBroadcast(gateway.url, id, (v) => v.state === 'completed', 60_000);
    expect(done.counts).toMatchObject({ sent: RECIPIENTS, queued: 0, pending: 0, failed: 0, rejected: 0, expired: 0 });

    // One message per recipient in the store, each with the recipient's own parameters (read once the gateway let go of the file).
    await gateway.stop();
    const db = new Database(join(dataDir, DB_FILE), { readonly: true, fileMustExist: false });
    try {
      const rows = db.prepare('SELECT to_digits AS "to", count(*) AS n, max(body) AS body FROM messages GROUP BY to_digits').all() as Array<{ to: string; n: number; body: string }>;
      expect(rows.length).toBe(RECIPIENTS);
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      const sample = rows.find((r) => r.to === employee(1234).slice(1))!;
      expect(JSON.parse(sample.body).template.components[0].parameters[0].text).toBe('employee 1234');
    } finally {
      db.close();
    }
    // The upstream: everyone once; a second copy only of what was in flight at the kill.
    const pairs = sim.stats().pairs[NUMBER]!;
    const copies = recipients.map((r) => ({ to: r.to.slice(1), n: pairs[r.to.slice(1)]?.accepted ?? 0 }));
    expect(copies.filter((c) => c.n === 0)).toEqual([]);
    const twice = copies.filter((c) => c.n > 1);
    expect(twice.filter((c) => c.n > 2 || !inFlightAtKill.has(c.to))).toEqual([]);
    expect(sim.stats().totals.accepted).toBe(RECIPIENTS + twice.length);
  }, 120_000);
});

/** Recipients whose message was `sending` (in flight) when the process died, read from its store file. */
function sendingAtKill(): Set<string> {
  const db = new Database(join(dataDir, DB_FILE), { fileMustExist: true });
  try {
    const rows = db.prepare("SELECT to_digits FROM messages WHERE state = 'sending'").all() as Array<{ to_digits: string }>;
    return new Set(rows.map((r) => r.to_digits));
  } finally {
    db.close();
  }
}
