/**
 * The Dockerfile, without a Docker daemon: its instructions are read and each stage is played out
 * in temporary directories standing in for the image's /app.
 *
 * - build stage: a clean checkout (the files git tracks, less .dockerignore) gets exactly what the
 *   COPY lines name, then `npm run build` runs for real. `npm ci` needs the registry, so the
 *   project's node_modules (installed from the same package-lock.json) stand in for it, after a
 *   check that the lockfile matches package.json (what `npm ci` refuses otherwise); `npm prune
 *   --omit=dev` is played by copying only the lockfile's non-dev packages.
 * - runtime stage: the files its COPY lines take, with the Dockerfile's ENV, started with its
 *   ENTRYPOINT and CMD (the config path mapped to a temp file, PORT to a free port); its HEALTHCHECK
 *   command must pass, a message must reach the simulator, and SIGTERM must end it cleanly.
 * - defaults, read statically: the port agrees everywhere, the process is not root, and the default
 *   storage path lands in the declared volume, which the runtime user owns.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../bench/macro/processes.js';
import { applyEnv, parseConfig } from '../src/config/load.js';
import { DEFAULT_STORAGE_PATH, ConfigSchema } from '../src/config/schema.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { eventually } from './support/stack.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  steps: Instruction[];
}

/** Instructions by stage: comments and blank lines dropped, `\` continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    lines.push(pending + line);
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const [from = '', as, name] = args.split(/\s+/);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, steps: [] });
    } else {
      stages.at(-1)!.steps.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const build = stages.find((s) => s.name === 'build')!;
const runtime = stages.at(-1)!;
const all = (stage: Stage, op: string) => stage.steps.filter((s) => s.op === op).map((s) => s.args);
const one = (stage: Stage, op: string) => {
  const found = all(stage, op);
  expect(found, `one ${op} in the stage FROM ${stage.from}`).toHaveLength(1);
  return found[0]!;
};
const execForm = (args: string): string[] => JSON.parse(args) as string[];
const envOf = (stage: Stage): Record<string, string> => Object.fromEntries(all(stage, 'ENV').map((a) => {
  const [k, ...v] = a.split('=');
  return [k!.trim(), v.join('=').trim()];
}));
/** The runtime stage's RUN commands, split at `&&`. */
const runtimeCommands = () => all(runtime, 'RUN').flatMap((r) => r.split('&&').map((c) => c.trim()));

const temp: string[] = [];
let sim: Simulator | undefined;
let gateway: ChildProcess | undefined;
afterAll(async () => {
  if (gateway?.exitCode === null) gateway.kill('SIGKILL');
  await sim?.close();
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (tag: string) => {
  const dir = mkdtempSync(join(tmpdir(), `sendgate-docker-${tag}-`));
  temp.push(dir);
  return dir;
};

/** A clean checkout's files (tracked by git) that the build context sends: .dockerignore applied. */
function contextFiles(): string[] {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '');
  return tracked.filter((f) => existsSync(join(ROOT, f)) && !ignored.some((p) => f === p || f.startsWith(`${p.replace(/\/$/, '')}/`)));
}

/** COPY <src…> <dest> from the context into `workdir`, as Docker does for files and directories. */
function copyFromContext(files: string[], args: string, workdir: string): void {
  const parts = args.split(/\s+/);
  const dest = parts.pop()!;
  for (const src of parts) {
    const matched = files.filter((f) => f === src || f.startsWith(`${src}/`));
    expect(matched.length, `COPY ${src}: nothing in a clean checkout`).toBeGreaterThan(0);
    for (const f of matched) {
      const target = f === src
        ? (dest.endsWith('/') || parts.length > 1 ? join(workdir, dest, posix.basename(f)) : join(workdir, dest))
        : join(workdir, dest, f.slice(src.length + 1));
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(ROOT, f), target);
    }
  }
}

/** The lockfile's packages that `npm prune --omit=dev` keeps, copied into `dir/node_modules`. */
function prunedNodeModules(lock: { packages: Record<string, { dev?: boolean }> }, dir: string): void {
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || meta.dev === true) continue;
    if (path.slice('node_modules/'.length).includes('/node_modules/')) continue; // comes with its parent
    cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  }
}

describe('Dockerfile', () => {
  it('builds in a clean checkout and the runtime stage serves with production dependencies only', async () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const files = contextFiles();

    // Build stage, instruction by instruction.
    const buildDir = tempDir('build');
    let pruned: string | undefined;
    expect(one(build, 'WORKDIR')).toBe('/app');
    for (const step of build.steps) {
      if (step.op === 'WORKDIR') continue;
      if (step.op === 'COPY') {
        copyFromContext(files, step.args, buildDir);
        continue;
      }
      expect(step.op, `build stage: ${step.op} ${step.args}`).toBe('RUN');
      for (const command of step.args.split('&&').map((c) => c.trim())) {
        if (command.startsWith('npm ci')) {
          // What npm ci checks before installing: the lockfile describes package.json.
          expect(lock.packages[''].dependencies ?? {}).toEqual(pkg.dependencies ?? {});
          expect(lock.packages[''].devDependencies ?? {}).toEqual(pkg.devDependencies ?? {});
          expect(existsSync(join(buildDir, 'package-lock.json')), 'npm ci needs package-lock.json copied first').toBe(true);
          symlinkSync(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'), 'dir');
        } else if (/^npm run [\w:-]+$/.test(command)) {
          execFileSync('npm', ['run', command.split(' ')[2]!], { cwd: buildDir, stdio: 'pipe' });
        } else if (command === 'npm prune --omit=dev') {
          pruned = tempDir('pruned');
          prunedNodeModules(lock, pruned);
        } else {
          throw new Error(`build stage: no stand-in for '${command}': teach this test what it does`);
        }
      }
    }
    expect(pruned, 'the build stage prunes dev dependencies').toBeDefined();

    // Runtime stage: only what its COPY lines take.
    const appDir = tempDir('app');
    expect(one(runtime, 'WORKDIR')).toBe('/app');
    for (const args of all(runtime, 'COPY')) {
      const from = /^--from=(\S+)\s+(\S+)\s+(\S+)$/.exec(args);
      if (from === null) {
        copyFromContext(files, args, appDir);
        continue;
      }
      expect(from[1]).toBe('build');
      const source = from[2]!.replace(/^\/app\/?/, '');
      const origin = source === 'node_modules' ? join(pruned!, 'node_modules') : join(buildDir, source);
      cpSync(origin, join(appDir, from[3]!), { recursive: true });
    }

    // Started as the image starts it: ENTRYPOINT + CMD, the Dockerfile's ENV, cwd = WORKDIR.
    sim = await startSimulator({ numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-docker' }] });
    const configPath = join(tempDir('config'), 'sendgate.json');
    writeFileSync(configPath, JSON.stringify({
      listen: { host: '127.0.0.1' },
      upstream: { baseUrl: sim.url },
      log: { level: 'warn' },
      tenants: [{ id: 'docker', apiKeys: ['key-docker-test-1'], numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-docker' }] }],
    }));
    const entrypoint = execForm(one(runtime, 'ENTRYPOINT'));
    const cmd = execForm(one(runtime, 'CMD')).map((a) => (a === '/config/sendgate.json' ? configPath : a));
    expect(entrypoint[0]).toBe('node');
    expect(cmd).toContain(configPath);
    const port = await freePort();
    const env = { ...process.env, ...envOf(runtime), PORT: String(port) };
    let stderr = '';
    gateway = spawn(process.execPath, [...entrypoint.slice(1), ...cmd], { cwd: appDir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    gateway.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const base = `http://127.0.0.1:${port}`;
    await eventually(async () => {
      if (gateway!.exitCode !== null) throw new Error(`the runtime stage's command exited ${gateway!.exitCode}: ${stderr}`);
      return (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) ? true : undefined;
    }, 20_000, 50);

    // Its HEALTHCHECK command, as Docker runs it (shell form, the container's env).
    const healthcheck = /\bCMD\s+(.+)$/.exec(one(runtime, 'HEALTHCHECK'))![1]!;
    execFileSync('/bin/sh', ['-c', healthcheck], { cwd: appDir, env, stdio: 'pipe', timeout: 10_000 });

    const res = await fetch(`${base}/v23.0/1001/messages`, {
      method: 'POST',
      headers: { authorization: 'Bearer key-docker-test-1', 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', to: '+16505551234', type: 'text', text: { body: 'from the image' } }),
    });
    expect(res.status).toBe(202);
    await eventually(() => (sim!.stats().totals.accepted === 1 ? true : undefined));
    // The default storage path, relative to WORKDIR, is where the store was made.
    expect(existsSync(join(appDir, DEFAULT_STORAGE_PATH, 'sendgate.db'))).toBe(true);

    const exited = new Promise<number | null>((r) => gateway!.once('exit', (code) => r(code)));
    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 180_000);

  it('defaults: one port everywhere, a non-root user, and the default storage path in the volume that user owns', () => {
    const env = envOf(runtime);
    const defaultPort = (ConfigSchema.properties.listen.properties.port as { default: number }).default;
    expect(Number(env.PORT)).toBe(defaultPort);
    expect(all(runtime, 'EXPOSE')).toEqual([String(defaultPort)]);
    expect(one(runtime, 'HEALTHCHECK')).toContain(`process.env.PORT||${defaultPort}`);
    expect(one(runtime, 'HEALTHCHECK')).toContain('/healthz');
    expect(env.NODE_ENV).toBe('production');
    // Reachable from outside the container: the image's HOST overrides a config's listen.host.
    const minimal = { tenants: [{ id: 't', apiKeys: ['key-minimal-1'], numbers: [{ phoneNumberId: '1', accessToken: 'x' }] }] };
    expect(parseConfig(applyEnv(minimal, env)).listen.host).toBe('0.0.0.0');
    expect(parseConfig(applyEnv({ ...minimal, listen: { host: '127.0.0.1' } }, env)).listen.host).toBe('0.0.0.0');

    const user = one(runtime, 'USER');
    expect(user).not.toMatch(/^(root|0)(:|$)/);

    // Where a config without `storage` keeps its data: DEFAULT_STORAGE_PATH against WORKDIR,
    // following a link the image makes (`ln -s <target> <link>`).
    const workdir = one(runtime, 'WORKDIR');
    let dataPath = posix.resolve(workdir, DEFAULT_STORAGE_PATH);
    for (const command of runtimeCommands()) {
      const link = /^ln -s(?:f)? (\S+) (\S+)$/.exec(command);
      if (link !== null && posix.resolve(workdir, link[2]!) === dataPath) dataPath = posix.resolve(workdir, link[1]!);
    }
    const volumes = all(runtime, 'VOLUME').flatMap((v) => (v.startsWith('[') ? execForm(v) : v.split(/\s+/)));
    const volume = volumes.find((v) => dataPath === v || dataPath.startsWith(`${v}/`));
    expect(volume, `default storage ${dataPath} is in no VOLUME (${volumes.join(', ')})`).toBeDefined();
    const owned = runtimeCommands().some((c) => {
      const chown = /^chown (?:-R )?(\S+) (.+)$/.exec(c);
      return chown !== null && chown[1]!.split(':')[0] === user && chown[2]!.split(/\s+/).includes(volume!);
    });
    expect(owned, `${volume} is not chowned to ${user}`).toBe(true);

    // The build image and the runtime image run the same Node major, one package.json accepts.
    const major = (from: string) => Number(/^node:(\d+)/.exec(from)?.[1]);
    expect(major(build.from)).toBe(major(runtime.from));
    const engines = /^>=(\d+)/.exec(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node);
    expect(major(runtime.from)).toBeGreaterThanOrEqual(Number(engines![1]));
  });
});
