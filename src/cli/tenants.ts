/**
 * `sendgate tenants …` and `sendgate keys …`: the runtime management routes of the admin API
 * (tenants, API keys, Meta tokens). Tenant bodies are JSON files in the config file's tenant
 * shape (`-` reads stdin). Secrets are never taken as arguments (they would show in `ps` and
 * shell history): a new Meta token is read from a file or stdin; a new API key is printed once.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { CliError, EXIT } from './exit-codes.js';
import { adminTarget, call, printJson, withAdmin } from './gateway-client.js';
import { renderTable } from './table.js';

type AdminOpts = { url: string; adminToken?: string };

interface TenantView {
  id: string;
  source: string;
  messagingLimit: number | string;
  numbers: Array<{ phoneNumberId: string }>;
  apiKeys: Array<{ id: string; source: string; createdAt: string }>;
}

function readInput(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path === '-' ? 'stdin' : path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.usage);
  }
}

function readJson(path: string): unknown {
  const text = readInput(path);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${path === '-' ? 'stdin' : path}: not valid JSON: ${(err as Error).message}`, EXIT.usage);
  }
}

const enc = encodeURIComponent;

export function tenantsCommand(): Command {
  const tenants = new Command('tenants').description('manage tenants at run time (stored; applied on every process)');

  withAdmin(tenants.command('list').description('list tenants'))
    .option('--json', 'print the answer as JSON')
    .action(async (opts: AdminOpts & { json?: boolean }) => {
      const { data } = (await call(adminTarget(opts), 'GET', '/admin/tenants')) as { data: TenantView[] };
      if (opts.json === true) return printJson(data);
      process.stdout.write(renderTable(['TENANT', 'SOURCE', 'LIMIT', 'NUMBERS', 'KEYS'], data.map((t) => [
        t.id, t.source, String(t.messagingLimit), t.numbers.map((n) => n.phoneNumberId).join(','), String(t.apiKeys.length),
      ])));
    });

  withAdmin(tenants.command('show').description("show a tenant's settings (never its tokens or keys)").argument('<id>', 'tenant id'))
    .action(async (id: string, opts: AdminOpts) => printJson(await call(adminTarget(opts), 'GET', `/admin/tenants/${enc(id)}`)));

  withAdmin(tenants.command('create').description('create a tenant from a JSON file in the config tenant shape (apiKeys optional)').argument('<file>', "tenant JSON ('-': stdin)"))
    .action(async (file: string, opts: AdminOpts) => printJson(await call(adminTarget(opts), 'POST', '/admin/tenants', readJson(file))));

  withAdmin(tenants.command('update').description('change a tenant: the JSON fields given replace its own (PATCH)').argument('<id>', 'tenant id').argument('<file>', "patch JSON ('-': stdin)"))
    .action(async (id: string, file: string, opts: AdminOpts) => printJson(await call(adminTarget(opts), 'PATCH', `/admin/tenants/${enc(id)}`, readJson(file))));

  withAdmin(tenants.command('delete').description('delete a tenant: its keys are refused and its numbers stop at once').argument('<id>', 'tenant id'))
    .option('--yes', 'confirm (required)')
    .action(async (id: string, opts: AdminOpts & { yes?: boolean }) => {
      if (opts.yes !== true) throw new CliError(`deleting tenant ${id} stops its numbers and keys: add --yes to confirm`, EXIT.usage);
      await call(adminTarget(opts), 'DELETE', `/admin/tenants/${enc(id)}`);
      process.stdout.write(`tenant ${id} deleted\n`);
    });

  withAdmin(tenants.command('set-token').description("replace a number's Meta access token (read from --token-file or stdin); resumes a tenant a 190 paused").argument('<number>', 'phone number id'))
    .option('--token-file <file>', 'file holding the token (default: stdin)')
    .action(async (number: string, opts: AdminOpts & { tokenFile?: string }) => {
      const accessToken = readInput(opts.tokenFile ?? '-').trim();
      if (accessToken === '') throw new CliError('the token is empty', EXIT.usage);
      const answer = (await call(adminTarget(opts), 'PUT', `/admin/numbers/${enc(number)}/access-token`, { accessToken })) as { tenant: string; resumed: boolean };
      process.stdout.write(`number ${number} (tenant ${answer.tenant}): token replaced${answer.resumed ? '; the tenant was paused by a 190 and sends again' : ''}\n`);
    });
  return tenants;
}

export function keysCommand(): Command {
  const keys = new Command('keys').description("manage a tenant's API keys (stored as hashes; a new key is shown once)");

  withAdmin(keys.command('list').description("list a tenant's key ids").argument('<tenant>', 'tenant id'))
    .option('--json', 'print as JSON')
    .action(async (tenant: string, opts: AdminOpts & { json?: boolean }) => {
      const view = (await call(adminTarget(opts), 'GET', `/admin/tenants/${enc(tenant)}`)) as TenantView;
      if (opts.json === true) return printJson(view.apiKeys);
      process.stdout.write(view.apiKeys.length === 0 ? 'no keys\n' : renderTable(['KEY ID', 'SOURCE', 'CREATED'], view.apiKeys.map((k) => [k.id, k.source, k.createdAt])));
    });

  withAdmin(keys.command('create').description('issue a key: printed once on stdout (its id on stderr)').argument('<tenant>', 'tenant id'))
    .option('--json', 'print {"id","key"} as JSON')
    .action(async (tenant: string, opts: AdminOpts & { json?: boolean }) => {
      const issued = (await call(adminTarget(opts), 'POST', `/admin/tenants/${enc(tenant)}/api-keys`)) as { id: string; key: string };
      if (opts.json === true) return printJson(issued);
      process.stdout.write(`${issued.key}\n`);
      process.stderr.write(`key ${issued.id} issued for tenant ${tenant}: it is shown this once, store it now\n`);
    });

  withAdmin(keys.command('revoke').description('revoke a key: refused from then on, on every process').argument('<tenant>', 'tenant id').argument('<key-id>', 'key id (keys list)'))
    .action(async (tenant: string, keyId: string, opts: AdminOpts) => {
      await call(adminTarget(opts), 'DELETE', `/admin/tenants/${enc(tenant)}/api-keys/${enc(keyId)}`);
      process.stdout.write(`key ${keyId} of tenant ${tenant} revoked\n`);
    });
  return keys;
}
