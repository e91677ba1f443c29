/**
 * Opt-out words in inbound messages. A message is an opt-out when, as a whole, it equals one of
 * the words after normalisation:
 *   - Unicode NFKD, combining marks removed ("ARRÊT" → "ARRET", "DÉSABONNER" → "DESABONNER");
 *   - case-folded (upper case), leading/trailing whitespace trimmed, inner runs of whitespace
 *     collapsed to one space;
 *   - leading and trailing punctuation removed ("Stop!", "baja.", "¡Basta!" → match).
 * Whole-message only: "please don't stop" or "stop sending me offers" are not opt-outs, since a
 * false positive silently suppresses a customer's marketing. Word lists can be replaced per
 * tenant; the defaults below cover the languages most WhatsApp businesses send in.
 */

export const DEFAULT_OPT_OUT_WORDS: Readonly<Record<string, readonly string[]>> = {
  en: ['STOP', 'STOP ALL', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPT OUT', 'OPTOUT', 'OPT-OUT', 'REVOKE'],
  es: ['BAJA', 'DAR DE BAJA', 'PARAR', 'DETENER', 'CANCELAR', 'NO MAS', 'ALTO'],
  pt: ['PARAR', 'SAIR', 'CANCELAR', 'DESCADASTRAR', 'DESINSCREVER', 'PARE'],
  fr: ['ARRET', 'ARRETER', 'STOP', 'DESABONNER', 'DESINSCRIRE', 'DESINSCRIPTION'],
  de: ['STOPP', 'ABMELDEN', 'AUSTRAGEN', 'KUNDIGEN', 'ABBESTELLEN'],
  it: ['BASTA', 'ANNULLA', 'DISISCRIVIMI', 'CANCELLAMI', 'FERMA'],
  nl: ['AFMELDEN', 'UITSCHRIJVEN'],
  id: ['BERHENTI'],
  tr: ['DUR', 'IPTAL'],
};

/** Every default word, normalised, across languages. */
export const DEFAULT_OPT_OUT_SET: ReadonlySet<string> = compileOptOutWords(Object.values(DEFAULT_OPT_OUT_WORDS).flat());

/** Normalises a word list once (config time) for `detectOptOut`. */
export function compileOptOutWords(words: Iterable<string>): ReadonlySet<string> {
  const set = new Set<string>();
  for (const w of words) {
    const n = normaliseOptOutText(w);
    if (n.length > 0) set.add(n);
  }
  return set;
}

/** True when the whole message, normalised, is one of `words` (default: all languages). */
export function detectOptOut(text: string, words: ReadonlySet<string> | readonly string[] = DEFAULT_OPT_OUT_SET): boolean {
  const set = words instanceof Set ? words : compileOptOutWords(words as readonly string[]);
  // Opt-out words are short; skip normalising long messages.
  if (text.length > 64) return false;
  return set.has(normaliseOptOutText(text));
}

export function normaliseOptOutText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toUpperCase()
    .trim()
    .replace(/[\s\p{P}]+$/u, '')
    .replace(/^[\s\p{P}]+/u, '')
    .replace(/\s+/g, ' ');
}
