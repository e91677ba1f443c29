/** The dispatcher's one timer: a throw from a wake-up never leaves it, and it stays armed. */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { WakeTimer } from '../../src/dispatch/wake-timer.js';

describe('WakeTimer', () => {
  it('reports a throwing wake-up, still fires the others due with it, and fires later ones', async () => {
    const fired: string[] = [];
    const errors: string[] = [];
    const timer = new WakeTimer<{ atMs: number; name: string }>(
      systemClock,
      (entry) => {
        if (entry.name === 'bad') throw new Error('boom');
        fired.push(entry.name);
      },
      () => undefined,
      (err) => errors.push((err as Error).message),
    );
    const now = Date.now();
    timer.schedule({ atMs: now + 5, name: 'bad' });
    timer.schedule({ atMs: now + 5, name: 'same-batch' });
    timer.schedule({ atMs: now + 60, name: 'later' });
    await new Promise((r) => setTimeout(r, 150));
    timer.stop();
    expect(errors).toEqual(['boom']);
    expect(fired).toEqual(['same-batch', 'later']);
  });
});
