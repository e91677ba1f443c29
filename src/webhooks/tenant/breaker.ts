/**
 * Circuit breaker for one tenant endpoint. After `failureThreshold` consecutive failures the
 * endpoint is left alone for `coolDownMs` (an endpoint that is down would otherwise burn every
 * event's retry budget in minutes); then one probe is let through (half-open): success closes the
 * breaker, failure opens it again for twice as long, up to `maxCoolDownMs`.
 *
 *   closed ──N failures──▶ open ──cool-down over──▶ half-open ──probe ok──▶ closed
 *                           ▲                          │
 *                           └──────probe failed────────┘
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold: number;
  coolDownMs: number;
  maxCoolDownMs: number;
}

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openUntilMs = 0;
  private currentCoolDownMs: number;
  private probing = false;
  /** Times the breaker opened. */
  opens = 0;

  constructor(private readonly options: BreakerOptions) {
    this.currentCoolDownMs = options.coolDownMs;
  }

  state(nowMs: number): BreakerState {
    if (this.openUntilMs === 0) return 'closed';
    return nowMs < this.openUntilMs ? 'open' : 'half-open';
  }

  /** How many attempts may be in flight now, given the configured concurrency. */
  allowance(nowMs: number, concurrency: number): number {
    const state = this.state(nowMs);
    if (state === 'closed') return concurrency;
    if (state === 'open') return 0;
    return this.probing ? 0 : 1;
  }

  /** Marks the start of an attempt; in half-open it is the probe. */
  onAttempt(nowMs: number): void {
    if (this.state(nowMs) === 'half-open') this.probing = true;
  }

  /** @returns true when this success closed an open breaker (the endpoint recovered). */
  onSuccess(): boolean {
    const recovered = this.openUntilMs !== 0;
    this.consecutiveFailures = 0;
    this.openUntilMs = 0;
    this.probing = false;
    this.currentCoolDownMs = this.options.coolDownMs;
    return recovered;
  }

  onFailure(nowMs: number): void {
    this.consecutiveFailures++;
    if (this.openUntilMs !== 0) {
      // A failed probe (or a straggler that started before the breaker opened): back off further.
      if (this.probing || nowMs >= this.openUntilMs) {
        this.currentCoolDownMs = Math.min(this.currentCoolDownMs * 2, this.options.maxCoolDownMs);
        this.openUntilMs = nowMs + this.currentCoolDownMs;
        this.probing = false;
      }
      return;
    }
    if (this.consecutiveFailures >= this.options.failureThreshold) {
      this.openUntilMs = nowMs + this.currentCoolDownMs;
      this.opens++;
    }
  }

  /** When an open breaker lets a probe through; 0 when closed. */
  get reopensAtMs(): number {
    return this.openUntilMs;
  }

  get failures(): number {
    return this.consecutiveFailures;
  }
}
