/**
 * The built CLI as an operator runs it (a real `sendgate` process) against a real gateway and the
 * simulator: every command's --help exits 0; exit codes tell usage, unreachable and forbidden
 * apart; tenants, keys, tokens, pause/resume and consent import do what they say through the
 * admin and consent APIs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, freePort } from '../../bench/macro/processes.js';
import { numbersTable } from '../../src/cli/status.js';
import { API_KEY, NUMBER, eventually, startStack, textBody, type Stack } from '../support/stack.js';

const ADMIN = 'admin-token-cli-test-1';
const dir = mkdtempSync(join(tmpdir(), 'sendgate-cli-cmds-'));

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the CLI without blocking this process (the gateway under test lives in it). */
function sendgate(args: string[], o: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', SENDGATE_URL: stack.gateway.url, SENDGATE_ADMIN_TOKEN: ADMIN, ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

async function sendAs(key: string, number: string, to = '+16505551234'): Promise<number> {
  const res = await request(`${stack.gateway.url}/v23.0/${number}/messages`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(textBody(to)),
  });
  await res.body.dump();
  return res.statusCode;
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    gateway: { admin: { token: ADMIN } },
    sim: { numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-acme-token' }, { phoneNumberId: '2002', accessToken: 'EAAG-other-token' }, { phoneNumberId: '3003', accessToken: 'EAAG-cli-3003' }] },
  });
});
afterAll(async () => {
  await stack?.close();
});

describe('sendgate CLI commands', () => {
  it('--help on every command and subcommand exits 0', async () => {
    const commands = [[], ['serve'], ['simulate'], ['status'], ['pause'], ['resume'], ['tenants'], ['tenants', 'list'], ['tenants', 'show'],
      ['tenants', 'create'], ['tenants', 'update'], ['tenants', 'delete'], ['tenants', 'set-token'], ['keys'], ['keys', 'list'],
      ['keys', 'create'], ['keys', 'revoke'], ['consent'], ['consent', 'import']];
    const runs = await Promise.all(commands.map((c) => sendgate([...c, '--help'])));
    runs.forEach((run, i) => {
      expect(run.code, commands[i]!.join(' ')).toBe(0);
      expect(run.stdout).toMatch(/^Usage: sendgate/);
    });
  });

  it('exit codes: 2 usage, 3 unreachable, 4 wrong admin token, 1 refused', async () => {
    expect((await sendgate(['bogus'])).code).toBe(2);
    expect((await sendgate(['tenants'])).code).toBe(2); // a group without its subcommand
    const version = await sendgate(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect((await sendgate(['tenants', 'show'])).code).toBe(2); // missing argument
    const noToken = await sendgate(['tenants', 'list'], { env: { SENDGATE_ADMIN_TOKEN: '' } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/admin token is missing/);
    const port = await freePort();
    const away = await sendgate(['tenants', 'list', '--url', `http://127.0.0.1:${port}`]);
    expect(away.code).toBe(3);
    expect(away.stderr).toMatch(/cannot reach the gateway/);
    expect((await sendgate(['tenants', 'list', '--admin-token', 'wrong-admin-token-xx'])).code).toBe(4);
    const missing = await sendgate(['tenants', 'show', 'nobody']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/404 .*Unknown tenant nobody/);
  });

  it('tenants create / list / update / set-token / delete, and keys create / list / revoke', async () => {
    const tenant = { id: 'gamma', messagingLimit: 2000, numbers: [{ phoneNumberId: '3003', accessToken: 'EAAG-cli-wrong' }] };
    const created = await sendgate(['tenants', 'create', '-'], { input: JSON.stringify(tenant) });
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ id: 'gamma', source: 'admin' });
    expect(created.stdout).not.toContain('EAAG');

    const list = await sendgate(['tenants', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^TENANT\s+SOURCE\s+LIMIT\s+NUMBERS\s+KEYS$/);
    expect(list.stdout).toMatch(/gamma\s+admin\s+2000\s+3003\s+0/);

    const patch = join(dir, 'patch.json');
    writeFileSync(patch, JSON.stringify({ deadlineSec: 600 }));
    const updated = await sendgate(['tenants', 'update', 'gamma', patch]);
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout).deadlineSec).toBe(600);

    const issued = await sendgate(['keys', 'create', 'gamma']);
    expect(issued.code).toBe(0);
    const key = issued.stdout.trim();
    expect(key).toMatch(/^sg_/);
    const keyId = /key (key_\S+) issued/.exec(issued.stderr)![1]!;
    expect(await sendAs(key, '3003')).toBe(202);

    // The wrong token drew a 190 (tenant paused); the new one, read from stdin, resumes it.
    await eventually(() => (stack.gateway.dispatcher.snapshot().find((l) => l.phoneNumberId === '3003')?.paused === true ? true : undefined));
    const token = await sendgate(['tenants', 'set-token', '3003'], { input: 'EAAG-cli-3003\n' });
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/token replaced; the tenant was paused by a 190 and sends again/);
    await eventually(async () => ((stack.sim.stats().numbers['3003']?.accepted ?? 0) > 0 ? true : undefined));

    const keys = await sendgate(['keys', 'list', 'gamma']);
    expect(keys.stdout).toContain(keyId);
    expect(keys.stdout).not.toContain(key);
    expect((await sendgate(['keys', 'revoke', 'gamma', keyId])).code).toBe(0);
    expect(await sendAs(key, '3003')).toBe(401);

    expect((await sendgate(['tenants', 'delete', 'gamma'])).code).toBe(2); // needs --yes
    expect((await sendgate(['tenants', 'delete', 'gamma', '--yes'])).code).toBe(0);
    expect((await sendgate(['tenants', 'show', 'gamma'])).code).toBe(1);
  });

  it('pause and resume a number', async () => {
    const paused = await sendgate(['pause', NUMBER]);
    expect(paused.code).toBe(0);
    expect(stack.gateway.dispatcher.snapshot().find((l) => l.phoneNumberId === NUMBER)?.paused).toBe(true);
    expect((await sendgate(['resume', NUMBER])).code).toBe(0);
    expect(stack.gateway.dispatcher.snapshot().find((l) => l.phoneNumberId === NUMBER)?.paused).toBe(false);
    expect((await sendgate(['pause', '999999'])).code).toBe(1);
  });

  it('consent import streams a ;-delimited file with a header in batches and sums it up', async () => {
    const file = join(dir, 'consent.csv');
    const rows = ['Status;recipient;source'];
    for (let i = 0; i < 12_000; i++) rows.push(`${i % 3 === 0 ? 'opt_out' : 'opt_in'};+1555${String(1_000_000 + i)};crm`);
    writeFileSync(file, `\ufeff${rows.join('\r\n')}\r\n`);
    const run = await sendgate(['consent', 'import', file, '--batch-size', '5000'], { env: { SENDGATE_API_KEY: API_KEY } });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^consent import: 12000 records recorded in 3 request\(s\), 12000 changed/);
    const res = await request(`${stack.gateway.url}/v1/consent/+15551000003`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(await res.body.json()).toMatchObject({ status: 'opt_out', source: 'crm' });
  });

  it('consent import of a ,-delimited file without header stops at a bad line and names it', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, '+15552000001,opt_in\n+15552000002,opt_in\nnot-a-number,opt_in\n');
    const run = await sendgate(['consent', 'import', file, '--batch-size', '2'], { env: { SENDGATE_API_KEY: API_KEY } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/line 3: recipient 'not-a-number' is not a valid E.164 phone number/);
    expect(run.stderr).toMatch(/2 records before line 3 were recorded/);
    expect((await sendgate(['consent', 'import', file], { env: { SENDGATE_API_KEY: '' } })).code).toBe(2);
    expect((await sendgate(['consent', 'import', file], { env: { SENDGATE_API_KEY: 'wrong-key-12345' } })).code).toBe(4);
  });

  it('status renders the documented GET /admin/numbers shape as a table', () => {
    const table = numbersTable([
      { phone_number_id: '1001', tenant: 'acme', mps: 80, burst: 80, effective_mps: 40, queue_depth: 1200, oldest_queued_age_sec: 3.25, in_flight: 12, sent_total: 5, paused: null, owner: 'gw-1' },
      { phone_number_id: '1002', tenant: 'acme', mps: 20, burst: 20, effective_mps: 0, queue_depth: 0, oldest_queued_age_sec: 0, in_flight: null, sent_total: null, paused: { by: 'upstream', code: 131048, scope: 'number' } },
    ]);
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NUMBER\s+TENANT\s+MPS\s+BURST\s+EFFECTIVE\s+QUEUED\s+OLDEST\(s\)\s+IN FLIGHT\s+PAUSED\s+OWNER$/);
    expect(lines[1]).toMatch(/^1001\s+acme\s+80\s+80\s+40\.0\s+1200\s+3\.3\s+12  -\s+gw-1$/);
    expect(lines[2]).toMatch(/^1002\s+acme\s+20\s+20\s+0\.0\s+0\s+0\.0\s+-\s+upstream \(131048\)\s+-$/);
  });

  it('status prints the live numbers table from a running gateway', async () => {
    const run = await sendgate(['status']);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/^NUMBER\s+TENANT\s+MPS/);
    expect(run.stdout).toMatch(new RegExp(`^${NUMBER}\\s+acme\\s+80\\s+80`, 'm'));
  });
});
