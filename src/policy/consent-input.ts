/**
 * Consent records from API input (one JSON object, a JSON array, or CSV), validated all-or-nothing:
 * a bulk import with one bad row records nothing and names the row, so a half-imported list never
 * leaves the operator guessing which opt-outs were kept.
 */
import { toE164Digits } from '../cloud-api/e164.js';
import { GatewayError } from '../errors.js';
import type { ConsentRecord, ConsentStatus } from './types.js';

export const MAX_BULK_RECORDS = 100_000;
/** Any printable text: sources are audit labels ("web, footer form"), never parsed. */
const SOURCE_RE = /^[^\p{C}]{1,64}$/u;
/**
 * Consent dated more than this in the future is refused as bad input. Within it (clocks differ),
 * `at` counts as now: a record dated ahead would outrank every STOP that came before that date.
 */
const MAX_FUTURE_MS = 5 * 60_000;

export interface RawConsent {
  recipient?: unknown;
  status?: unknown;
  source?: unknown;
  at?: unknown;
}

/** Validates one record; `where` prefixes error details ("record 3: "). */
export function toConsentRecord(raw: unknown, tenantId: string, defaultSource: string, nowMs: number, where = ''): ConsentRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new GatewayError('INVALID_PARAMETER', `${where}expected an object {"recipient","status","source"?,"at"?}`);
  }
  const r = raw as RawConsent;
  if (typeof r.recipient !== 'string') throw new GatewayError('INVALID_RECIPIENT', `${where}recipient must be an E.164 phone number string`);
  const recipient = toE164Digits(r.recipient);
  if (recipient === null) throw new GatewayError('INVALID_RECIPIENT', `${where}recipient '${r.recipient.slice(0, 32)}' is not a valid E.164 phone number`);
  if (r.status !== 'opt_in' && r.status !== 'opt_out') throw new GatewayError('INVALID_PARAMETER', `${where}status must be "opt_in" or "opt_out"`);
  let source = defaultSource;
  if (r.source !== undefined && r.source !== '') {
    if (typeof r.source !== 'string' || !SOURCE_RE.test(r.source)) {
      throw new GatewayError('INVALID_PARAMETER', `${where}source must be 1-64 printable characters`);
    }
    source = r.source;
  }
  let atMs = nowMs;
  if (r.at !== undefined && r.at !== '') {
    atMs = typeof r.at === 'string' ? Date.parse(r.at) : typeof r.at === 'number' ? r.at : Number.NaN;
    if (!Number.isFinite(atMs) || atMs <= 0) throw new GatewayError('INVALID_PARAMETER', `${where}at must be an ISO 8601 date-time or epoch ms`);
    if (atMs > nowMs + MAX_FUTURE_MS) throw new GatewayError('INVALID_PARAMETER', `${where}at is in the future`);
    atMs = Math.min(atMs, nowMs);
  }
  return { tenantId, recipient, status: r.status as ConsentStatus, source, atMs };
}

export function toConsentRecords(raws: readonly unknown[], tenantId: string, defaultSource: string, nowMs: number): ConsentRecord[] {
  if (raws.length === 0) throw new GatewayError('INVALID_PARAMETER', 'no consent records given');
  if (raws.length > MAX_BULK_RECORDS) throw new GatewayError('INVALID_PARAMETER', `at most ${MAX_BULK_RECORDS} records per request`);
  return raws.map((raw, i) => toConsentRecord(raw, tenantId, defaultSource, nowMs, `record ${i + 1}: `));
}

/**
 * CSV `recipient,status[,source[,at]]`, one record a line (RFC 4180 quoting allowed). A first line
 * naming the columns is a header and skipped. Blank lines are ignored.
 */
export function parseConsentCsv(text: string): RawConsent[] {
  const rows = parseCsv(text);
  const first = rows[0];
  if (first !== undefined && first[0]?.trim().toLowerCase() === 'recipient') rows.shift();
  return rows.map((cells, i) => {
    if (cells.length < 2 || cells.length > 4) {
      throw new GatewayError('INVALID_PARAMETER', `record ${i + 1}: expected recipient,status[,source[,at]] (got ${cells.length} columns)`);
    }
    return { recipient: cells[0]!.trim(), status: cells[1]!.trim(), source: cells[2]?.trim(), at: cells[3]?.trim() };
  });
}

/** Minimal RFC 4180: quoted fields may hold commas, newlines and doubled quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  const endRow = (): void => {
    row.push(cell);
    if (row.length > 1 || row[0]!.trim() !== '') rows.push(row);
    row = [];
    cell = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell.trim() === '') { quoted = true; cell = ''; }
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n') endRow();
    else if (c !== '\r') cell += c;
    i++;
  }
  if (quoted) throw new GatewayError('INVALID_PARAMETER', 'CSV ends inside a quoted field');
  if (cell !== '' || row.length > 0) endRow();
  return rows;
}
