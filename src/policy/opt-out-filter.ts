/**
 * Who may have opted out, answered in memory: a Bloom filter over (tenant, recipient) of every
 * opt-out recorded. "No" is certain, so a marketing template to someone who never opted out needs
 * no consent read; "maybe" falls through to the consent table. An opt-in after an opt-out cannot
 * be taken out (a false "maybe", answered by the read). Fixed size whatever the number of records.
 *
 * Measured: at 4,000 marketing sends/s to distinct recipients (bench/macro/capacity), the consent
 * read at departure was 2.6 % of the gateway's CPU (cache misses, one SQLite read each).
 */

/** 2^24 bits = 2 MiB: with 1,000,000 opt-outs and 3 probes, about 0.4 % false "maybe". */
const BITS_LOG2 = 24;
const PROBES = 3;

function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class OptOutFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;

  constructor(bitsLog2 = BITS_LOG2) {
    this.bits = new Uint32Array((1 << bitsLog2) >>> 5);
    this.mask = (1 << bitsLog2) - 1;
  }

  add(tenantId: string, recipient: string): void {
    this.probe(tenantId, recipient, true);
  }

  /** False: certainly never opted out. True: maybe (read the consent record). */
  mayContain(tenantId: string, recipient: string): boolean {
    return this.probe(tenantId, recipient, false);
  }

  private probe(tenantId: string, recipient: string, set: boolean): boolean {
    const key = `${tenantId}\n${recipient}`;
    // Double hashing: probe i at h1 + i·h2 (h2 odd, so the probes differ).
    const h1 = fnv1a(key, 0x811c9dc5);
    const h2 = fnv1a(key, 0x5bd1e995) | 1;
    let all = true;
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      const word = bit >>> 5;
      const flag = 1 << (bit & 31);
      if (set) this.bits[word]! |= flag;
      else if ((this.bits[word]! & flag) === 0) all = false;
    }
    return all;
  }
}
