/**
 * Loads, defaults, validates and freezes the config. Fails fast with the JSON path of the bad value:
 * a gateway that guesses around a typo in a rate limit is worse than one that does not start.
 */
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ConfigSchema, DEFAULT_STORAGE_PATH, type Config } from './schema.js';
import { deepFreeze } from './deep-freeze.js';
import { resolveSecrets } from './secrets.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const checker = TypeCompiler.Compile(ConfigSchema);

/** Validates an already parsed config object; returns a deeply frozen copy with defaults applied. */
export function parseConfig(input: unknown, source = 'config'): Readonly<Config> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError(`${source}: the config must be a JSON object`);
  }
  const withDefaults = Value.Default(ConfigSchema, defaultStoragePath(structuredClone(input) as Record<string, unknown>));
  const first = checker.Errors(withDefaults).First();
  if (first) {
    const path = first.path === '' ? '/' : first.path;
    throw new ConfigError(`${source}: ${path}: ${first.message}`);
  }
  const config = withDefaults as Config;
  checkCrossReferences(config, source);
  return deepFreeze(config);
}

/** `storage` is a union, which TypeBox cannot default safely: absent → embedded in ./data. */
function defaultStoragePath(input: Record<string, unknown>): Record<string, unknown> {
  const storage = input.storage as Record<string, unknown> | undefined;
  if (storage === undefined) input.storage = { kind: 'embedded', path: DEFAULT_STORAGE_PATH };
  else if (storage !== null && typeof storage === 'object' && storage.kind === 'embedded' && storage.path === undefined) {
    input.storage = { ...storage, path: DEFAULT_STORAGE_PATH };
  }
  return input;
}

/** Rules one JSON schema cannot say: uniqueness across tenants. */
function checkCrossReferences(config: Config, source: string): void {
  const tenantIds = new Set<string>();
  const numberOwners = new Map<string, string>();
  const keyOwners = new Map<string, string>();
  const wabaOwners = new Map<string, string>();
  config.tenants.forEach((tenant, t) => {
    if (tenantIds.has(tenant.id)) throw new ConfigError(`${source}: /tenants/${t}/id: duplicate tenant id '${tenant.id}'`);
    tenantIds.add(tenant.id);
    tenant.apiKeys.forEach((key, k) => {
      if (keyOwners.has(key)) throw new ConfigError(`${source}: /tenants/${t}/apiKeys/${k}: API key already used by tenant '${keyOwners.get(key)}'`);
      keyOwners.set(key, tenant.id);
    });
    tenant.numbers.forEach((number, n) => {
      const owner = numberOwners.get(number.phoneNumberId);
      if (owner !== undefined) {
        throw new ConfigError(`${source}: /tenants/${t}/numbers/${n}/phoneNumberId: number ${number.phoneNumberId} already belongs to tenant '${owner}'`);
      }
      numberOwners.set(number.phoneNumberId, tenant.id);
    });
    (tenant.wabaIds ?? []).forEach((wabaId, w) => {
      const owner = wabaOwners.get(wabaId);
      if (owner !== undefined) throw new ConfigError(`${source}: /tenants/${t}/wabaIds/${w}: WABA ${wabaId} already belongs to tenant '${owner}'`);
      wabaOwners.set(wabaId, tenant.id);
    });
  });
}

/** Reads a JSON config file, then applies env overrides (`PORT`, `HOST`, `REDIS_URL`) and secret references (secrets.ts). */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(resolveSecrets(applyEnv(parsed, env), env, path), path);
}

export function applyEnv(parsed: unknown, env: NodeJS.ProcessEnv): unknown {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return parsed;
  const out = { ...(parsed as Record<string, unknown>) };
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port)) throw new ConfigError(`env PORT: not an integer: '${env.PORT}'`);
    out.listen = { ...((out.listen as object | undefined) ?? {}), port };
  }
  // The address to listen on: the container image sets 0.0.0.0 (a config's 127.0.0.1 is unreachable from outside it).
  if (env.HOST !== undefined && env.HOST !== '') {
    out.listen = { ...((out.listen as object | undefined) ?? {}), host: env.HOST };
  }
  if (env.REDIS_URL !== undefined && env.REDIS_URL !== '') {
    // Other Redis settings of the file (prefix, durability, lease) stay; an embedded entry is replaced.
    const storage = out.storage as { kind?: unknown } | undefined;
    out.storage = { ...(storage?.kind === 'redis' ? storage : {}), kind: 'redis', url: env.REDIS_URL };
  }
  return out;
}
