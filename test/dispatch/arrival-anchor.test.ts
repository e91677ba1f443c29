import { describe, expect, it } from 'vitest';
import { ArrivalAnchor } from '../../src/dispatch/arrival-anchor.js';

const T = 50; // 20 mps

describe('ArrivalAnchor', () => {
  it('pushes back by how late the latest-bounded arrival may have been, less the usual answer time', () => {
    const a = new ArrivalAnchor();
    a.restart();
    // A burst of 3 from an idle bucket at t=1000: slots 1000, 1050, 1100.
    const slots = [1050, 1100, 1150].map((tat) => a.slotOf(tat, T));
    expect(slots).toEqual([1000, 1050, 1100]);
    // The first answer comes back at 1160 with answers usually taking 10 ms: it arrived by 1150,
    // 150 ms after its slot.
    expect(a.answered(slots[0]!, 1160, 10)).toBe(150);
    // The others bound less: nothing more.
    expect(a.answered(slots[1]!, 1165, 10)).toBe(0);
    expect(a.answered(slots[2]!, 1170, 10)).toBe(0);
  });

  it('pushes back further when faster answers lower the usual answer time', () => {
    const a = new ArrivalAnchor();
    a.restart();
    const slot = a.slotOf(1050, T);
    expect(a.answered(slot, 1100, 40)).toBe(60);
    // A later departure's slot is taken on the pushed-back bucket: its own bound is compared
    // without the push-back.
    const later = a.slotOf(1050 + 60 + 900, T);
    expect(later).toBe(1000 + 900);
    expect(a.answered(later, 1905, 2)).toBe(38); // the first answer now says 100 − 2: 38 more
  });

  it('does nothing for requests that left a bucket ahead of their slot, and starts over after idle', () => {
    const a = new ArrivalAnchor();
    a.restart();
    expect(a.answered(a.slotOf(2000, T), 1100, 0)).toBe(0); // slot 1950, answered at 1100
    expect(a.answered(a.slotOf(1050, T), 1300, 0)).toBe(300);
    a.restart();
    expect(a.answered(a.slotOf(5050, T), 5010, 0)).toBe(10);
  });
});
