/**
 * Warm-up of young numbers: lower sliding-window caps in their first days (DESIGN "warm-up").
 * A number warms up when it has `warmup: true` or a `createdAt` date; its age counts from
 * `createdAt`, else from its first send through sendgate; `warmup: false` turns it off even with
 * a `createdAt`. A number with neither is established: no caps.
 *
 * DESIGN says warm-up delays: the dispatcher paces a young number's departures with these caps
 * (through the engine's `warmupCapsOf`, on its own core window key) and admission refuses
 * nothing for warm-up; it only records the first send, the age origin of `warmup: true` numbers.
 */
import type { NumberConfig } from '../config/schema.js';

export interface WarmupStep { untilDays: number; limit: number }
export interface WarmupSchedule { windowSec: number; steps: readonly WarmupStep[] }
export interface WarmupCaps { windowMs: number; limit: number }

/** The schema's default: 50 per 15 s on day 1, 150 until day 3, 400 until day 7, then none. */
export const DEFAULT_WARMUP: WarmupSchedule = Object.freeze({
  windowSec: 15,
  steps: Object.freeze([{ untilDays: 1, limit: 50 }, { untilDays: 3, limit: 150 }, { untilDays: 7, limit: 400 }]),
});

const DAY_MS = 86_400_000;

export interface WarmupOptions {
  /** When the number first sent through sendgate (age origin without `createdAt`); default nowMs. */
  firstSendMs?: number | undefined;
  schedule?: WarmupSchedule;
}

/** The caps that apply to `number` at `nowMs`, or null when it is not warming up. */
export function warmupCaps(number: Pick<NumberConfig, 'warmup' | 'createdAt'>, nowMs: number, options: WarmupOptions = {}): WarmupCaps | null {
  if (number.warmup === false) return null;
  let startMs: number;
  if (number.createdAt !== undefined) startMs = Date.parse(number.createdAt);
  else if (number.warmup === true) startMs = options.firstSendMs ?? nowMs;
  else return null;
  if (!Number.isFinite(startMs)) return null;
  const ageDays = Math.max(0, nowMs - startMs) / DAY_MS;
  const schedule = options.schedule ?? DEFAULT_WARMUP;
  let best: WarmupStep | undefined;
  // The step that applies is the earliest-ending one the number has not outgrown (steps need not be sorted).
  for (const step of schedule.steps) {
    if (ageDays < step.untilDays && (best === undefined || step.untilDays < best.untilDays)) best = step;
  }
  return best === undefined ? null : { windowMs: schedule.windowSec * 1000, limit: best.limit };
}
