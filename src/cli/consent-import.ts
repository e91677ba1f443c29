/**
 * `sendgate consent import FILE.csv`: records a consent list through the consent API
 * (POST /v1/consent/bulk, the tenant's API key), streaming the file in batches so a list of
 * millions never sits in memory. `;` or `,` delimited (detected from the first line, or
 * --delimiter), RFC 4180 quotes, an optional header naming the columns (recipient, status,
 * source, at; any order, others ignored), else recipient,status[,source[,at]]. A progress bar on
 * stderr when it is a terminal; a summary at the end.
 *
 * A batch with a bad record records nothing (the API's rule): the import stops there and says which
 * line, and how many records before it were recorded.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { parse } from 'csv-parse';
import { CliError, EXIT } from './exit-codes.js';
import { call, tenantTarget, withApiKey, type GatewayTarget } from './gateway-client.js';

const COLUMNS = ['recipient', 'status', 'source', 'at'] as const;
type Column = (typeof COLUMNS)[number];

export interface ImportSummary {
  records: number;
  applied: number;
  batches: number;
  elapsedMs: number;
}

/** `;` when the first line has more of them than `,` (spreadsheets in many locales write `;`). */
export function detectDelimiter(file: string): ';' | ',' {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    const first = buffer.subarray(0, n).toString('utf8').split(/\r?\n/, 1)[0] ?? '';
    return (first.match(/;/g)?.length ?? 0) > (first.match(/,/g)?.length ?? 0) ? ';' : ',';
  } finally {
    closeSync(fd);
  }
}

export async function importConsent(target: GatewayTarget, file: string, o: { delimiter?: ';' | ','; batchSize: number; progress: boolean }): Promise<ImportSummary> {
  const startedMs = Date.now();
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.usage);
  }
  const delimiter = o.delimiter ?? detectDelimiter(file);
  const input = createReadStream(file);
  const parser = input.pipe(parse({ delimiter, bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }));
  const bar = o.progress ? new SingleBar({ stream: process.stderr, format: 'consent import [{bar}] {percentage}% | {records} records', hideCursor: true }) : undefined;
  bar?.start(size, 0, { records: 0 });

  const summary: ImportSummary = { records: 0, applied: 0, batches: 0, elapsedMs: 0 };
  let columns: Array<Column | null> | undefined;
  let batch: Array<Record<string, string>> = [];
  let lines: number[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    try {
      const answer = (await call(target, 'POST', '/v1/consent/bulk', batch)) as { recorded: number; applied: number };
      summary.records += answer.recorded;
      summary.applied += answer.applied;
      summary.batches++;
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      // "record 12: …" of this batch → the line of the file it came from.
      const message = err.message.replace(/record (\d+):/, (_m, i: string) => `line ${lines[Number(i) - 1] ?? '?'}:`);
      throw new CliError(`${message}\n${summary.records} records before line ${lines[0]} were recorded; none from there on`, err.exitCode);
    }
    batch = [];
    lines = [];
    bar?.update(input.bytesRead, { records: summary.records });
  };
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (columns === undefined) {
        columns = headerOf(record);
        if (columns !== undefined) continue;
        columns = [...COLUMNS];
      }
      const row: Record<string, string> = {};
      record.forEach((cell, i) => {
        const name = columns![i];
        if (name !== null && name !== undefined && cell !== '') row[name] = cell;
      });
      batch.push(row);
      lines.push(info.lines);
      if (batch.length >= o.batchSize) await flush();
    }
    await flush();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${file}: ${(err as Error).message}`, EXIT.failure);
  } finally {
    bar?.update(input.bytesRead, { records: summary.records });
    bar?.stop();
    input.destroy();
  }
  summary.elapsedMs = Date.now() - startedMs;
  return summary;
}

/** The columns named by a header line, or undefined when the first line is a record. */
function headerOf(record: readonly string[]): Array<Column | null> | undefined {
  const names = record.map((c) => c.toLowerCase());
  if (!names.includes('recipient')) return undefined;
  return names.map((n) => ((COLUMNS as readonly string[]).includes(n) ? (n as Column) : null));
}

function batchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('a whole number from 1 to 100000');
  return n;
}

function delimiterOf(value: string): ';' | ',' {
  if (value !== ';' && value !== ',') throw new InvalidArgumentError("';' or ','");
  return value;
}

export function consentCommand(): Command {
  const consent = new Command('consent').description("record opt-ins and opt-outs through the tenant's consent API");
  withApiKey(consent.command('import').description('import a CSV list of consent records, streamed in batches').argument('<file>', 'CSV file: recipient,status[,source[,at]] (header optional)'))
    .option('--delimiter <c>', "';' or ',' (default: detected from the first line)", delimiterOf)
    .option('--batch-size <n>', 'records per request (at most 100000)', batchSize, 5000)
    .option('--no-progress', 'no progress bar')
    .action(async (file: string, opts: { url: string; apiKey?: string; delimiter?: ';' | ','; batchSize: number; progress: boolean }) => {
      const s = await importConsent(tenantTarget(opts), file, {
        ...(opts.delimiter !== undefined ? { delimiter: opts.delimiter } : {}),
        batchSize: opts.batchSize,
        progress: opts.progress && process.stderr.isTTY === true,
      });
      process.stdout.write(`consent import: ${s.records} records recorded in ${s.batches} request(s), ${s.applied} changed a recipient's current status (${(s.elapsedMs / 1000).toFixed(1)} s)\n`);
    });
  return consent;
}
