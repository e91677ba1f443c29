/**
 * Secrets in the config file may be given by reference instead of inline, so the file itself can
 * be committed or baked into an image: `{"env":"NAME"}` reads an environment variable,
 * `{"file":"/run/secrets/x"}` a file (Docker and Kubernetes secrets; one trailing newline dropped).
 * Resolved once at load, before validation: the rest of the gateway only ever sees strings.
 *
 * Where: `admin.token`, `webhooks.appSecret`, `webhooks.verifyToken`, `tenants[].apiKeys[]`,
 * `tenants[].numbers[].accessToken`, `tenants[].webhook.secret`.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './load.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Returns a copy of the parsed config with every secret reference replaced by its value. */
export function resolveSecrets(parsed: unknown, env: NodeJS.ProcessEnv, source: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): unknown {
  if (!isObject(parsed)) return parsed;
  const out: Json = structuredClone(parsed);
  const resolve = (holder: Json | unknown[], key: string | number, path: string): void => {
    const value = (holder as Record<string | number, unknown>)[key];
    if (!isObject(value)) return;
    const keys = Object.keys(value);
    let text: string;
    if (keys.length === 1 && typeof value.env === 'string') {
      const v = env[value.env];
      if (v === undefined || v === '') throw new ConfigError(`${source}: ${path}: environment variable ${value.env} is not set`);
      text = v;
    } else if (keys.length === 1 && typeof value.file === 'string') {
      try {
        text = readFile(value.file).replace(/\r?\n$/, '');
      } catch (err) {
        throw new ConfigError(`${source}: ${path}: cannot read ${value.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      if (text === '') throw new ConfigError(`${source}: ${path}: ${value.file} is empty`);
    } else {
      throw new ConfigError(`${source}: ${path}: expected a string, {"env":"NAME"} or {"file":"/path"}`);
    }
    (holder as Record<string | number, unknown>)[key] = text;
  };
  if (isObject(out.admin)) resolve(out.admin, 'token', '/admin/token');
  if (isObject(out.webhooks)) {
    resolve(out.webhooks, 'appSecret', '/webhooks/appSecret');
    resolve(out.webhooks, 'verifyToken', '/webhooks/verifyToken');
  }
  if (Array.isArray(out.tenants)) {
    out.tenants.forEach((tenant: unknown, t) => {
      if (!isObject(tenant)) return;
      if (Array.isArray(tenant.apiKeys)) tenant.apiKeys.forEach((_k, k) => resolve(tenant.apiKeys as unknown[], k, `/tenants/${t}/apiKeys/${k}`));
      if (isObject(tenant.webhook)) resolve(tenant.webhook, 'secret', `/tenants/${t}/webhook/secret`);
      if (Array.isArray(tenant.numbers)) {
        tenant.numbers.forEach((number: unknown, n) => {
          if (isObject(number)) resolve(number, 'accessToken', `/tenants/${t}/numbers/${n}/accessToken`);
        });
      }
    });
  }
  return out;
}
