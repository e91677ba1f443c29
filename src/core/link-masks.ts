/**
 * The URL and e-mail passes of normalise() (normalise.ts, step 2) as forward scans. Each answers
 * exactly what String.prototype.replace answers with its pattern, which stays the definition
 * (test/core/normalise-shortcuts.test.ts checks the two against each other), both with flags `gu`:
 *
 *   URL     `(?:https?:\/\/|www\.)\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}\/\S*`   → "<url>"
 *   e-mail  `[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}`               → "<email>"
 *
 * A backtracking engine tries those patterns again from every position of a long run that cannot
 * match ("a.a.a.a…" with no "/" after it, a long word with no "@" after it): quadratic, ~12 ms for
 * 4 KiB and ~3 s for 64 KiB of such text. Every start inside one run shares that run's end, so a run
 * either holds the leftmost match or none: reading each run once gives the same answer in linear time.
 */

/** Scheme and www links: a literal prefix, then one greedy class (no backtracking, linear as a regex). */
const SCHEME_URL_RE = /(?:https?:\/\/|www\.)\S+/gu;
const NON_SPACES_RE = /\S*/uy;

const DOT = 0x2e;
const SLASH = 0x2f;
const AT = 0x40;

/** `[a-z0-9.-]`: the characters of a bare `host/` link before its slash. */
function isHostChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === DOT || c === 0x2d;
}

/** `\w` as `\b` sees it without the `i` flag: ASCII letters, digits and `_`. */
function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/**
 * Bare `host.tld/path` links, `\b(?:[a-z0-9-]+\.)+[a-z]{2,}\/\S*`. Everything before the slash is
 * `[a-z0-9.-]`, and the slash is not, so a match from any start in a run of those characters ends
 * its host part at the run's end: the run must be followed by `/`, its last label must be 2+ letters,
 * and the start must be at a `\b`, not on a dot, before the last dot and after the last `..`.
 */
class BareLinks {
  /** The current run of host characters: [runStart, runEnd). */
  private runEnd = 0;
  private lastDot = -1;
  /** Index of the second dot of the run's last `..` (a start at or before it would hold an empty label). */
  private lastDoubleDot = -1;
  /** The run is followed by `/` and ends in a top-level label of 2+ letters. */
  private linkable = false;
  /** End of the match `next` found. */
  end = 0;

  constructor(private readonly s: string) {}

  /** The leftmost start in [from, limit) of a bare link, or -1. Calls move forward only. */
  next(from: number, limit: number): number {
    const s = this.s;
    for (let i = from; i < limit; i++) {
      if (i >= this.runEnd) {
        if (!isHostChar(s.charCodeAt(i))) continue;
        this.readRun(i);
      }
      if (!this.linkable || i >= this.lastDot) {
        i = this.runEnd - 1;
        continue;
      }
      if (i <= this.lastDoubleDot) {
        i = this.lastDoubleDot;
        continue;
      }
      const c = s.charCodeAt(i);
      if (c === DOT) continue;
      if (isWordChar(c) !== (i > 0 && isWordChar(s.charCodeAt(i - 1)))) {
        NON_SPACES_RE.lastIndex = this.runEnd + 1;
        NON_SPACES_RE.exec(s);
        this.end = NON_SPACES_RE.lastIndex;
        return i;
      }
    }
    return -1;
  }

  private readRun(start: number): void {
    const s = this.s;
    let j = start;
    let lastDot = -1;
    let lastDoubleDot = -1;
    for (let c = s.charCodeAt(j); isHostChar(c); c = s.charCodeAt(++j)) {
      if (c !== DOT) continue;
      if (lastDot >= 0 && lastDot === j - 1) lastDoubleDot = j;
      lastDot = j;
    }
    this.runEnd = j;
    this.lastDot = lastDot;
    this.lastDoubleDot = lastDoubleDot;
    let linkable = s.charCodeAt(j) === SLASH && lastDot >= 0 && j - lastDot > 2;
    for (let k = lastDot + 1; linkable && k < j; k++) {
      const c = s.charCodeAt(k);
      linkable = c >= 0x61 && c <= 0x7a;
    }
    this.linkable = linkable;
  }
}

/** `s` with every URL replaced by `<url>`, as `s.replace(URL pattern, '<url>')`. */
export function maskUrls(s: string): string {
  const bare = new BareLinks(s);
  SCHEME_URL_RE.lastIndex = 0;
  let scheme = SCHEME_URL_RE.exec(s);
  let out = '';
  let from = 0;
  for (;;) {
    // At the same start the scheme alternative wins: it comes first in the pattern.
    const bareStart = bare.next(from, scheme === null ? s.length : scheme.index);
    let start: number;
    let end: number;
    if (bareStart >= 0) {
      start = bareStart;
      end = bare.end;
    } else if (scheme !== null) {
      start = scheme.index;
      end = start + scheme[0].length;
    } else {
      break;
    }
    out += `${s.slice(from, start)}<url>`;
    from = end;
    if (scheme !== null && scheme.index < end) {
      SCHEME_URL_RE.lastIndex = end;
      scheme = SCHEME_URL_RE.exec(s);
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

/** A run of local-part characters; searched from a position, then read greedily (nothing after it to backtrack for). */
const LOCAL_RUN_RE = /[\p{L}\p{N}._%+-]+/gu;
const DOMAIN_RUN_RE = /[\p{L}\p{N}.-]*/uy;
const TWO_LETTERS_RE = /\p{L}{2}/uy;
const LETTERS_RE = /\p{L}*/uy;

/**
 * End of `[\p{L}\p{N}.-]+\.[\p{L}]{2,}` read from `d` (just after the `@`), or -1. Backtracking
 * gives back characters from the end of the domain run until a dot with two letters after it: the
 * last such dot with at least one character before it.
 */
function domainEnd(s: string, d: number): number {
  DOMAIN_RUN_RE.lastIndex = d;
  DOMAIN_RUN_RE.exec(s);
  for (let dot = DOMAIN_RUN_RE.lastIndex - 1; dot > d; dot--) {
    if (s.charCodeAt(dot) !== DOT) continue;
    TWO_LETTERS_RE.lastIndex = dot + 1;
    if (!TWO_LETTERS_RE.test(s)) continue;
    LETTERS_RE.lastIndex = dot + 1;
    LETTERS_RE.exec(s);
    return LETTERS_RE.lastIndex;
  }
  return -1;
}

/**
 * `s` with every e-mail address replaced by `<email>`, as `s.replace(e-mail pattern, '<email>')`.
 * The local part has no `@` in it, so from any start in a run of local-part characters it ends at
 * the run's end: the run needs an `@` right after it and a domain after that, or nothing in it matches.
 */
export function maskEmails(s: string): string {
  let out = '';
  let from = 0;
  LOCAL_RUN_RE.lastIndex = 0;
  for (let run = LOCAL_RUN_RE.exec(s); run !== null; run = LOCAL_RUN_RE.exec(s)) {
    const at = run.index + run[0].length;
    if (s.charCodeAt(at) !== AT) continue;
    const end = domainEnd(s, at + 1);
    if (end < 0) {
      // The domain run is read again as the next local run (it may hold an address itself).
      LOCAL_RUN_RE.lastIndex = at + 1;
      continue;
    }
    out += `${s.slice(from, run.index)}<email>`;
    from = end;
    LOCAL_RUN_RE.lastIndex = end;
  }
  return from === 0 ? s : out + s.slice(from);
}
