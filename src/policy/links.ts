/**
 * Link allowlist: a message may only link to the tenant's domains (subdomains included).
 *
 * What counts as a link, in the texts a user reads (after NFKC and lower-casing, so full-width
 * "ｅｖｉｌ．ｃｏｍ" is seen as evil.com):
 * - `scheme://authority...` for http(s): the host is what follows the last `@` of the authority
 *   (so `https://good.com@evil.com` is evil.com), port dropped, IDN hosts in punycode;
 * - `www.host...`;
 * - a bare `host/path`;
 * - a bare `host` whose top-level domain is one WhatsApp users commonly see linkified (COMMON_TLDS):
 *   a bare word with a dot ("Mr.Smith", "file.txt") is not guessed to be a link.
 * Hosts preceded by `@` are e-mail addresses, not links.
 */
import type { SendContent } from './content.js';

const SCHEME_RE = /\bhttps?:\/\/([^\s/?#]+)/gu;
const WWW_RE = /(?<![\w.-])www\.[^\s/?#:,;!)"'<>]+/gu;
const BARE_RE = /(?<![\w.@/-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24}))(\/)?/gu;

const COMMON_TLDS = new Set([
  'com', 'net', 'org', 'info', 'biz', 'io', 'co', 'me', 'ly', 'gl', 'to', 'app', 'dev', 'page', 'link', 'click', 'site',
  'online', 'store', 'shop', 'xyz', 'top', 'club', 'live', 'life', 'news', 'tk', 'ml', 'ga', 'cf', 'gq', 'ru', 'cn', 'br',
  'mx', 'ar', 'es', 'in', 'uk', 'de', 'fr', 'it', 'nl', 'id', 'tr', 'us', 'ca', 'au', 'pt', 'cl', 'pe', 'za', 'ng', 'ke',
]);

export class LinkAllowlist {
  private readonly domains: ReadonlySet<string>;

  constructor(allowedDomains: readonly string[]) {
    this.domains = new Set(allowedDomains.map((d) => asciiHost(d.toLowerCase().replace(/^\.+|\.+$/g, ''))));
  }

  /** True when `host` is an allowed domain or one of its subdomains. */
  allows(host: string): boolean {
    let h = host;
    for (;;) {
      if (this.domains.has(h)) return true;
      const dot = h.indexOf('.');
      if (dot < 0) return false;
      h = h.slice(dot + 1);
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

/** Hosts linked from a text, lower case, punycode for IDNs, without trailing dots. */
export function linkHosts(text: string): string[] {
  const s = text.normalize('NFKC').toLowerCase();
  const hosts: string[] = [];
  for (const m of s.matchAll(SCHEME_RE)) {
    const authority = m[1]!;
    const host = authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '');
    if (host.length > 0) hosts.push(asciiHost(host));
  }
  // Scheme URLs were read above; blank them so their hosts are not read again as bare domains.
  const rest = s.replace(SCHEME_RE, ' ');
  for (const m of rest.matchAll(WWW_RE)) hosts.push(asciiHost(m[0].replace(/:\d*$/, '')));
  const noWww = rest.replace(WWW_RE, ' ');
  for (const m of noWww.matchAll(BARE_RE)) {
    if (m[3] === '/' || COMMON_TLDS.has(m[2]!)) hosts.push(m[1]!);
  }
  return hosts;
}

/** Punycode form of a host (what the allowlist compares), trailing dots dropped. */
function asciiHost(host: string): string {
  const trimmed = host.replace(/\.+$/, '');
  try {
    return new URL(`http://${trimmed}`).hostname;
  } catch {
    return trimmed;
  }
}
