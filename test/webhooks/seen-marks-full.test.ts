/**
 * A full disk under the Meta dedupe-mark flush timer: the process keeps running, the failure is
 * reported and counted, and the marks are written once there is room again.
 * The child runs the current src/ code, transpiled (type-stripping only) into a temp dir.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { transpileChild } from '../support/transpile-child.js';

const work = mkdtempSync(join(tmpdir(), 'sendgate-marks-full-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('dedupe marks on a full disk', () => {
  it('no crash: the flush failure is counted and reported, the marks are kept and written later', () => {
    const childJs = transpileChild('test/webhooks/seen-marks-full-child.ts', join(work, 'build'));
    const run = spawnSync(process.execPath, [childJs, join(work, 'data')], { encoding: 'utf8', timeout: 15_000 });
    expect(run.stderr).not.toMatch(/SQLITE_FULL|Error/);
    expect(run.status).toBe(0);
    const [full, freed] = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(full.stats.flushFailures).toBeGreaterThan(1);
    expect(full.stats.pendingMarks).toBe(500);
    expect(full.errors).toEqual(['SQLITE_FULL']);
    expect(full.seen).toBe(500); // still deduplicating from the buffer
    expect(freed.written).toBe(500);
    expect(freed.stats).toMatchObject({ pendingMarks: 0, droppedMarks: 0 });
  });
});

describe('dedupe marks while writes keep failing', () => {
  it('buffer at most maxPendingMarks, oldest dropped first and counted; the failures reach /metrics', async () => {
    const { openWebhooksDb } = await import('../../src/webhooks/db.js');
    const { SqliteSeenMarks } = await import('../../src/webhooks/meta/seen-marks.js');
    const { registerWebhookMetrics } = await import('../../src/webhooks/metrics.js');
    const { Registry } = await import('prom-client');
    const db = openWebhooksDb(join(work, 'bounded'));
    const marks = new SqliteSeenMarks(db, { flushEveryMs: 60_000, maxPendingMarks: 100 });
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    const pad = 'x'.repeat(100); // 60 such keys need a page more than the file has
    marks.mark(Array.from({ length: 60 }, (_, i) => `old-${i}-${pad}`), Date.now());
    marks.flush();
    marks.mark(Array.from({ length: 60 }, (_, i) => `new-${i}-${pad}`), Date.now());
    marks.flush();
    const stats = marks.stats();
    expect(stats.flushFailures).toBe(2);
    expect(stats.pendingMarks).toBeLessThanOrEqual(100);
    expect(stats.droppedMarks).toBe(120 - stats.pendingMarks);
    expect(await marks.seen([`new-59-${pad}`, `old-0-${pad}`])).toEqual(new Set([`new-59-${pad}`]));

    const registry = new Registry();
    const zero = { accepted: 0, badSignature: 0, invalidJson: 0, events: 0, duplicates: 0, consumerFailures: 0, ignored: new Map() };
    const tenant = { enqueued: 0, delivered: 0, failedAttempts: 0, dead: 0, pending: 0, openBreakers: 0 } as never;
    registerWebhookMetrics(registry, () => ({ meta: zero, tenant, marks: marks.stats() }));
    expect(await registry.metrics()).toMatch(/sendgate_meta_webhook_mark_flush_failures_total 2/);
    db.pragma('max_page_count = 1073741823');
    marks.close();
    db.close();
  });
});
