/**
 * `sendgate broadcast FILE.csv --number ID --template NAME [...]` against a running gateway: the
 * CSV is streamed (csv-parse) into an NDJSON upload, one recipient per row, so a list of any size
 * costs the CLI and the gateway a row at a time; then the broadcast is created (or only planned),
 * its plan printed, and its progress followed until it ends (or the CLI detaches).
 *
 * Exit codes: 0 done (or planned, or detached), 1 the gateway refused or failed, 2 bad usage.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Command } from 'commander';
import { parse } from 'csv-parse';
import { request } from 'undici';

const USAGE = `usage: sendgate broadcast FILE.csv --number ID --template NAME [options]
  --language CODE        template language (default en_US)
  --param COLUMN         a body parameter from this CSV column, in order (repeatable)
  --to-column COLUMN     the column with the phone number (default: to, phone or the first column)
  --category NAME        marketing | utility | authentication (default: as a single send judges a template)
  --dry-run              print the plan only: nothing is stored or sent
  --detach               print the plan and the broadcast id, and return without following it
  --url URL              the gateway (default $SENDGATE_URL or http://127.0.0.1:8080)
  --api-key KEY          the tenant's API key (default $SENDGATE_API_KEY)
exit codes: 0 done, 1 refused or failed, 2 bad usage`;

const POLL_MS = 1000;
const BAR_WIDTH = 30;

interface Options {
  file: string;
  number: string;
  template: string;
  language: string;
  params: string[];
  toColumn: string | undefined;
  category: string | undefined;
  dryRun: boolean;
  detach: boolean;
  url: string;
  apiKey: string;
}

/**
 * The command as the CLI lists it: its options are read by runBroadcastCommand itself (its own
 * `--help` prints USAGE), so commander hands over everything after `broadcast` as it is.
 */
export function broadcastCommand(): Command {
  return new Command('broadcast')
    .description('send one template to every row of a CSV through a running gateway: the plan, then progress')
    .usage('FILE.csv --number ID --template NAME [options]  (see sendgate broadcast --help)')
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[args...]')
    .action(async (_args: string[], _options: unknown, command: Command) => {
      process.exitCode = await runBroadcastCommand(command.args);
    });
}

class UsageError extends Error {}
class GatewayAnswer extends Error {}

export async function runBroadcastCommand(args: string[], io: { out: NodeJS.WritableStream; err: NodeJS.WriteStream | NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(args);
  } catch (err) {
    io.err.write(`sendgate broadcast: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (options === null) {
    io.out.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const upload = await uploadCsv(options);
    const created = await api(options, 'POST', '/v1/broadcasts', {
      phone_number_id: options.number,
      message: { messaging_product: 'whatsapp', type: 'template', template: { name: options.template, language: { code: options.language } } },
      recipients_upload: upload.id,
      ...(options.category === undefined ? {} : { category: options.category }),
      dry_run: options.dryRun,
    }) as { id: string | null; state: string; plan: Record<string, unknown> };
    io.out.write(formatPlan(upload.recipients, created.plan));
    if (created.id === null) return 0;
    io.out.write(`broadcast ${created.id} ${created.state}\n`);
    if (options.detach) return 0;
    const final = await follow(options, created.id, io.err);
    io.out.write(`broadcast ${created.id} ${final.state}: ${Object.entries(final.counts).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err.write(`sendgate broadcast: ${err.message}\n`);
      return 2;
    }
    io.err.write(`sendgate broadcast: ${(err as Error).message}\n`);
    return 1;
  }
}

function parseOptions(args: string[]): Options {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      number: { type: 'string' }, template: { type: 'string' }, language: { type: 'string' }, param: { type: 'string', multiple: true },
      'to-column': { type: 'string' }, category: { type: 'string' }, 'dry-run': { type: 'boolean' }, detach: { type: 'boolean' },
      url: { type: 'string' }, 'api-key': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return null as unknown as Options;
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new UsageError('give exactly one CSV file');
  if (values.number === undefined) throw new UsageError('--number is required');
  if (values.template === undefined) throw new UsageError('--template is required');
  const apiKey = values['api-key'] ?? process.env.SENDGATE_API_KEY;
  if (apiKey === undefined || apiKey === '') throw new UsageError('--api-key (or SENDGATE_API_KEY) is required');
  return {
    file, number: values.number, template: values.template, language: values.language ?? 'en_US', params: values.param ?? [],
    toColumn: values['to-column'], category: values.category, dryRun: values['dry-run'] === true, detach: values.detach === true,
    url: (values.url ?? process.env.SENDGATE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''), apiKey,
  };
}

/** Streams the CSV into NDJSON lines posted as one upload. */
async function uploadCsv(options: Options): Promise<{ id: string; recipients: number }> {
  const rows = createReadStream(options.file).pipe(parse({ columns: true, skip_empty_lines: true, trim: true, bom: true }));
  let toColumn = options.toColumn;
  let line = 0;
  async function* lines(): AsyncGenerator<string> {
    for await (const row of rows as AsyncIterable<Record<string, string>>) {
      line++;
      if (toColumn === undefined) toColumn = ['to', 'phone', 'phone_number'].find((c) => c in row) ?? Object.keys(row)[0];
      for (const c of [toColumn!, ...options.params]) {
        if (!(c in row)) throw new UsageError(`${options.file}: no column '${c}' (columns: ${Object.keys(row).join(', ')})`);
      }
      const entry: Record<string, unknown> = { to: row[toColumn!] };
      if (options.params.length > 0) {
        entry.components = [{ type: 'body', parameters: options.params.map((c) => ({ type: 'text', text: row[c] })) }];
      }
      yield `${JSON.stringify(entry)}\n`;
    }
    if (line === 0) throw new UsageError(`${options.file}: no recipients (a header row, then one row per recipient)`);
  }
  return api(options, 'POST', '/v1/broadcasts/uploads', Readable.from(lines()), 'application/x-ndjson') as Promise<{ id: string; recipients: number }>;
}

async function api(options: Options, method: 'GET' | 'POST', path: string, body?: unknown, type = 'application/json'): Promise<unknown> {
  const res = await request(`${options.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${options.apiKey}`, ...(body === undefined ? {} : { 'content-type': type }) },
    ...(body === undefined ? {} : { body: body instanceof Readable ? body : JSON.stringify(body) }),
  }).catch((err: unknown) => {
    // A usage problem found while streaming the file surfaces here as the body's error.
    const cause = (err as { cause?: unknown }).cause;
    if (err instanceof UsageError || cause instanceof UsageError) throw err instanceof UsageError ? err : cause;
    throw new GatewayAnswer(`cannot reach ${options.url}: ${(err as Error).message}`);
  });
  const text = await res.body.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.statusCode >= 300) {
    const details = json?.error?.error_data?.details ?? json?.error?.message ?? text.slice(0, 200);
    throw new GatewayAnswer(`${method} ${path}: ${res.statusCode} ${details}`);
  }
  return json;
}

function formatPlan(uploaded: number, plan: Record<string, unknown>): string {
  const excluded = Object.entries(plan.excluded as Record<string, number>).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `plan for ${uploaded} recipients:`,
    `  excluded             ${excluded}`,
    `  new to the 24 h limit ${plan.new_unique_recipients} (free slots: ${plan.messaging_limit_free ?? 'unlimited'})`,
    `  sendable now         ${plan.sendable_now}`,
    `  waiting for limit    ${plan.waiting_for_limit}`,
    `  eta                  ${formatDuration(Number(plan.eta_seconds))} (finish at ${plan.finish_at})`,
    '',
  ].join('\n');
}

function formatDuration(sec: number): string {
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${sec % 60} s`;
  return `${Math.floor(sec / 3600)} h ${Math.floor((sec % 3600) / 60)} min`;
}

interface View {
  state: string;
  plan: { recipients: number };
  counts: Record<string, number>;
  eta_seconds: number;
}

/** Polls the broadcast until it ends, drawing a bar on stderr when it is a terminal. */
async function follow(options: Options, id: string, err: NodeJS.WritableStream): Promise<View> {
  const tty = (err as NodeJS.WriteStream).isTTY === true;
  for (;;) {
    const view = await api(options, 'GET', `/v1/broadcasts/${id}`) as View;
    const c = view.counts;
    const done = (c.sent ?? 0) + (c.failed ?? 0) + (c.expired ?? 0) + (c.rejected ?? 0) + (c.cancelled ?? 0);
    const total = done + (c.pending ?? 0) + (c.waiting_for_limit ?? 0) + (c.queued ?? 0);
    if (tty) {
      const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
      err.write(`\r[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${done}/${total} sent ${c.sent ?? 0}` +
        `${c.waiting_for_limit ? `, ${c.waiting_for_limit} waiting for limit` : ''}, eta ${formatDuration(view.eta_seconds)}   `);
    }
    if (view.state !== 'scheduled' && view.state !== 'running') {
      if (tty) err.write('\n');
      return view;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
