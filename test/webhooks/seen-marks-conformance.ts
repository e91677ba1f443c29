/**
 * The behaviour every durable SeenMarks must have (embedded SQLite, Redis, Redis Cluster).
 * `open` gives marks on a storage that outlives them: opening again after `close` is a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SeenMarks } from '../../src/webhooks/meta/seen-marks.js';

export interface OpenedMarks {
  marks: SeenMarks;
  /** Closes the marks (flushing them) and whatever they were opened on. */
  close(): Promise<void>;
}

export interface SeenMarksHarness {
  open(options: { ttlMs: number; nowMs: () => number }): Promise<OpenedMarks>;
  cleanup(): Promise<void>;
}

export function describeSeenMarksConformance(name: string, storage: () => Promise<SeenMarksHarness>): void {
  describe(`SeenMarks conformance: ${name}`, () => {
    const harnesses: SeenMarksHarness[] = [];
    afterEach(async () => {
      for (const h of harnesses.splice(0)) await h.cleanup();
    });
    const fresh = async () => {
      const h = await storage();
      harnesses.push(h);
      return h;
    };

    it('sees buffered and written marks, forgets them after the TTL, and keeps them across reopen', async () => {
      const h = await fresh();
      let nowMs = 1_000_000;
      const options = { ttlMs: 10_000, nowMs: () => nowMs };
      const first = await h.open(options);
      first.marks.mark(['s:w1:sent', 'm:it\'s "quoted" ü {braced}'], nowMs);
      expect(await first.marks.seen(['s:w1:sent', 's:w1:read'])).toEqual(new Set(['s:w1:sent']));
      await first.close();

      const second = await h.open(options);
      expect(await second.marks.seen(['s:w1:sent', 'm:it\'s "quoted" ü {braced}', 'x'])).toEqual(new Set(['s:w1:sent', 'm:it\'s "quoted" ü {braced}']));
      nowMs += 10_001;
      expect(await second.marks.seen(['s:w1:sent'])).toEqual(new Set());
      expect(await second.marks.seen([])).toEqual(new Set());
      await second.close();
    });

    it('a mark made before a restart counts for its own TTL, not one from the restart', async () => {
      const h = await fresh();
      let nowMs = 5_000_000;
      const options = { ttlMs: 10_000, nowMs: () => nowMs };
      const first = await h.open(options);
      first.marks.mark(['m:early'], nowMs - 8_000);
      first.marks.mark(['m:late'], nowMs);
      await first.close();
      const second = await h.open(options);
      nowMs += 5_000;
      expect(await second.marks.seen(['m:early', 'm:late'])).toEqual(new Set(['m:late']));
      await second.close();
    });
  });
}
