/**
 * Text normalisation for repeated-content fingerprints. Two bodies that differ only in the parts
 * a bulk sender personalises (names, codes, amounts, tracking links, spacing, case) must get the
 * same fingerprint; the fingerprint is xxh64 of the UTF-8 bytes of `normalise(text)`.
 *
 * Steps, in order (each one documented by a test in test/core/normalise.test.ts):
 * 1. Unicode NFKC, then lower case (locale-independent), so "ＨＩ" and "hi" match.
 * 2. URLs (scheme or www. or domain/path) become `<url>`; e-mail addresses become `<email>`.
 *    Before digits, because links carry digits.
 * 3. Names after a greeting. Policy: at the start of the text or of a line, a greeting word
 *    (hi, hello, hey, dear, good morning/afternoon/evening, hola, buenas, buenos días, buenas
 *    tardes/noches, estimado/a, querido/a, olá, oi, bom dia, boa tarde/noite, bonjour, salut,
 *    hallo, ciao) followed by one to three words and then `,` `!` `:` `;` or the end of the line:
 *    those words become `<name>` ("Hi Ana Paula," → "hi <name>,"). With no such punctuation
 *    within three words, only the first word after the greeting is masked ("Hi Ana your code"
 *    → "hi <name> your code"). Names elsewhere in the text are not guessed at.
 * 4. Runs of decimal digits (any script) become `#`: codes, amounts, dates, order numbers.
 * 5. Whitespace runs collapse to one space; leading and trailing whitespace is dropped.
 * Every pass runs in time linear in the text, whatever the text (test/core/normalise-linear.test.ts).
 */
import { maskEmails, maskUrls } from './link-masks.js';

const GREETING =
  "(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hola|buenos d[ií]as|buenas(?: tardes| noches)?|estimad[oa]s?|querid[oa]s?|ol[aá]|oi|bom dia|boa (?:tarde|noite)|bonjour|salut|hallo|ciao)";
const WORD = "\\p{L}[\\p{L}\\p{M}'’.\\-]*";

const NAME_LIST_RE = new RegExp(`^([ \\t]*${GREETING}[ \\t]+)${WORD}(?:[ \\t]+${WORD}){0,2}(?=[ \\t]*(?:[,!:;]|$))`, 'gmu');
const NAME_ONE_RE = new RegExp(`^([ \\t]*${GREETING}[ \\t]+)${WORD}`, 'gmu');
const DIGITS_RE = /\p{Nd}+/gu;
const SPACE_RE = /\s+/gu;

const ASCII_RE = /^[\x00-\x7f]*$/;

export function normalise(text: string): string {
  // Shortcuts with identical output, each skipping a pass that cannot match (NFKC leaves ASCII unchanged).
  let s = (ASCII_RE.test(text) ? text : text.normalize('NFKC')).toLowerCase();
  // URLs and e-mails by linear scans (link-masks.ts): their patterns backtrack quadratically on hostile text.
  if (s.includes('/') || s.includes('www.')) s = maskUrls(s);
  if (s.includes('@')) s = maskEmails(s);
  s = s.replace(NAME_LIST_RE, '$1<name>').replace(NAME_ONE_RE, '$1<name>');
  s = s.replace(DIGITS_RE, '#');
  return s.replace(SPACE_RE, ' ').trim();
}
