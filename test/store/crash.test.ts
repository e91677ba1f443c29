/**
 * kill -9 in the middle of a write stream: every write the store acknowledged must be there after
 * reopening, and the database must be intact.
 *
 * The child runs the current src/ code: this test transpiles the store's sources into a temp dir
 * (type-stripping only) so it never depends on a stale dist/ build.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transpileChild } from '../support/transpile-child.js';
import { systemClock } from '../../src/clock.js';
import { DB_FILE } from '../../src/store/embedded/database.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { bodyFor } from './crash-body.js';

const CHILD = 'test/store/crash-child.ts';
const ROUNDS = 3;
/** Kill once at least this many enqueues were acknowledged (mid-stream: many more are in flight). */
const ACKS_BEFORE_KILL = 400;

let work: string;


interface RoundResult {
  enqueued: string[];
  sent: Map<string, string>;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child until it acknowledged ACKS_BEFORE_KILL enqueues, then SIGKILLs it. */
function runAndKill(childJs: string, dataDir: string, prefix: string): Promise<RoundResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [childJs, dataDir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (child.killed) return;
      // A cheap count of acknowledged enqueues: lines starting with `E `.
      const acks = stdout.split('\nE ').length - 1 + (stdout.startsWith('E ') ? 1 : 0);
      if (acks >= ACKS_BEFORE_KILL) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      // Only complete lines are acknowledgements; a torn last line is not.
      const lines = stdout.split('\n').slice(0, -1);
      const enqueued: string[] = [];
      const sent = new Map<string, string>();
      for (const line of lines) {
        const [kind, id, wamid] = line.split(' ');
        if (kind === 'E' && id !== undefined) enqueued.push(id);
        else if (kind === 'S' && id !== undefined && wamid !== undefined) sent.set(id, wamid);
      }
      resolvePromise({ enqueued, sent, signal, stderr });
    });
  });
}

describe('embedded store under kill -9', () => {
  let childJs: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'sendgate-crash-'));
    childJs = transpileChild(CHILD, join(work, 'build'));
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('keeps every acknowledged write across repeated SIGKILLs, with an intact database', async () => {
    const dataDir = join(work, 'data');
    const allEnqueued: string[] = [];
    const allSent = new Map<string, string>();
    for (let round = 0; round < ROUNDS; round++) {
      const result = await runAndKill(childJs, dataDir, `r${round}`);
      expect(result.stderr).toBe('');
      expect(result.signal).toBe('SIGKILL');
      expect(result.enqueued.length).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);
      allEnqueued.push(...result.enqueued);
      for (const [id, wamid] of result.sent) allSent.set(id, wamid);

      // Reopen exactly as a restarted gateway would: WAL recovery happens here.
      const store = new EmbeddedStore({ path: dataDir, clock: systemClock });
      try {
        for (const id of allEnqueued) {
          const record = await store.get('crash', id);
          expect(record, `acknowledged ${id} lost`).not.toBeNull();
          expect(record!.body).toBe(bodyFor(id));
        }
        for (const [id, wamid] of allSent) {
          expect((await store.findByWamid(wamid))?.id, `acknowledged sent ${id} lost`).toBe(id);
        }
        const unfinished = await store.unfinished();
        expect(unfinished.every((r) => r.state === 'queued' || r.state === 'sending')).toBe(true);
        const ackedUnsent = allEnqueued.filter((id) => !allSent.has(id));
        const unfinishedIds = new Set(unfinished.map((r) => r.id));
        for (const id of ackedUnsent) {
          // An acked enqueue may also have been sent in a commit whose ack was lost in the kill.
          if (!unfinishedIds.has(id)) expect((await store.get('crash', id))?.state).toBe('sent');
        }
      } finally {
        await store.close();
      }
      const check = new Database(join(dataDir, DB_FILE), { readonly: true });
      try {
        expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        check.close();
      }
    }
  });
});
