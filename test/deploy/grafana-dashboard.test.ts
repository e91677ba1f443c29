/**
 * deploy/grafana-dashboard.json against a running gateway's /metrics: every metric a panel queries
 * is one the gateway exports (after a send, so per-number series exist), the layout is valid
 * (unique ids, within Grafana's 24 columns), and every query goes through the dashboard's
 * data-source variable.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, textBody, type Stack } from '../support/stack.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana-dashboard.json'), 'utf8')) as {
  uid: string;
  panels: Array<{ id: number; type: string; gridPos: { x: number; w: number }; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; query: unknown }> };
};

let stack: Stack;
let exported: Set<string>;
beforeAll(async () => {
  stack = await startStack({ start: { defaultMetrics: true } });
  expect((await stack.send(textBody())).status).toBe(202);
  await eventually(() => (stack.sim.stats().totals.accepted >= 1 ? true : undefined));
  const text = await (await request(`${stack.gateway.url}/metrics`)).body.text();
  exported = new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!));
});
afterAll(async () => {
  await stack?.close();
});

/** A histogram's series names: the family plus _bucket, _sum, _count. */
const family = (name: string): string => name.replace(/_(bucket|sum|count)$/, '');

describe('Grafana dashboard', () => {
  it('queries only metrics the gateway exports', () => {
    const queries = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(queries.length).toBeGreaterThan(20);
    for (const expr of queries) {
      const byRegex = /__name__=~"([^"]+)"/.exec(expr);
      if (byRegex !== null) {
        const re = new RegExp(`^(?:${byRegex[1]})$`);
        expect([...exported].some((n) => re.test(n)), `${expr}: no exported metric matches`).toBe(true);
        continue;
      }
      const names = expr.match(/\bsendgate_[a-z0-9_]+/g) ?? [];
      expect(names.length, expr).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name) || exported.has(family(name)), `${name} (in ${expr})`).toBe(true);
    }
    const variables = JSON.stringify(dashboard.templating.list);
    for (const name of variables.match(/\bsendgate_[a-z0-9_]+/g) ?? []) expect(exported.has(name), name).toBe(true);
  });

  it('has a valid layout and every panel uses the data-source variable', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.datasource?.uid).toBe('${datasource}');
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance', 'number']);
  });
});
