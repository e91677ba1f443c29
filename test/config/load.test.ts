import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.js';

const minimal = () => ({
  tenants: [{ id: 'acme', apiKeys: ['key-acme-1234'], numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-token' }] }],
});

describe('config', () => {
  it('applies documented defaults and freezes the result', () => {
    const config = parseConfig(minimal());
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.storage).toEqual({ kind: 'embedded', path: './data' });
    expect(config.upstream.version).toBe('v23.0');
    expect(config.dispatch.headroom).toBe(1);
    expect(config.tenants[0]!.messagingLimit).toBe(250);
    expect(config.tenants[0]!.deadlineSec).toBe(14_400);
    expect(config.tenants[0]!.numbers[0]!).toMatchObject({ mps: 80, burst: 80 });
    expect(Object.isFrozen(config.tenants[0]!.numbers[0])).toBe(true);
  });

  it('names the path of a bad value', () => {
    const input = minimal();
    (input.tenants[0]!.numbers[0] as Record<string, unknown>).mps = -5;
    expect(() => parseConfig(input)).toThrowError(/\/tenants\/0\/numbers\/0\/mps/);
  });

  it('rejects unknown keys instead of ignoring a typo', () => {
    const input = { ...minimal(), lisen: { port: 1 } };
    expect(() => parseConfig(input)).toThrowError(ConfigError);
  });

  it('rejects a messaging limit that is not a Meta tier', () => {
    const input = minimal();
    (input.tenants[0] as Record<string, unknown>).messagingLimit = 300;
    expect(() => parseConfig(input)).toThrowError(/messagingLimit/);
  });

  it('rejects a number owned by two tenants and a shared API key', () => {
    const a = minimal().tenants[0]!;
    expect(() => parseConfig({ tenants: [a, { ...a, id: 'other', apiKeys: ['key-other-123'] }] })).toThrowError(/already belongs to tenant 'acme'/);
    expect(() => parseConfig({ tenants: [a, { ...a, id: 'other', numbers: [{ phoneNumberId: '2002', accessToken: 'x' }] }] })).toThrowError(/API key already used/);
  });

  it('rejects a WABA id claimed by two tenants (account webhooks would reach either)', () => {
    const a = { ...minimal().tenants[0]!, wabaIds: ['1020'] };
    const b = { ...a, id: 'other', apiKeys: ['key-other-123'], numbers: [{ phoneNumberId: '2002', accessToken: 'x' }] };
    expect(() => parseConfig({ tenants: [a, b] })).toThrowError(/\/tenants\/1\/wabaIds\/0: WABA 1020 already belongs to tenant 'acme'/);
    expect(() => parseConfig({ tenants: [a, { ...b, wabaIds: ['1021'] }] })).not.toThrow();
  });

  it('reads a file and applies PORT and REDIS_URL overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-config-'));
    const path = join(dir, 'c.json');
    writeFileSync(path, JSON.stringify(minimal()));
    const config = loadConfigFile(path, { PORT: '9999', REDIS_URL: 'redis://127.0.0.1:6380' });
    expect(config.listen.port).toBe(9999);
    expect(config.storage).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6380' });
    expect(() => loadConfigFile(path, { PORT: 'eighty' })).toThrowError(/PORT/);
  });

  it('fails clearly on unreadable or malformed files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-config-'));
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{ not json');
    expect(() => loadConfigFile(path)).toThrowError(/not valid JSON/);
    expect(() => loadConfigFile(join(dir, 'missing.json'))).toThrowError(/cannot read: ENOENT/);
  });
});
