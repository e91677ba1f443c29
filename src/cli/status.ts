/**
 * `sendgate status`: every number's live state as a table (GET /admin/numbers): rate against
 * its limit, queue depth and oldest age, requests in flight, pauses and why, and in a fleet the
 * process dispatching it. `--json` prints the answer as it came.
 * `sendgate pause|resume NUMBER` / `--tenant ID`: the admin API's pause and resume.
 */
import { Command } from 'commander';
import { adminTarget, call, printJson, withAdmin } from './gateway-client.js';
import { CliError, EXIT } from './exit-codes.js';
import { renderTable } from './table.js';
import type { NumberView } from '../gateway/number-views.js'; // one row of GET /admin/numbers

const num = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));

function pausedText(p: NumberView['paused']): string {
  if (p === null) return '-';
  return [p.by, p.code !== undefined ? `(${p.code})` : '', p.until !== undefined ? `until ${p.until}` : '']
    .filter((s) => s !== '').join(' ');
}

export function numbersTable(rows: readonly NumberView[]): string {
  const fleet = rows.some((r) => r.owner !== undefined);
  const header = ['NUMBER', 'TENANT', 'MPS', 'BURST', 'EFFECTIVE', 'QUEUED', 'OLDEST(s)', 'IN FLIGHT', 'PAUSED', ...(fleet ? ['OWNER'] : [])];
  const body = rows.map((r) => [
    r.phone_number_id, r.tenant, num(r.mps, r.mps % 1 === 0 ? 0 : 1), num(r.burst), num(r.effective_mps, 1), num(r.queue_depth),
    num(r.oldest_queued_age_sec, 1), num(r.in_flight), pausedText(r.paused), ...(fleet ? [r.owner ?? '-'] : []),
  ]);
  return renderTable(header, body, [false, false, true, true, true, true, true, true]);
}

export function statusCommand(): Command {
  return withAdmin(new Command('status'))
    .description('show every number: rate against its limit, queue, in flight, pauses (GET /admin/numbers)')
    .option('--json', 'print the answer as JSON')
    .action(async (opts: { url: string; adminToken?: string; json?: boolean }) => {
      const answer = await call(adminTarget(opts), 'GET', '/admin/numbers');
      const rows = Array.isArray(answer) ? answer : (answer as { data?: unknown } | undefined)?.data;
      if (!Array.isArray(rows)) throw new CliError('GET /admin/numbers: unexpected answer (expected a list of numbers)', EXIT.failure);
      if (opts.json === true) return printJson(rows);
      process.stdout.write(rows.length === 0 ? 'no numbers\n' : numbersTable(rows as NumberView[]));
    });
}

function pauseOrResume(action: 'pause' | 'resume'): Command {
  return withAdmin(new Command(action))
    .description(action === 'pause'
      ? 'pause a number (or every number of a tenant): nothing leaves until resumed; sends are still accepted'
      : 'resume a paused number (or tenant), also one an upstream answer paused')
    .argument('[number]', 'phone number id')
    .option('--tenant <id>', `${action} every number of this tenant instead`)
    .action(async (number: string | undefined, opts: { url: string; adminToken?: string; tenant?: string }) => {
      if ((number === undefined) === (opts.tenant === undefined)) throw new CliError(`${action}: give a phone number id or --tenant ID (one of them)`, EXIT.usage);
      const path = number !== undefined ? `/admin/numbers/${encodeURIComponent(number)}/${action}` : `/admin/tenants/${encodeURIComponent(opts.tenant!)}/${action}`;
      await call(adminTarget(opts), 'POST', path);
      process.stdout.write(`${number !== undefined ? `number ${number}` : `tenant ${opts.tenant}`} ${action === 'pause' ? 'paused' : 'resumed'}\n`);
    });
}

export const pauseCommand = (): Command => pauseOrResume('pause');
export const resumeCommand = (): Command => pauseOrResume('resume');
