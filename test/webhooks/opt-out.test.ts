import { describe, expect, it } from 'vitest';
import { compileOptOutWords, DEFAULT_OPT_OUT_WORDS, detectOptOut, normaliseOptOutText } from '../../src/webhooks/opt-out.js';

describe('detectOptOut', () => {
  it.each(['STOP', 'stop', '  Stop  ', 'Stop!', 'STOP ALL', 'stop   all', 'Unsubscribe.', 'cancel', 'BAJA', 'baja', 'parar', 'ARRÊT', 'arret', 'Arrêt !', 'STOPP', 'stopp', '¡Basta!', 'no más', 'Désabonner', 'kündigen'])(
    '%j is an opt-out',
    (text) => {
      expect(detectOptOut(text)).toBe(true);
    },
  );

  it.each(['', 'hi', 'please stop', 'stop sending me offers', 'STOPPED', 'non-stop', 'bajada', 'I want to cancel my order?', 'stop'.repeat(20)])(
    '%j is not an opt-out',
    (text) => {
      expect(detectOptOut(text)).toBe(false);
    },
  );

  it('uses a tenant word list instead of the defaults', () => {
    const words = compileOptOutWords(['Salir', 'NO QUIERO']);
    expect(detectOptOut('salir', words)).toBe(true);
    expect(detectOptOut('No   quiero.', words)).toBe(true);
    expect(detectOptOut('STOP', words)).toBe(false);
    expect(detectOptOut('SALIR', ['salir'])).toBe(true);
  });

  it('every default word matches itself in lower case', () => {
    for (const words of Object.values(DEFAULT_OPT_OUT_WORDS)) for (const w of words) expect(detectOptOut(w.toLowerCase()), w).toBe(true);
  });

  it('normalises accents, case, and outer punctuation only', () => {
    expect(normaliseOptOutText(' ¿Dé-sa  bonner? ')).toBe('DE-SA BONNER');
  });
});
