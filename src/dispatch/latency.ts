/**
 * Upstream latency, tracked continuously: a log-bucketed histogram whose counts decay with a
 * half-life, so a quantile describes the last few half-lives rather than the whole run. One per
 * lane and one for the whole dispatcher; fixed size (LATENCY_BUCKETS doubles), no allocation per
 * sample.
 *
 * Buckets grow by 2^(1/4) (≈ 19 %) from 1 ms: bucket i holds (GROWTH^(i-1), GROWTH^i] ms, so a
 * quantile is over-estimated by at most 19 %, which is the safe side for sizing in-flight capacity.
 * 80 buckets reach 2^20 ms (≈ 17 min), well past any request timeout.
 */

/** Histograms forget with this half-life: a quantile describes roughly the last minute. */
export const LATENCY_HALF_LIFE_MS = 15_000;
const BUCKETS_PER_DOUBLING = 4;
const LATENCY_BUCKETS = 80;
const GROWTH = 2 ** (1 / BUCKETS_PER_DOUBLING);
/** Below this much weight a quantile is not trusted and the prior is answered instead. */
const MIN_WEIGHT = 8;

function bucketOf(ms: number): number {
  if (ms <= 1) return 0;
  const i = Math.ceil(Math.log2(ms) * BUCKETS_PER_DOUBLING);
  return i >= LATENCY_BUCKETS ? LATENCY_BUCKETS - 1 : i;
}

/** Upper bound (ms) of bucket i. */
function upperMs(i: number): number {
  return GROWTH ** i;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(LATENCY_BUCKETS);
  private weight = 0;
  private decayedAtMs: number;
  /** Cached quantiles, recomputed at most every `cacheMs` (a lane asks on every run). */
  private readonly cache = new Map<number, number>();
  private cachedAtMs = Number.NEGATIVE_INFINITY;

  /**
   * @param halfLifeMs how fast old samples fade (their weight halves every halfLifeMs)
   * @param priorMs what quantile() answers before there is enough data
   */
  constructor(
    private readonly halfLifeMs: number,
    private readonly priorMs: number,
    nowMs: number,
    private readonly cacheMs = 100,
  ) {
    this.decayedAtMs = nowMs;
  }

  record(latencyMs: number, nowMs: number): void {
    this.decay(nowMs);
    this.counts[bucketOf(latencyMs)]! += 1;
    this.weight += 1;
  }

  /** Samples in the histogram after decay (fractional). */
  samples(): number {
    return this.weight;
  }

  /**
   * The q-quantile in ms (upper bucket bound, so never below the true value by more than the
   * bucket width); `priorMs` until MIN_WEIGHT samples are in.
   */
  quantile(q: number, nowMs: number): number {
    if (nowMs - this.cachedAtMs < this.cacheMs) {
      const hit = this.cache.get(q);
      if (hit !== undefined) return hit;
    } else {
      this.cache.clear();
      this.cachedAtMs = nowMs;
    }
    this.decay(nowMs);
    let answer = this.priorMs;
    if (this.weight >= MIN_WEIGHT) {
      const target = q * this.weight;
      let acc = 0;
      answer = upperMs(LATENCY_BUCKETS - 1);
      for (let i = 0; i < LATENCY_BUCKETS; i++) {
        acc += this.counts[i]!;
        if (acc >= target) {
          answer = upperMs(i);
          break;
        }
      }
    }
    this.cache.set(q, answer);
    return answer;
  }

  /** The lower bound (ms) of the q-quantile's bucket, never above the true value; 0 until MIN_WEIGHT samples are in. */
  floorMs(q: number, nowMs: number): number {
    this.decay(nowMs);
    return this.weight >= MIN_WEIGHT ? this.quantile(q, nowMs) / GROWTH : 0;
  }

  /** Halves every count once per elapsed half-life (lazily, so an idle histogram costs nothing). */
  private decay(nowMs: number): void {
    const elapsed = nowMs - this.decayedAtMs;
    if (elapsed < this.halfLifeMs) return;
    const halvings = Math.floor(elapsed / this.halfLifeMs);
    this.decayedAtMs += halvings * this.halfLifeMs;
    const factor = halvings >= 64 ? 0 : 0.5 ** halvings;
    this.weight = 0;
    for (let i = 0; i < LATENCY_BUCKETS; i++) {
      const c = this.counts[i]! * factor;
      this.counts[i] = c < 1e-6 ? 0 : c;
      this.weight += this.counts[i]!;
    }
  }
}
