import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { parseSimulateArgs, startSimulateCommand } from '../../src/sim/command.js';
import { startSimulator } from '../../src/sim/index.js';
import { post, text, TOKEN } from './helpers.js';

describe('sendgate simulate', () => {
  it('parses flags over a config file and fails fast on bad input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-cmd-'));
    const file = join(dir, 'sim.json');
    writeFileSync(file, JSON.stringify({ port: 9999, numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }] }));
    const cfg = parseSimulateArgs(['--config', file, '--port', '0', '--seed=5', '--accept-any-number']);
    expect(cfg).toMatchObject({ port: 0, seed: 5, acceptAnyNumber: true, numbers: [{ phoneNumberId: '1001' }] });
    expect(parseSimulateArgs([])).toMatchObject({ port: 8090 });
    expect(() => parseSimulateArgs(['--port', 'x'])).toThrow(/--port/);
    expect(() => parseSimulateArgs(['--bogus', '1'])).toThrow(/unknown option --bogus/);
    expect(() => parseSimulateArgs(['--port'])).toThrow(/needs a value/);
    writeFileSync(file, JSON.stringify({ limits: { mps: 0 } }));
    expect(() => parseSimulateArgs(['--config', file])).toThrow(/\/limits\/mps/);
    expect(() => parseSimulateArgs(['--config', join(dir, 'missing.json')])).toThrow(/cannot read/);
  });

  it('runs from CLI arguments; stats, inbound and reset work over HTTP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-cmd-'));
    const file = join(dir, 'sim.json');
    writeFileSync(file, JSON.stringify({ numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }] }));
    const sim = await startSimulateCommand(['--config', file, '--port', '0', '--host', '127.0.0.1']);
    try {
      expect((await post(`${sim.url}/v23.0/1001/messages`, text('16505551234'))).status).toBe(200);
      const inbound = await post(`${sim.url}/__sim/inbound`, { phoneNumberId: '1001', from: '16505551234', text: 'STOP' });
      expect(inbound.json.id).toMatch(/^wamid\./);
      const bad = await post(`${sim.url}/__sim/inbound`, { phoneNumberId: '9', from: '16505551234', text: 'x' });
      expect(bad.status).toBe(400);
      const stats = await (await request(`${sim.url}/__sim/stats`)).body.json() as any;
      expect(stats.numbers['1001']).toMatchObject({ accepted: 1, inbound: 1, mps: 80, burst: 80, maxPerSec: 1 });
      expect(stats.pairs['1001']['16505551234']).toMatchObject({ accepted: 1 });
      expect(stats.numbers['1001'].firstAcceptMs).toBeGreaterThan(0);
      const slim = await (await request(`${sim.url}/__sim/stats?pairs=0`)).body.json() as any;
      expect(slim.pairs).toEqual({});
      expect(slim.numbers['1001'].accepted).toBe(1);
      const faults = await post(`${sim.url}/__sim/faults`, { phoneNumberId: '1001', faults: { errorRates: { 131016: 1 } } });
      expect(faults.json).toEqual({ ok: true });
      const failing = await post(`${sim.url}/v23.0/1001/messages`, text('16505551234'));
      expect([failing.status, failing.json.error.code]).toEqual([503, 131016]);
      const badFaults = await post(`${sim.url}/__sim/faults`, { faults: { timeoutRate: 3 } });
      expect(badFaults.json.error.error_data.details).toMatch(/timeoutRate/);
      await post(`${sim.url}/__sim/faults`, { phoneNumberId: '1001', faults: null });
      expect((await post(`${sim.url}/v23.0/1001/messages`, text('16505551234'))).status).toBe(200);
      const reset = await post(`${sim.url}/__sim/reset`, {});
      expect(reset.json).toEqual({ ok: true });
      expect(sim.stats().numbers['1001']).toMatchObject({ accepted: 0, inbound: 0, firstAcceptMs: null });
    } finally {
      await sim.close();
    }
  });

  it('adds numbers at run time', async () => {
    const sim = await startSimulateCommand(['--port', '0']);
    try {
      expect((await post(`${sim.url}/v23.0/2002/messages`, text('16505551234'))).status).toBe(400);
      sim.setNumber({ phoneNumberId: '2002', accessToken: TOKEN, mps: 1, burst: 1 });
      expect((await post(`${sim.url}/2002/messages`, text('16505551234'))).status).toBe(200);
      expect((await post(`${sim.url}/2002/messages`, text('16505551235'))).json.error.code).toBe(130429);
      sim.removeNumber('2002');
      expect((await post(`${sim.url}/2002/messages`, text('16505551234'))).json.error.code).toBe(100);
      expect(() => sim.setNumber({ phoneNumberId: 'abc', accessToken: TOKEN })).toThrow(/phoneNumberId/);
    } finally {
      await sim.close();
    }
  });

  it('takes config nested under `config` too (top-level keys win)', async () => {
    const sim = await startSimulator({ port: 0, config: { port: 1, numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }] } });
    try {
      expect(sim.port).not.toBe(1);
      expect((await post(`${sim.url}/v23.0/1001/messages`, text('16505551234'))).status).toBe(200);
    } finally {
      await sim.close();
    }
  });
});
