import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/webhooks/tenant/breaker.js';
import { DEFAULT_RETRY_SCHEDULE_MS, retryDelayMs } from '../../src/webhooks/tenant/schedule.js';

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, probes once after the cool-down, closes on success', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 1000, maxCoolDownMs: 4000 });
    expect(b.allowance(0, 4)).toBe(4);
    b.onFailure(0);
    b.onFailure(1);
    b.onSuccess();
    b.onFailure(2);
    b.onFailure(3);
    expect(b.state(3)).toBe('closed');
    b.onFailure(4);
    expect(b.state(4)).toBe('open');
    expect(b.allowance(1003, 4)).toBe(0);
    expect(b.state(1004)).toBe('half-open');
    expect(b.allowance(1004, 4)).toBe(1);
    b.onAttempt(1004);
    expect(b.allowance(1005, 4)).toBe(0);
    expect(b.onSuccess()).toBe(true);
    expect(b.state(1006)).toBe('closed');
    expect(b.allowance(1006, 4)).toBe(4);
    expect(b.opens).toBe(1);
  });

  it('doubles the cool-down after a failed probe, up to the cap, and resets it on recovery', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 1000, maxCoolDownMs: 3000 });
    b.onFailure(0);
    expect(b.reopensAtMs).toBe(1000);
    b.onAttempt(1000);
    b.onFailure(1000);
    expect(b.reopensAtMs).toBe(3000);
    b.onAttempt(3000);
    b.onFailure(3000);
    expect(b.reopensAtMs).toBe(6000);
    // A straggler failing while open changes nothing.
    b.onFailure(4000);
    expect(b.reopensAtMs).toBe(6000);
    b.onAttempt(6000);
    b.onSuccess();
    b.onFailure(7000);
    expect(b.reopensAtMs).toBe(8000);
  });
});

describe('retryDelayMs', () => {
  it('follows the schedule within the jitter band and ends when it runs out', () => {
    const schedule = [100, 1000];
    expect(retryDelayMs(1, schedule, 0.2, () => 0)).toBe(80);
    expect(retryDelayMs(1, schedule, 0.2, () => 0.5)).toBe(100);
    expect(retryDelayMs(2, schedule, 0.2, () => 0.999999)).toBe(1200);
    expect(retryDelayMs(3, schedule, 0.2)).toBeNull();
  });

  it('spans about a week by default, starting at seconds', () => {
    const totalMs = DEFAULT_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(DEFAULT_RETRY_SCHEDULE_MS[0]).toBe(5000);
    expect(totalMs / 86_400_000).toBeGreaterThan(6);
    expect(totalMs / 86_400_000).toBeLessThan(8);
  });
});
