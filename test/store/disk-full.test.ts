/**
 * The embedded store on a full disk, in a child process that must survive: writes are refused
 * with STORAGE_UNAVAILABLE (ingress answers 503), the purge and probe timers keep running without
 * throwing, and the purge, run on the full disk, frees room that new messages then use.
 * The child runs the current src/ code, transpiled (type-stripping only) into a temp dir.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { transpileChild } from '../support/transpile-child.js';

const work = mkdtempSync(join(tmpdir(), 'sendgate-store-full-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('embedded store on a full disk', () => {
  it('no crash: writes refused 503-style, timers keep running, healthy again once there is room', () => {
    const childJs = transpileChild('test/store/disk-full-child.ts', join(work, 'build'));
    const run = spawnSync(process.execPath, [childJs, join(work, 'data')], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const [full, purged, freed] = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(full).toEqual({ phase: 'full', refused: ['STORAGE_UNAVAILABLE'] });
    expect(purged).toEqual({ phase: 'purged', accepted: 'created', healthy: true });
    expect(freed).toEqual({ phase: 'freed', accepted: 'created' });
  });
});
