/**
 * `Prefer: wait=N` support: callers wait for a message's final outcome with a timeout. Recent
 * outcomes are remembered (bounded, oldest dropped first) so a wait that starts just after the
 * outcome still gets it.
 */
import type { Outcome } from './types.js';

const RECENT_CAPACITY = 4096;

export class OutcomeWaiters {
  private readonly waiting = new Map<string, Array<(outcome: Outcome | null) => void>>();
  private readonly recent = new Map<string, Outcome>();

  wait(id: string, timeoutMs: number): Promise<Outcome | null> {
    const known = this.recent.get(id);
    if (known !== undefined) return Promise.resolve(known);
    if (timeoutMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      let list = this.waiting.get(id);
      if (list === undefined) {
        list = [];
        this.waiting.set(id, list);
      }
      const timer = setTimeout(() => {
        const current = this.waiting.get(id);
        if (current !== undefined) {
          const i = current.indexOf(done);
          if (i >= 0) current.splice(i, 1);
          if (current.length === 0) this.waiting.delete(id);
        }
        resolve(null);
      }, timeoutMs);
      timer.unref();
      const done = (outcome: Outcome | null): void => {
        clearTimeout(timer);
        resolve(outcome);
      };
      list.push(done);
    });
  }

  settle(outcome: Outcome): void {
    if (this.recent.size >= RECENT_CAPACITY) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    this.recent.set(outcome.id, outcome);
    const list = this.waiting.get(outcome.id);
    if (list === undefined) return;
    this.waiting.delete(outcome.id);
    for (const done of list) done(outcome);
  }

  /** Waiters still pending (tests, shutdown). */
  get pending(): number {
    return this.waiting.size;
  }
}
