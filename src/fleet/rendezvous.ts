/**
 * Which live member should own a number: rendezvous (highest random weight) hashing. Every member
 * computes the same answer from the same member list; when a member leaves, only its numbers move,
 * and when one joins it takes about 1/N of everyone's.
 */

/** FNV-1a, 32 bits, then a final mix: spreads short, similar strings (process ids, number ids). */
function weight(member: string, key: string): number {
  let h = 0x811c9dc5;
  const text = `${member}\u0000${key}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** The member with the highest weight for `key` (ties: the smaller id); undefined without members. */
export function preferredOwner(members: readonly string[], key: string): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const member of members) {
    const w = weight(member, key);
    if (w > bestWeight || (w === bestWeight && best !== undefined && member < best)) {
      best = member;
      bestWeight = w;
    }
  }
  return best;
}
