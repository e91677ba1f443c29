/**
 * Run one measurement in its own Node process (benchmarks must not share a process: JIT state,
 * GC pressure and heap size of one implementation would skew the next). The child prints one
 * JSON line on stdout as its result.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export async function runChild<T>(script: URL, args: readonly string[], nodeFlags: readonly string[] = ['--expose-gc']): Promise<T> {
  const child = spawn(process.execPath, [...nodeFlags, fileURLToPath(script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`${fileURLToPath(script)} ${args.join(' ')} exited with ${code}`);
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as T;
}

/** A table with right-aligned columns, for terminal output. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
