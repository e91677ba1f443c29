/**
 * Link allowlist: a message may only link to the tenant's domains (subdomains included).
 *
 * What counts as a link, in the texts a user reads (after NFKC and lower-casing, so full-width
 * "ｅｖｉｌ．ｃｏｍ" is seen as evil.com):
 * - `scheme://authority...` for http(s): the host is what follows the last `@` of the authority
 *   (so `https://good.com@evil.com` is evil.com), port dropped, IDN hosts in punycode;
 * - `www.host...`;
 * - a bare `host/path`;
 * - a bare `host` whose top-level domain is in IANA's root zone (LINK_TLDS, the maintained `tlds`
 *   package): WhatsApp linkifies `pay.zip` or `login.support` as readily as `evil.com`, so every
 *   real TLD counts; a bare word with a dot that is not one ("Mr.Smith", "file.txt") is no link.
 * Hosts preceded by `@` are e-mail addresses, not links.
 */
import { createRequire } from 'node:module';
import type { SendContent } from './content.js';

const SCHEME_RE = /\bhttps?:\/\/([^\s/?#]+)/gu;
const WWW_RE = /(?<![\w.-])www\.[^\s/?#:,;!)"'<>]+/gu;
const BARE_RE = /(?<![\w.@/-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24}))(\/)?/gu;

/** Every top-level domain of IANA's root zone (about 1,450; the package ships it as JSON). */
export const LINK_TLDS: ReadonlySet<string> = new Set(createRequire(import.meta.url)('tlds') as string[]);

const ANSWERS_MAX = 4096;

export class LinkAllowlist {
  private readonly domains: ReadonlySet<string>;
  /** Length of the longest allowed domain: no longer suffix of a host can be one. */
  private readonly longestChars: number;
  /** Answers of allows() by host: a tenant's messages link to few hosts (bounded, cleared when full). */
  private readonly answers = new Map<string, boolean>();

  constructor(allowedDomains: readonly string[]) {
    this.domains = new Set(allowedDomains.map((d) => asciiHost(d.toLowerCase().replace(/^\.+|\.+$/g, ''))));
    let longest = 0;
    for (const d of this.domains) longest = Math.max(longest, d.length);
    this.longestChars = longest;
  }

  /** True when `host` is an allowed domain or one of its subdomains. */
  allows(host: string): boolean {
    let answer = this.answers.get(host);
    if (answer === undefined) {
      answer = this.walk(host);
      if (this.answers.size >= ANSWERS_MAX) this.answers.clear();
      this.answers.set(host, answer);
    }
    return answer;
  }

  /**
   * The host and its parent domains, from the first one no longer than the longest allowed domain:
   * looking up every suffix of a host with thousands of labels hashed each of them (quadratic).
   */
  private walk(host: string): boolean {
    let from = 0;
    if (host.length > this.longestChars) {
      from = host.indexOf('.', host.length - this.longestChars - 1) + 1;
      if (from === 0) return false;
    }
    for (;;) {
      if (this.domains.has(from === 0 ? host : host.slice(from))) return true;
      const dot = host.indexOf('.', from);
      if (dot < 0) return false;
      from = dot + 1;
    }
  }

  /** The first linked host not allowed, or undefined when every link is allowed. */
  firstRefused(content: SendContent): string | undefined {
    for (const url of content.urls) {
      for (const host of linkHosts(url)) if (!this.allows(host)) return host;
    }
    for (const text of content.texts) {
      for (const host of linkHosts(text)) if (!this.allows(host)) return host;
    }
    return undefined;
  }
}

/** ASCII is its own NFKC form: only other text needs the (ICU) normalisation. */
const NON_ASCII_RE = /[^\x00-\x7f]/;
/**
 * Every bare-host match has a label character, a dot and a label character in a row; scheme and
 * www links need ':' or a dot. Texts without them (most replies) skip the three scans.
 */
const BARE_HINT_RE = /[a-z0-9]\.[a-z0-9]/;
const PORT_RE = /:\d*$/;
const NO_HOSTS: readonly string[] = Object.freeze([]);

/**
 * Hosts linked from a text, lower case, punycode for IDNs, without trailing dots.
 * The work is skipped where it cannot find anything (on the 2-core bench machine, for a 100-char
 * text: NFKC ~0.4 µs, the bare-host scan ~1.7 µs, all of it ~6.7 µs): NFKC only for non-ASCII
 * text, each scan only when its literal prefix or hint occurs; matches are read with exec()
 * (matchAll clones its regex on every call) and blanked from their indices (no second scan).
 * The answers are those of the three-regex definition above (property test in
 * test/policy/links.property.test.ts against that definition written out plainly).
 */
export function linkHosts(text: string): readonly string[] {
  const s = (NON_ASCII_RE.test(text) ? text.normalize('NFKC') : text).toLowerCase();
  if (s.indexOf('.') < 0 && s.indexOf(':') < 0) return NO_HOSTS;
  let hosts: string[] | undefined;
  let rest = s;
  if (s.includes('://')) {
    SCHEME_RE.lastIndex = 0;
    let blanked = '';
    let from = 0;
    for (let m = SCHEME_RE.exec(s); m !== null; m = SCHEME_RE.exec(s)) {
      const authority = m[1]!;
      let host = authority.slice(authority.lastIndexOf('@') + 1);
      if (host.includes(':')) host = host.replace(PORT_RE, '');
      if (host.length > 0) (hosts ??= []).push(asciiHost(host));
      // Scheme URLs were read here; blank them so their hosts are not read again as bare domains.
      blanked += `${s.slice(from, m.index)} `;
      from = m.index + m[0].length;
    }
    if (from > 0) rest = blanked + s.slice(from);
  }
  if (rest.includes('www.')) {
    WWW_RE.lastIndex = 0;
    let blanked = '';
    let from = 0;
    for (let m = WWW_RE.exec(rest); m !== null; m = WWW_RE.exec(rest)) {
      const h = m[0];
      (hosts ??= []).push(asciiHost(h.includes(':') ? h.replace(PORT_RE, '') : h));
      blanked += `${rest.slice(from, m.index)} `;
      from = m.index + h.length;
    }
    if (from > 0) rest = blanked + rest.slice(from);
  }
  if (BARE_HINT_RE.test(rest)) {
    BARE_RE.lastIndex = 0;
    for (let m = BARE_RE.exec(rest); m !== null; m = BARE_RE.exec(rest)) {
      if (m[3] === '/' || LINK_TLDS.has(m[2]!)) (hosts ??= []).push(m[1]!);
    }
  }
  return hosts ?? NO_HOSTS;
}

/**
 * Hosts seen recently and their punycode form: `new URL` is ~0.5 µs a host, and a tenant's
 * messages link to a handful of hosts. Bounded: cleared when full (a burst of new hosts costs
 * what it cost without the cache).
 */
const ASCII_HOSTS = new Map<string, string>();
const ASCII_HOSTS_MAX = 4096;

/** Punycode form of a host (what the allowlist compares), trailing dots dropped. */
function asciiHost(host: string): string {
  const cached = ASCII_HOSTS.get(host);
  if (cached !== undefined) return cached;
  const ascii = toAsciiHost(host);
  if (ASCII_HOSTS.size >= ASCII_HOSTS_MAX) ASCII_HOSTS.clear();
  ASCII_HOSTS.set(host, ascii);
  return ascii;
}

function toAsciiHost(host: string): string {
  const trimmed = host.replace(/\.+$/, '');
  try {
    return new URL(`http://${trimmed}`).hostname;
  } catch {
    return trimmed;
  }
}
