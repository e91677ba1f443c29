/**
 * kill -9 in the middle of an append stream: every append and every delivered-settle the outbox
 * acknowledged must hold after reopening, and the database must be intact.
 * The child runs the current src/ code, transpiled (type-stripping only) into a temp dir.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transpileChild } from '../support/transpile-child.js';
import { openWebhooksDb } from '../../src/webhooks/db.js';

const CHILD = 'test/webhooks/outbox-crash-child.ts';
const ACKS_BEFORE_KILL = 300;

let work: string;
let childJs: string;


function runAndKill(dataDir: string, prefix: string): Promise<{ stdout: string; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [childJs, dataDir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let acks = 0;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stdout += text;
      acks += text.split('\n').filter((l) => l.startsWith('A ')).length;
      if (acks >= ACKS_BEFORE_KILL && !child.killed) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolvePromise({ stdout, signal, stderr });
    });
  });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sendgate-outbox-crash-'));
  childJs = transpileChild(CHILD, join(work, 'build'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('outbox under kill -9', () => {
  it('keeps every acknowledged append and delivered-settle, across two crashes', async () => {
    const dataDir = join(work, 'data');
    const appended = new Map<string, number>();
    const delivered = new Set<number>();
    const requested = new Set<number>();
    for (const prefix of ['a', 'b']) {
      const { stdout, signal, stderr } = await runAndKill(dataDir, prefix);
      expect(stderr).toBe('');
      expect(signal).toBe('SIGKILL');
      for (const line of stdout.split('\n')) {
        const [kind, x, y] = line.split(' ');
        if (kind === 'A') appended.set(x!, Number(y));
        else if (kind === 'D') delivered.add(Number(x));
        else if (kind === 'R') requested.add(Number(x));
      }
    }
    expect(appended.size).toBeGreaterThanOrEqual(2 * ACKS_BEFORE_KILL);
    expect(delivered.size).toBeGreaterThan(0);
    const db = openWebhooksDb(dataDir);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const rows = new Map((db.prepare('SELECT event_id, seq FROM tenant_outbox').all() as Array<{ event_id: string; seq: number }>).map((r) => [r.event_id, r.seq]));
      let mustExist = 0;
      for (const [eventId, seq] of appended) {
        if (!delivered.has(seq) && !requested.has(seq)) mustExist++;
        if (delivered.has(seq)) expect(rows.has(eventId), `${eventId} was settled delivered`).toBe(false);
        else if (!requested.has(seq)) expect(rows.get(eventId), `${eventId} acknowledged but missing`).toBe(seq);
      }
      expect(mustExist).toBeGreaterThan(ACKS_BEFORE_KILL);
      // The second process continued the sequence: seq never goes back after a crash.
      const maxA = Math.max(...[...appended].filter(([id]) => id.startsWith('a-')).map(([, s]) => s));
      const minB = Math.min(...[...appended].filter(([id]) => id.startsWith('b-')).map(([, s]) => s));
      expect(minB).toBeGreaterThan(maxA);
    } finally {
      db.close();
    }
  });
});
