/** normalise() skips passes that cannot match; its output must equal the full pipeline's on any text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalise } from '../../src/core/normalise.js';

const GREETING = "(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hola|buenos d[ií]as|buenas(?: tardes| noches)?|estimad[oa]s?|querid[oa]s?|ol[aá]|oi|bom dia|boa (?:tarde|noite)|bonjour|salut|hallo|ciao)";
const WORD = "\\p{L}[\\p{L}\\p{M}'’.\\-]*";
/** The pipeline with every pass always run (the definition the shortcuts must match). */
function full(text: string): string {
  let s = text.normalize('NFKC').toLowerCase();
  s = s.replace(/(?:https?:\/\/|www\.)\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}\/\S*/gu, '<url>').replace(/[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu, '<email>');
  s = s.replace(new RegExp(`^([ \\t]*${GREETING}[ \\t]+)${WORD}(?:[ \\t]+${WORD}){0,2}(?=[ \\t]*(?:[,!:;]|$))`, 'gmu'), '$1<name>')
    .replace(new RegExp(`^([ \\t]*${GREETING}[ \\t]+)${WORD}`, 'gmu'), '$1<name>');
  s = s.replace(/\p{Nd}+/gu, '#');
  return s.replace(/\s+/gu, ' ').trim();
}

const pieces = fc.constantFrom('Hi Ana, ', 'WWW.Shop.example/x ', 'https://a.b/c?d=1 ', 'mail me: a.b@c.io ', 'Ｈｉ ', 'code 123 ', 'shop.example/p/9 ', '@ ', '/ ', 'Olá João! ', '\n', 'Ⅻ ', 'ﬁ ', 'x.y ', '٣٤ ');
const texts = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.array(pieces, { maxLength: 8 }).map((p) => p.join('')));

describe('normalise shortcuts', () => {
  it('give the same output as the full pipeline', () => {
    fc.assert(fc.property(texts, (text) => {
      expect(normalise(text)).toBe(full(text));
    }), { numRuns: 2000 });
  });
});
