/**
 * Everything the simulator knows about one business phone number: its resolved limits and faults
 * (computed at config time), its throughput TAT, its per-recipient pair limiter and service windows,
 * its PRNG stream, and what it measured.
 */
import type { SimConfig, SimFaults, SimNumber } from './config.js';
import { resolveFaults, type ResolvedFaults } from './faults.js';
import { KeyedGcra } from './gcra.js';
import { streamFor, type Random } from './prng.js';
import { SlidingMax } from './sliding-count.js';

export interface PairStats {
  accepted: number;
  refused: number;
  /** Most accepts to this recipient inside any window of `pairWindowMs`. */
  maxInWindow: number;
}

export interface NumberStatsView {
  accepted: number;
  /** Refusals (and injected errors) by Meta code. */
  refused: Record<string, number>;
  timeouts: number;
  resets: number;
  inbound: number;
  markedRead: number;
  firstAcceptMs: number | null;
  lastAcceptMs: number | null;
  /** Most accepted sends in any sliding 1 s window (at most about mps + burst for a conforming sender). */
  maxPerSec: number;
  /** Most accepts to one recipient in any window of `pairWindowMs`. */
  maxPairInWindow: number;
  pairWindowMs: number;
  mps: number;
  burst: number;
}

class PairCounter implements PairStats {
  accepted = 0;
  refused = 0;
  readonly window: SlidingMax;
  constructor(windowMs: number) {
    this.window = new SlidingMax(windowMs);
  }
  get maxInWindow(): number {
    return this.window.max;
  }
}

export class NumberState {
  readonly phoneNumberId: string;
  readonly authorization: string;
  readonly displayPhoneNumber: string;
  readonly wabaId: string;
  readonly mps: number;
  readonly burst: number;
  /** 1000 / mps, precomputed: the throughput GCRA's emission interval. */
  readonly intervalMs: number;
  readonly pairIntervalMs: number;
  readonly pairBurst: number;
  readonly serviceWindow: 'off' | 'sync' | 'async';
  readonly serviceWindowMs: number;
  /** Replaced in place when faults change at run time; limiter state stays. */
  faults: ResolvedFaults;
  readonly random: Random;

  tatMs = -Infinity;
  /** Requests that came in (for `arrivalDelay`). */
  arrivals = 0;
  readonly pairs: KeyedGcra;
  /** Recipient → time of the user's last inbound message (opens the 24 h window). */
  readonly lastInboundMs = new Map<string, number>();

  // measurements
  accepted = 0;
  readonly refused = new Map<number, number>();
  timeouts = 0;
  resets = 0;
  inbound = 0;
  markedRead = 0;
  firstAcceptMs: number | null = null;
  lastAcceptMs: number | null = null;
  readonly perSec = new SlidingMax(1000);
  readonly pairStats = new Map<string, PairCounter>();

  constructor(n: SimNumber, cfg: SimConfig, globalFaults: SimFaults, readonly maxTrackedPairs: number) {
    this.phoneNumberId = n.phoneNumberId;
    this.authorization = `Bearer ${n.accessToken}`;
    this.displayPhoneNumber = n.displayPhoneNumber ?? n.phoneNumberId;
    this.wabaId = n.wabaId ?? cfg.webhook?.wabaId ?? '100000000000001';
    this.mps = n.mps ?? cfg.limits.mps;
    this.burst = n.burst ?? cfg.limits.burst;
    this.intervalMs = 1000 / this.mps;
    this.pairIntervalMs = n.pairIntervalMs ?? cfg.limits.pairIntervalMs;
    this.pairBurst = n.pairBurst ?? cfg.limits.pairBurst;
    this.serviceWindow = n.serviceWindow ?? cfg.limits.serviceWindow;
    this.serviceWindowMs = cfg.limits.serviceWindowMs;
    this.faults = resolveFaults(globalFaults, n.faults);
    this.random = streamFor(cfg.seed, n.phoneNumberId);
    this.pairs = new KeyedGcra(maxTrackedPairs);
  }

  countRefused(code: number): void {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
  }

  recordAccept(nowMs: number, recipient: string): void {
    this.accepted++;
    if (this.firstAcceptMs === null) this.firstAcceptMs = nowMs;
    this.lastAcceptMs = nowMs;
    this.perSec.add(nowMs);
    const pair = this.pairCounter(recipient);
    if (pair) {
      pair.accepted++;
      pair.window.add(nowMs);
    }
  }

  recordPairRefusal(recipient: string): void {
    const pair = this.pairCounter(recipient);
    if (pair) pair.refused++;
  }

  /** Opens (or extends) the service window; bounded like the pair table. */
  recordInbound(nowMs: number, from: string): void {
    this.inbound++;
    if (!this.lastInboundMs.has(from) && this.lastInboundMs.size >= this.maxTrackedPairs) {
      const oldest = this.lastInboundMs.keys().next();
      if (!oldest.done) this.lastInboundMs.delete(oldest.value);
    }
    this.lastInboundMs.delete(from); // re-insert so Map order stays oldest-first
    this.lastInboundMs.set(from, nowMs);
  }

  windowOpen(nowMs: number, recipient: string): boolean {
    const last = this.lastInboundMs.get(recipient);
    return last !== undefined && nowMs - last < this.serviceWindowMs;
  }

  view(): NumberStatsView {
    let maxPair = 0;
    for (const p of this.pairStats.values()) if (p.maxInWindow > maxPair) maxPair = p.maxInWindow;
    return {
      accepted: this.accepted,
      refused: Object.fromEntries([...this.refused].map(([c, n]) => [String(c), n])),
      timeouts: this.timeouts,
      resets: this.resets,
      inbound: this.inbound,
      markedRead: this.markedRead,
      firstAcceptMs: this.firstAcceptMs,
      lastAcceptMs: this.lastAcceptMs,
      maxPerSec: this.perSec.max,
      maxPairInWindow: maxPair,
      pairWindowMs: this.pairWindowMs(),
      mps: this.mps,
      burst: this.burst,
    };
  }

  pairViews(): Record<string, PairStats> {
    const out: Record<string, PairStats> = {};
    for (const [r, p] of this.pairStats) out[r] = { accepted: p.accepted, refused: p.refused, maxInWindow: p.maxInWindow };
    return out;
  }

  private pairWindowMs(): number {
    return this.pairIntervalMs > 0 ? this.pairIntervalMs : 6000;
  }

  private pairCounter(recipient: string): PairCounter | undefined {
    let p = this.pairStats.get(recipient);
    if (!p) {
      if (this.pairStats.size >= this.maxTrackedPairs) return undefined; // stats only: limits stay exact
      p = new PairCounter(this.pairWindowMs());
      this.pairStats.set(recipient, p);
    }
    return p;
  }
}
