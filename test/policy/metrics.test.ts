import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerPolicyMetrics } from '../../src/policy/index.js';
import { harness, recipient, template, text } from './harness.js';

describe('policy metrics', () => {
  it('exposes enforce and shadow refusals and warnings at scrape time', async () => {
    const h = await harness();
    const shadow = await harness({ policy: { mode: 'shadow' } });
    const registry = new Registry();
    registerPolicyMetrics(registry, { stats: () => {
      const a = h.engine.stats();
      const b = shadow.engine.stats();
      return { refused: a.refused, shadow: { shadowed: b.shadow['acme']! }, warned: a.warned };
    } });
    expect(() => h.admit({ body: text('x') })).toThrow();
    expect(() => h.admit({ body: text('x') })).toThrow();
    shadow.admit({ body: text('x') });
    h.admit({ to: recipient(1), body: template('t', ['x']), category: 'utility' });
    const out = await registry.metrics();
    expect(out).toContain('sendgate_policy_refusals_total{tenant="acme",policy="serviceWindow",mode="enforce"} 2');
    expect(out).toContain('sendgate_policy_refusals_total{tenant="shadowed",policy="serviceWindow",mode="shadow"} 1');
    expect(out).toContain('sendgate_policy_warnings_total{tenant="acme"} 1');
    h.engine.close();
    shadow.engine.close();
  });
});
