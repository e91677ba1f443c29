/**
 * docker-compose.yml and deploy/, without a Docker daemon.
 *
 * - static: the compose file is read (a small YAML reader for the block subset it uses, checked
 *   against PyYAML when python3 has it) and its wiring is checked against the files it mounts,
 *   loaded with the real loaders: Redis durable as the gateways require, both gateways on that
 *   Redis through REDIS_URL with the config at the path the Dockerfile's CMD reads, the simulator
 *   their upstream with the same numbers and tokens, nginx upstreaming both gateways.
 * - live (where an nginx binary exists): the same topology on 127.0.0.1: a durable redis-server,
 *   the simulator from deploy/simulator.json, two `sendgate serve` processes with deploy/fleet.json
 *   and the compose file's environment, nginx with deploy/nginx.conf; host names become local
 *   ports, nothing else changes. Sends through nginx reach both gateways and the simulator, a
 *   status read through nginx finds the message whichever process answers, and the simulator's
 *   signed status webhooks come back through nginx.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, freePort, spawnServer, type Child } from '../bench/macro/processes.js';
import { loadConfigFile } from '../src/config/load.js';
import { loadSimConfigFile, parseSimConfig } from '../src/sim/config.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { startRedis, type RedisServer } from './support/redis-server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// ---- a YAML reader for the block subset a compose file uses -----------------------------------

type Yaml = string | number | boolean | null | Yaml[] | { [k: string]: Yaml };

/** Block maps and sequences, `# comments`, plain or quoted scalars, flow sequences of JSON strings. */
function readYaml(text: string): Yaml {
  const lines = text.split('\n')
    .map((raw) => raw.replace(/\s+#.*$/, '').replace(/^\s*#.*$/, ''))
    .filter((l) => l.trim() !== '')
    .map((l) => ({ indent: l.length - l.trimStart().length, text: l.trim() }));
  let i = 0;
  const scalar = (s: string): Yaml => {
    if (s.startsWith('[')) return JSON.parse(s) as Yaml[]; // flow sequences here are JSON arrays
    if (s.startsWith('"')) return JSON.parse(s) as string;
    if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
    if (/^-?\d+$/.test(s)) return Number(s);
    if (s === 'true' || s === 'false') return s === 'true';
    if (s === 'null' || s === '~') return null;
    if (/^[[{&*!|>%@`]/.test(s)) throw new Error(`readYaml: '${s}' is outside the subset this test reads: teach it`);
    return s;
  };
  const block = (indent: number): Yaml => {
    if (lines[i]!.text.startsWith('- ')) {
      const list: Yaml[] = [];
      while (i < lines.length && lines[i]!.indent === indent && lines[i]!.text.startsWith('- ')) list.push(scalar(lines[i++]!.text.slice(2).trim()));
      return list;
    }
    const map: { [k: string]: Yaml } = {};
    while (i < lines.length && lines[i]!.indent === indent) {
      const { text: line } = lines[i++]!;
      const colon = /^("[^"]*"|[^:]+):(?:\s+(.*))?$/.exec(line);
      if (colon === null) throw new Error(`readYaml: cannot read '${line}'`);
      const key = colon[1]!.startsWith('"') ? (JSON.parse(colon[1]!) as string) : colon[1]!;
      if (colon[2] !== undefined) map[key] = scalar(colon[2]);
      else if (i < lines.length && lines[i]!.indent > indent) map[key] = block(lines[i]!.indent);
      else map[key] = null;
    }
    return map;
  };
  const out = block(0);
  if (i !== lines.length) throw new Error(`readYaml: line '${lines[i]!.text}' is out of place`);
  return out;
}

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const composeText = read('docker-compose.yml');
const compose = readYaml(composeText) as unknown as { services: Record<string, Service> };
const services = compose.services;
const gatewayNames = Object.keys(services).filter((n) => services[n]!.build === '.' && services[n]!.command === undefined);

/** The host file mounted at `containerPath` in a service, relative to the repository. */
function mountOf(service: Service, containerPath: string): string | undefined {
  const volume = (service.volumes ?? []).find((v) => v.split(':')[1] === containerPath);
  return volume?.split(':')[0]!.replace(/^\.\//, '');
}

/** The Dockerfile's runtime stage: its CMD (exec form) and its ENV. */
function dockerfileRuntime(): { cmd: string[]; env: Record<string, string> } {
  const text = read('Dockerfile');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)![1]!) as string[];
  const env = Object.fromEntries([...runtime.matchAll(/^ENV (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { cmd, env };
}

/** nginx.conf's `upstream NAME { server host:port …; }` blocks, its listen ports and proxy_pass targets. */
function readNginx(text: string): { upstreams: Record<string, string[]>; listen: number[]; proxyPass: string[]; readTimeoutSec: number } {
  const clean = text.replace(/#.*$/gm, '');
  const upstreams: Record<string, string[]> = {};
  for (const m of clean.matchAll(/upstream\s+(\S+)\s*\{([^}]*)\}/g)) {
    upstreams[m[1]!] = [...m[2]!.matchAll(/^\s*server\s+(\S+?)(?:\s[^;]*)?;/gm)].map((s) => s[1]!);
  }
  const timeout = /proxy_read_timeout\s+(\d+)s;/.exec(clean);
  return {
    upstreams,
    listen: [...clean.matchAll(/^\s*listen\s+(\d+)\s*;/gm)].map((m) => Number(m[1])),
    proxyPass: [...clean.matchAll(/proxy_pass\s+(\S+);/g)].map((m) => m[1]!),
    readTimeoutSec: timeout === null ? 60 : Number(timeout[1]),
  };
}

// .ci/run installs nginx (nginx-light) and PyYAML; a machine without them fails here, with why.
const nginxMissing = spawnSync('nginx', ['-v']).error;

describe('docker-compose.yml', () => {
  it('reads as a real YAML parser reads it (PyYAML)', () => {
    const py = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: composeText, encoding: 'utf8' });
    expect(py.status, `python3 with PyYAML is needed (apt install python3-yaml): ${py.stderr}`).toBe(0);
    expect(compose).toEqual(JSON.parse(py.stdout));
  });

  it('Redis keeps every acknowledged write: AOF with fsync on every write, on a volume', () => {
    const redis = services.redis!;
    expect(redis.image).toMatch(/^redis:\d/);
    const args = redis.command!;
    expect(args[0]).toBe('redis-server');
    expect(args[args.indexOf('--appendonly') + 1]).toBe('yes');
    expect(args[args.indexOf('--appendfsync') + 1]).toBe('always');
    expect(mountOf(redis, '/data')).toBeDefined();
  });

  it('two gateways from the Dockerfile, on that Redis through REDIS_URL, with a config the real loader accepts', () => {
    expect(gatewayNames).toHaveLength(2);
    const { cmd, env: imageEnv } = dockerfileRuntime();
    const configPath = cmd[cmd.indexOf('--config') + 1]!;
    const simulator = services.simulator!;
    const simConfig = parseSimConfig(loadSimConfigFile(join(ROOT, mountOf(simulator, simulator.command![simulator.command!.indexOf('--config') + 1]!)!)));
    for (const name of gatewayNames) {
      const gateway = services[name]!;
      const redisUrl = new URL(gateway.environment!.REDIS_URL!);
      expect(redisUrl.hostname, `${name} REDIS_URL names the redis service`).toBe('redis');
      expect(gateway.depends_on?.redis?.condition).toBe('service_healthy');
      const mounted = mountOf(gateway, configPath);
      expect(mounted, `${name} mounts a config at ${configPath}, where the image's CMD reads it`).toBeDefined();

      // As the container starts it: the image's ENV, then the service's environment.
      const config = loadConfigFile(join(ROOT, mounted!), { ...imageEnv, ...gateway.environment });
      expect(config.storage).toMatchObject({ kind: 'redis', url: gateway.environment!.REDIS_URL });
      expect((config.storage as { durability?: unknown }).durability ?? 'fsync', 'a demo must not opt out of durability').toBe('fsync');
      expect(config.listen.host, 'reachable from the load balancer\'s container').toBe('0.0.0.0');
      expect(config.listen.port).toBe(Number(imageEnv.PORT));
      // The upstream is the simulator service, on the port it listens on, with every number's token.
      const upstream = new URL(config.upstream.baseUrl);
      expect(upstream.hostname).toBe('simulator');
      expect(Number(upstream.port)).toBe(simConfig.port);
      expect(simConfig.host).toBe('0.0.0.0');
      for (const number of config.tenants.flatMap((t) => t.numbers)) {
        expect(simConfig.numbers.find((n) => n.phoneNumberId === number.phoneNumberId)?.accessToken, `simulator number ${number.phoneNumberId}`).toBe(number.accessToken);
      }
      // The simulator's status webhooks go through the load balancer, signed with the gateways' app secret.
      expect(new URL(simConfig.webhook!.url).hostname).toBe('lb');
      expect(simConfig.webhook!.appSecret).toBe(config.webhooks!.appSecret);
    }
  });

  it('the load balancer upstreams both gateways, at the port they listen on, and publishes its own', () => {
    const lb = services.lb!;
    expect(lb.image).toMatch(/^nginx:/);
    const conf = readNginx(read(mountOf(lb, '/etc/nginx/nginx.conf')!));
    const port = Number(dockerfileRuntime().env.PORT);
    const [name, servers] = Object.entries(conf.upstreams)[0]!;
    expect(Object.keys(conf.upstreams)).toHaveLength(1);
    expect([...servers].sort()).toEqual(gatewayNames.map((g) => `${g}:${port}`).sort());
    expect(conf.proxyPass).toEqual([`http://${name}`]);
    // `Prefer: wait=N` holds a request up to 60 s.
    expect(conf.readTimeoutSec).toBeGreaterThan(60);
    const published = lb.ports!.map((p) => p.split(':'));
    expect(published.map((p) => Number(p.at(-1)))).toEqual(conf.listen);
    expect(published.every((p) => p.length === 3 && p[0] === '127.0.0.1'), 'demo secrets: loopback only').toBe(true);
    for (const g of gatewayNames) expect(lb.depends_on?.[g]?.condition).toBe('service_healthy');
  });

  it('nginx -t accepts deploy/nginx.conf (service names mapped to 127.0.0.1)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-nginx-t-'));
    try {
      writeFileSync(join(dir, 'nginx.conf'), read('deploy/nginx.conf').replace(/\bgateway-\d+:/g, '127.0.0.1:'));
      const t = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `pid ${dir}/nginx.pid; error_log stderr;`], { encoding: 'utf8' });
      expect(t.status, t.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- live: the compose topology on 127.0.0.1 --------------------------------------------------

describe('the compose topology, live on 127.0.0.1', () => {
  beforeAll(() => {
    if (nginxMissing !== undefined) throw new Error(`nginx is needed (apt install nginx-light): ${nginxMissing.message}`);
  });
  const cleanup: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('sends through nginx reach both gateways and the simulator; status and Meta webhooks work through it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-compose-live-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const redis: RedisServer = await startRedis();
    cleanup.push(() => redis.stop());
    const lbPort = await freePort();
    const gatewayPorts = [await freePort(), await freePort()];

    // The simulator as deploy/simulator.json has it, its webhook sent to nginx instead of `lb`.
    const simFile = loadSimConfigFile(join(ROOT, 'deploy/simulator.json'));
    const sim: Simulator = await startSimulator({ ...simFile, host: '127.0.0.1', port: 0, webhook: { ...simFile.webhook!, url: `http://127.0.0.1:${lbPort}/webhooks/whatsapp` } });
    cleanup.push(() => sim.close());

    // deploy/fleet.json with the simulator's local address; listen, port and Redis as the compose file sets them.
    const fleet = JSON.parse(read('deploy/fleet.json')) as { upstream: { baseUrl: string }; log: object; tenants: Array<{ apiKeys: string[]; numbers: Array<{ phoneNumberId: string }> }> };
    const configPath = join(dir, 'sendgate.json');
    writeFileSync(configPath, JSON.stringify({ ...fleet, upstream: { ...fleet.upstream, baseUrl: sim.url }, log: { level: 'warn' } }));
    const gateways: Child[] = [];
    for (const [i, name] of gatewayNames.entries()) {
      const env = { ...services[name]!.environment, REDIS_URL: redis.url, PORT: String(gatewayPorts[i]) };
      const child = await spawnServer([CLI, 'serve', '--config', configPath], `http://127.0.0.1:${gatewayPorts[i]}`, '/readyz', env);
      gateways.push(child);
      cleanup.push(() => child.stop());
    }

    const nginxDir = mkdtempSync(join(tmpdir(), 'sendgate-nginx-'));
    cleanup.push(() => rmSync(nginxDir, { recursive: true, force: true }));
    const conf = read('deploy/nginx.conf')
      .replace(/\bgateway-(\d+):\d+/g, (_m, n: string) => `127.0.0.1:${gatewayPorts[Number(n) - 1]}`)
      .replace(/listen\s+\d+;/, `listen 127.0.0.1:${lbPort};`);
    writeFileSync(join(nginxDir, 'nginx.conf'), conf);
    const nginx: ChildProcess = spawn('nginx', ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'),
      '-g', `daemon off; pid ${nginxDir}/nginx.pid; error_log stderr;`], { stdio: ['ignore', 'ignore', 'pipe'] });
    // SIGTERM: the master stops its workers (SIGKILL would leave them running, orphaned).
    cleanup.push(async () => {
      if (nginx.exitCode !== null || nginx.signalCode !== null) return;
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGTERM');
      await exited;
    });
    await spawnServerReady(`http://127.0.0.1:${lbPort}/readyz`);

    const tenant = fleet.tenants[0]!;
    const numbers = tenant.numbers.map((n) => n.phoneNumberId);
    const ids: string[] = [];
    const answeredBy = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await request(`http://127.0.0.1:${lbPort}/v23.0/${numbers[i % numbers.length]}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tenant.apiKeys[0]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messaging_product: 'whatsapp', to: `+1650555${String(1000 + i)}`, type: 'text', text: { body: `through nginx ${i}` } }),
      });
      const body = (await res.body.json()) as { messages: Array<{ id: string }> };
      expect(res.statusCode).toBe(202);
      ids.push(body.messages[0]!.id);
    }
    // Both gateways took requests (least_conn over two idle upstreams alternates).
    for (const g of gateways) {
      const metrics = await (await request(`${g.url}/metrics`)).body.text();
      const accepted = metrics.split('\n').filter((l) => l.startsWith('sendgate_accepted_total')).reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
      if (accepted > 0) answeredBy.add(g.url);
    }
    expect(answeredBy.size, 'nginx spread the sends over both gateways').toBe(2);

    // Every message reaches the simulator, and its status, read through nginx from any process,
    // moves on with the simulator's signed webhooks that came back through nginx.
    await until(() => sim.stats().totals.accepted >= ids.length, 20_000);
    await until(async () => {
      for (const id of ids) {
        const res = await request(`http://127.0.0.1:${lbPort}/v1/messages/${id}`, { headers: { authorization: `Bearer ${tenant.apiKeys[0]}` } });
        const state = ((await res.body.json()) as { state?: string }).state;
        if (state !== 'delivered' && state !== 'read') return false;
      }
      return true;
    }, 20_000);
  }, 120_000);
});

async function spawnServerReady(url: string): Promise<void> {
  await until(async () => {
    const res = await request(url).catch(() => null);
    if (res === null) return false;
    await res.body.dump();
    return res.statusCode === 200;
  }, 10_000);
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
