import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { SqliteSeenMarks } from '../../src/webhooks/meta/seen-marks.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SqliteSeenMarks', () => {
  it('sees buffered and written marks, forgets them after the TTL, and keeps them across reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-marks-'));
    dirs.push(dir);
    let nowMs = 1_000_000;
    const open = () => {
      const db = openWebhooksDb(dir);
      return { db, marks: new SqliteSeenMarks(db, { ttlMs: 10_000, flushEveryMs: 60_000, nowMs: () => nowMs }) };
    };
    const first = open();
    first.marks.mark(['s:w1:sent', 'm:it\'s "quoted" ü'], nowMs);
    expect(await first.marks.seen(['s:w1:sent', 's:w1:read'])).toEqual(new Set(['s:w1:sent']));
    first.marks.close();
    first.db.close();

    const second = open();
    expect(await second.marks.seen(['s:w1:sent', 'm:it\'s "quoted" ü', 'x'])).toEqual(new Set(['s:w1:sent', 'm:it\'s "quoted" ü']));
    nowMs += 10_001;
    expect(await second.marks.seen(['s:w1:sent'])).toEqual(new Set());
    expect(await second.marks.seen([])).toEqual(new Set());
    second.marks.close();
    second.db.close();
  });
});
