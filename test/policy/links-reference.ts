/**
 * The link-host definition of src/policy/links.ts written out plainly (NFKC and lower case, then
 * the three scans in turn, each host through `new URL`), with none of its shortcuts: the property
 * test checks that the fast version answers the same.
 */
const SCHEME_RE = /\bhttps?:\/\/([^\s/?#]+)/gu;
const WWW_RE = /(?<![\w.-])www\.[^\s/?#:,;!)"'<>]+/gu;
const BARE_RE = /(?<![\w.@/-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24}))(\/)?/gu;

export function referenceLinkHosts(text: string, commonTlds: ReadonlySet<string>): string[] {
  const s = text.normalize('NFKC').toLowerCase();
  const hosts: string[] = [];
  for (const m of s.matchAll(SCHEME_RE)) {
    const authority = m[1]!;
    const host = authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '');
    if (host.length > 0) hosts.push(asciiHost(host));
  }
  const rest = s.replace(SCHEME_RE, ' ');
  for (const m of rest.matchAll(WWW_RE)) hosts.push(asciiHost(m[0].replace(/:\d*$/, '')));
  const noWww = rest.replace(WWW_RE, ' ');
  for (const m of noWww.matchAll(BARE_RE)) {
    if (m[3] === '/' || commonTlds.has(m[2]!)) hosts.push(m[1]!);
  }
  return hosts;
}

function asciiHost(host: string): string {
  const trimmed = host.replace(/\.+$/, '');
  try {
    return new URL(`http://${trimmed}`).hostname;
  } catch {
    return trimmed;
  }
}
