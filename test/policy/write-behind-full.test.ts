/**
 * The policy store's write-behind on a full disk, in a child process that must survive: failed
 * commits are reported (the gateway logs them), kept and written once there is room, and a
 * shutdown on a full disk reports the batch it could not commit instead of throwing.
 * The child runs the current src/ code, transpiled (type-stripping only) into a temp dir.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { transpileChild } from '../support/transpile-child.js';

const work = mkdtempSync(join(tmpdir(), 'sendgate-policy-full-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('policy write-behind on a full disk', () => {
  it('no crash: failures reported, state written when there is room, close() does not throw', () => {
    const childJs = transpileChild('test/policy/write-behind-full-child.ts', join(work, 'build'));
    const run = spawnSync(process.execPath, [childJs, join(work, 'policy.db')], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const [full, freed, closed] = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(full).toEqual({ phase: 'full', errors: ['SQLITE_FULL'], written: 0 });
    expect(freed).toEqual({ phase: 'freed', written: 300 });
    expect(closed).toEqual({ phase: 'closed', errors: ['SQLITE_FULL'] });
  });
});
