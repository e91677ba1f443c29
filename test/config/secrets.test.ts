/**
 * Secrets by reference in the config file: `{"env":"NAME"}` and `{"file":"…"}` for the Meta token,
 * API keys, the tenant webhook secret, the admin token and Meta's app secret; a missing variable or
 * file stops the load naming the field.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'sendgate-secrets-'));

function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

const config = (overrides: Record<string, unknown> = {}) => ({
  admin: { token: { env: 'SG_ADMIN' } },
  webhooks: { appSecret: { file: file('app-secret', 'app-secret-value\n') }, verifyToken: 'inline-verify' },
  tenants: [{
    id: 'acme', apiKeys: [{ env: 'SG_KEY' }, 'inline-key-123'],
    webhook: { url: 'http://127.0.0.1:9/h', secret: { env: 'SG_HOOK' } },
    numbers: [{ phoneNumberId: '1001', accessToken: { file: file('token', 'EAAG-from-file\n') } }],
  }],
  ...overrides,
});

const env = { SG_ADMIN: 'admin-token-from-env-1', SG_KEY: 'key-from-env-123', SG_HOOK: 'hook-secret-env' };

describe('secrets from env and files', () => {
  it('resolves every reference before validation', () => {
    const loaded = loadConfigFile(file('ok.json', config()), env);
    expect(loaded.admin?.token).toBe('admin-token-from-env-1');
    expect(loaded.webhooks?.appSecret).toBe('app-secret-value');
    expect(loaded.webhooks?.verifyToken).toBe('inline-verify');
    expect(loaded.tenants[0]!.apiKeys).toEqual(['key-from-env-123', 'inline-key-123']);
    expect(loaded.tenants[0]!.webhook?.secret).toBe('hook-secret-env');
    expect(loaded.tenants[0]!.numbers[0]!.accessToken).toBe('EAAG-from-file');
  });

  it('a missing variable or file stops the load with the field and no value', () => {
    expect(() => loadConfigFile(file('no-env.json', config()), { ...env, SG_KEY: undefined })).toThrow(/\/tenants\/0\/apiKeys\/0: environment variable SG_KEY is not set/);
    const missing = config({ admin: { token: { file: join(dir, 'nope') } } });
    expect(() => loadConfigFile(file('no-file.json', missing), env)).toThrow(/\/admin\/token: cannot read .*nope: ENOENT/);
    const odd = config({ admin: { token: { env: 'SG_ADMIN', file: '/x' } } });
    expect(() => loadConfigFile(file('odd.json', odd), env)).toThrow(/\/admin\/token: expected a string, \{"env":"NAME"\} or \{"file":"\/path"\}/);
  });
});
