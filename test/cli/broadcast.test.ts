/**
 * `sendgate broadcast` as a user runs it: the built CLI in its own process, a CSV file, a running
 * gateway and the simulator. Plans, follows to the end, personalises from columns; bad usage is
 * exit code 2 and a gateway refusal exit code 1.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../../bench/macro/processes.js';
import { API_KEY, NUMBER, OTHER_NUMBER, startStack, TOKEN, type Stack } from '../support/stack.js';

const run = promisify(execFile);
let s: Stack;
const dir = mkdtempSync(join(tmpdir(), 'sendgate-cli-broadcast-'));

beforeAll(async () => {
  const numbers = [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 500, burst: 50 }];
  s = await startStack({ numbers, gateway: { tenants: [{ id: 'acme', apiKeys: [API_KEY], messagingLimit: 'unlimited', policy: { optIn: 'off' }, numbers }] } });
});
afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'broadcast', ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('sendgate broadcast', () => {
  it('plans a CSV, then sends it with per-row parameters and follows it to the end', async () => {
    const file = join(dir, 'staff.csv');
    const rows = Array.from({ length: 200 }, (_, i) => `+1 415 560 ${String(1000 + i)},Person ${i},${i % 3 === 0 ? 'Lisbon' : 'Porto'}`);
    writeFileSync(file, `phone,name,office\n${rows.join('\n')}\n+1 415 560 1000,Duplicate,Lisbon\nnot-a-phone,Nobody,Porto\n`);
    const common = [file, '--number', NUMBER, '--template', 'office_news', '--param', 'name', '--param', 'office', '--url', s.gateway.url, '--api-key', API_KEY];

    const dry = await cli([...common, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/plan for 202 recipients/);
    expect(dry.stdout).toMatch(/excluded\s+opted_out 0, invalid 1, duplicate 1/);
    expect(dry.stdout).toMatch(/sendable now\s+200/);
    expect(s.sim.stats().totals.accepted).toBe(0);

    const sent = await cli(common);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(/broadcast bc_\S+ completed: .*sent 200/);
    expect(s.sim.stats().totals.accepted).toBe(200);
    const record = (await s.gateway.store.unfinished()).length;
    expect(record).toBe(0);
  });

  it('exits 2 on bad usage and 1 when the gateway refuses', async () => {
    const file = join(dir, 'one.csv');
    writeFileSync(file, 'to\n+14155601999\n');
    expect((await cli([file, '--template', 'x', '--api-key', API_KEY])).code).toBe(2);
    const missing = await cli([file, '--number', NUMBER, '--template', 'x', '--param', 'name', '--url', s.gateway.url, '--api-key', API_KEY]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no column 'name'/);
    const refused = await cli([file, '--number', OTHER_NUMBER, '--template', 'x', '--url', s.gateway.url, '--api-key', API_KEY]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/404 Unknown phone number id/);
  });
});
