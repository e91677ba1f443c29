/**
 * Top self-time functions of a V8 CPU profile (node --cpu-prof), to say where a process's time goes.
 *   node dist/bench/support/cpu-profile.js <file.cpuprofile | dir> [count]
 * A directory means its newest .cpuprofile.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface Profile { nodes: ProfileNode[]; samples: number[] }

function newest(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
}

const target = process.argv[2];
if (target === undefined) throw new Error('usage: cpu-profile.js <file.cpuprofile | dir> [count]');
const file = statSync(target).isDirectory() ? newest(target) : target;
const count = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
for (const id of profile.samples) {
  const f = byId.get(id)!.callFrame;
  const where = f.url === '' ? '' : ` ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;
  const name = `${f.functionName || '(anonymous)'}${where}`;
  self.set(name, (self.get(name) ?? 0) + 1);
}
const total = profile.samples.length;
console.log(`${file}: ${total} samples; top ${count} by self time`);
for (const [name, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, count)) {
  console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${name}`);
}
