import { describe, expect, it } from 'vitest';
import { MESSAGE_ID_PATTERN, newMessageId } from '../../src/gateway/ids.js';

describe('message ids', () => {
  it('are unique, well-formed and ordered by creation time', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => newMessageId(1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(MESSAGE_ID_PATTERN);
    expect([...ids].sort()).toEqual(ids.map((id) => id).sort());
    expect(newMessageId(1_000).slice(0, 13) < newMessageId(2_000).slice(0, 13)).toBe(true);
  });
});
