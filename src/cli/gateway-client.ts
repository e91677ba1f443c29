/**
 * How the CLI talks to a running gateway: `--url` (env SENDGATE_URL, default
 * http://127.0.0.1:8080) with the admin token (`--admin-token`, env SENDGATE_ADMIN_TOKEN) or a
 * tenant API key (`--api-key`, env SENDGATE_API_KEY). A refusal is shown as the gateway's
 * envelope says it, with an exit code by kind (exit-codes.ts).
 */
import { Option, type Command } from 'commander';
import { request } from 'undici';
import { CliError, EXIT } from './exit-codes.js';

export interface GatewayTarget {
  url: string;
  /** The bearer credential: the admin token, or a tenant API key. */
  token: string;
}

const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Adds --url and --admin-token to a command talking to the admin API. */
export function withAdmin(cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', 'gateway base URL').env('SENDGATE_URL').default(DEFAULT_URL))
    .addOption(new Option('--admin-token <token>', 'admin token (admin.token of the config)').env('SENDGATE_ADMIN_TOKEN'));
}

/** Adds --url and --api-key to a command talking to a tenant API. */
export function withApiKey(cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', 'gateway base URL').env('SENDGATE_URL').default(DEFAULT_URL))
    .addOption(new Option('--api-key <key>', "the tenant's API key").env('SENDGATE_API_KEY'));
}

export function adminTarget(opts: { url: string; adminToken?: string }): GatewayTarget {
  if (opts.adminToken === undefined || opts.adminToken === '') throw new CliError('the admin token is missing: pass --admin-token or set SENDGATE_ADMIN_TOKEN', EXIT.usage);
  return { url: opts.url.replace(/\/+$/, ''), token: opts.adminToken };
}

export function tenantTarget(opts: { url: string; apiKey?: string }): GatewayTarget {
  if (opts.apiKey === undefined || opts.apiKey === '') throw new CliError('the API key is missing: pass --api-key or set SENDGATE_API_KEY', EXIT.usage);
  return { url: opts.url.replace(/\/+$/, ''), token: opts.apiKey };
}

/** Sends one request; resolves with the parsed JSON answer of a 2xx, else throws a CliError. */
export async function call(target: GatewayTarget, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  let res;
  try {
    res = await request(`${target.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    throw new CliError(`cannot reach the gateway at ${target.url}: ${code}`, EXIT.unreachable);
  }
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return json;
  const error = (json as { error?: { message?: string; error_data?: { details?: string } } } | undefined)?.error;
  const what = error === undefined ? `HTTP ${res.statusCode}` : `${res.statusCode} ${error.message ?? ''}: ${error.error_data?.details ?? ''}`;
  throw new CliError(`${method} ${path}: ${what}`, res.statusCode === 401 || res.statusCode === 403 ? EXIT.forbidden : EXIT.failure);
}

/** Prints a JSON answer on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
