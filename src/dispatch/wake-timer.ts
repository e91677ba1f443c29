/**
 * Every future instant the dispatcher cares about (a lane's pacing wake-up, a retry coming due,
 * a parked recipient's release) sits in one min-heap, and ONE timer is armed for the root.
 * 10k messages in backoff cost 10k heap entries, not 10k timers.
 *
 * Decisions use the Clock seam; only the real delay of the Node timer is wall time.
 */
import type { Clock } from '../clock.js';
import { MinHeap, type Timed } from './min-heap.js';

export class WakeTimer<T extends Timed> {
  private readonly heap = new MinHeap<T>();
  private timer: NodeJS.Timeout | null = null;
  private armedAtMs = Number.POSITIVE_INFINITY;
  private stopped = false;

  /**
   * @param fire called for each due entry, in time order.
   * @param afterBatch called once after a batch of due entries (the dispatcher runs touched lanes there).
   */
  constructor(
    private readonly clock: Clock,
    private readonly fire: (entry: T, nowMs: number) => void,
    private readonly afterBatch: () => void,
    /** Hears a throw from `fire` or `afterBatch`: it never leaves the timer, which stays armed. */
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  get size(): number {
    return this.heap.size;
  }

  schedule(entry: T): void {
    if (this.stopped) return;
    this.heap.push(entry);
    if (entry.atMs < this.armedAtMs) this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedAtMs = Number.POSITIVE_INFINITY;
  }

  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedAtMs = Number.POSITIVE_INFINITY;
    const next = this.heap.peek();
    if (next === undefined || this.stopped) return;
    // At least 1 ms: a timer that fires a hair early (clock granularity) re-arms instead of spinning.
    const delayMs = Math.max(1, Math.ceil(next.atMs - this.clock.nowMs()));
    this.armedAtMs = next.atMs;
    this.timer = setTimeout(this.onTimer, Math.min(delayMs, 2_147_000_000));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.armedAtMs = Number.POSITIVE_INFINITY;
    const nowMs = this.clock.nowMs();
    let fired = false;
    try {
      for (let next = this.heap.peek(); next !== undefined && next.atMs <= nowMs; next = this.heap.peek()) {
        this.heap.pop();
        fired = true;
        try {
          this.fire(next, nowMs);
        } catch (err) {
          this.onError(err);
        }
      }
      if (fired) this.afterBatch();
    } catch (err) {
      this.onError(err);
    } finally {
      if (!this.stopped && this.timer === null) this.arm();
    }
  };
}
