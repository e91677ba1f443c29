/**
 * Fault injection, resolved once per number at config time (global faults merged with the
 * number's overrides) so the request path only rolls dice against precomputed tables.
 */
import type { SimFaults, SimLatency, SimPhase } from './config.js';
import type { Random } from './prng.js';

/** What a request draws before any limit is checked. */
export type InjectedFault = { kind: 'none' } | { kind: 'timeout' } | { kind: 'reset' } | { kind: 'error'; code: number };

const NONE: InjectedFault = { kind: 'none' };
const TIMEOUT: InjectedFault = { kind: 'timeout' };
const RESET: InjectedFault = { kind: 'reset' };

interface CodeRate {
  code: number;
  /** Cumulative upper bound of this code's slice of [0, 1). */
  upTo: number;
  fault: InjectedFault;
}

export interface ResolvedFaults {
  readonly latency: SimLatency | undefined;
  readonly timeoutRate: number;
  readonly resetRate: number;
  readonly errors: readonly CodeRate[];
  readonly asyncErrors: readonly CodeRate[];
  readonly phases: readonly SimPhase[];
  /** The number's first requests are looked at late (config.ts `arrivalDelay`). */
  readonly arrivalDelay: { requests: number; delayMs: number } | undefined;
  /** True when nothing can be injected: the request path skips every roll. */
  readonly none: boolean;
}

function cumulative(rates: Record<string, number> | undefined): CodeRate[] {
  const out: CodeRate[] = [];
  let acc = 0;
  for (const [code, rate] of Object.entries(rates ?? {})) {
    if (rate <= 0) continue;
    acc += rate;
    out.push({ code: Number(code), upTo: acc, fault: { kind: 'error', code: Number(code) } });
  }
  return out;
}

/** Number-level keys replace global ones key by key. */
export function resolveFaults(global: SimFaults | undefined, own: SimFaults | undefined): ResolvedFaults {
  const f: SimFaults = { ...(global ?? {}), ...(own ?? {}) };
  const latency = f.latency;
  const errors = cumulative(f.errorRates);
  const asyncErrors = cumulative(f.asyncErrorRates);
  const phases = f.phases ?? [];
  const timeoutRate = f.timeoutRate ?? 0;
  const resetRate = f.resetRate ?? 0;
  const none = latency === undefined && errors.length === 0 && asyncErrors.length === 0 && phases.length === 0 && timeoutRate === 0 && resetRate === 0;
  return { latency, timeoutRate, resetRate, errors, asyncErrors, phases, arrivalDelay: f.arrivalDelay, none };
}

function pick(table: readonly CodeRate[], roll: number): CodeRate | undefined {
  for (const entry of table) if (roll < entry.upTo) return entry;
  return undefined;
}

/** Scheduled phases first (they model outages), then timeouts, resets and coded errors. */
export function drawFault(f: ResolvedFaults, sinceStartMs: number, random: Random): InjectedFault {
  for (const p of f.phases) {
    if (sinceStartMs >= p.startMs && sinceStartMs < p.startMs + p.durationMs && random() < (p.rate ?? 1)) {
      return { kind: 'error', code: p.code };
    }
  }
  if (f.timeoutRate > 0 && random() < f.timeoutRate) return TIMEOUT;
  if (f.resetRate > 0 && random() < f.resetRate) return RESET;
  if (f.errors.length > 0) {
    const hit = pick(f.errors, random());
    if (hit) return hit.fault;
  }
  return NONE;
}

/** The code of an asynchronous failure for an accepted message, or 0. */
export function drawAsyncError(f: ResolvedFaults, random: Random): number {
  if (f.asyncErrors.length === 0) return 0;
  return pick(f.asyncErrors, random())?.code ?? 0;
}

export function drawLatencyMs(latency: SimLatency | undefined, random: Random): number {
  if (latency === undefined) return 0;
  switch (latency.kind) {
    case 'fixed':
      return latency.ms;
    case 'uniform':
      return latency.minMs + random() * Math.max(0, latency.maxMs - latency.minMs);
    case 'mix': {
      let total = 0;
      for (const part of latency.parts) total += part.weight;
      let roll = random() * total;
      for (const part of latency.parts) {
        roll -= part.weight;
        if (roll < 0) return part.minMs + random() * Math.max(0, part.maxMs - part.minMs);
      }
      const last = latency.parts[latency.parts.length - 1]!;
      return last.maxMs;
    }
  }
}
