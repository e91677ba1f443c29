/**
 * Crash tests run a child process on the current src/ code, never on a stale dist/ build: this
 * transpiles the child script and, following its relative imports, everything it loads into `out`
 * (same tree, type-stripping only), with node_modules linked so bare imports resolve.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Relative module specifiers of a source file (`from './x.js'`, `import('./y.js')`). */
function relativeImports(source: string): string[] {
  return [...source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
}

/**
 * Transpiles `child` (a path relative to the project root) into `out`; returns the child's .js path.
 * `also`: entry points loaded by URL rather than imported (the store's worker script).
 */
export function transpileChild(child: string, out: string, also: readonly string[] = []): string {
  const pending = [join(ROOT, child), ...also.map((file) => join(ROOT, file))];
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
    for (const spec of relativeImports(source)) pending.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  // The WASM core (build/core.wasm), found two levels above src/core as in the source tree.
  symlinkSync(join(ROOT, 'build'), join(out, 'build'), 'dir');
  // The dashboard's static files (src/http/dashboard), read next to the route module that serves them.
  if (existsSync(join(out, 'src/http/routes'))) symlinkSync(join(ROOT, 'src/http/dashboard'), join(out, 'src/http/dashboard'), 'dir');
  return join(out, child).replace(/\.ts$/, '.js');
}
