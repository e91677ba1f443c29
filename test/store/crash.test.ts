/**
 * kill -9 in the middle of a write stream: every write the store acknowledged must be there after
 * reopening, and the database must be intact.
 *
 * The child runs the current src/ code: this test transpiles the store's sources into a temp dir
 * (type-stripping only) so it never depends on a stale dist/ build.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { DB_FILE } from '../../src/store/embedded/database.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { bodyFor } from './crash-body.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = 'test/store/crash-child.ts';
const ROUNDS = 3;
/** Kill once at least this many enqueues were acknowledged (mid-stream: many more are in flight). */
const ACKS_BEFORE_KILL = 400;

let work: string;

/** Relative module specifiers of a source file (`from './x.js'`, `import('./y.js')`). */
function relativeImports(source: string): string[] {
  return [...source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
}

/**
 * Transpiles the child and, following its relative imports, everything it loads into `out`
 * (same tree, type-stripping only), with node_modules linked so bare imports resolve.
 */
function buildChild(out: string): string {
  const pending = [join(ROOT, CHILD)];
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
    for (const spec of relativeImports(source)) pending.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  return join(out, CHILD).replace(/\.ts$/, '.js');
}

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
    childJs = buildChild(join(work, 'build'));
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
