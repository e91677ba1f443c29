/**
 * Simulator throughput: requests per second the Cloud API simulator sustains on its send route
 * (auth, shared body validation, throughput + pair GCRA, stats, wamid) vs a bare Fastify route
 * answering the same 200 body, each server in its own child process, autocannon in this one,
 * measured in the same run. Goal: simulator >= 0.7x bare.
 *
 * First it prints the cost of the shared body validator (src/cloud-api) per body type, measured
 * in this process against JSON.parse of the same body: it runs on the gateway's hot path too.
 *
 * Usage: npx tsc -p tsconfig.json && node dist/bench/micro/sim.js [--seconds 5] [--connections 100] [--rounds 2]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { validateMessageBody } from '../../src/cloud-api/index.js';
import { freePort, machineLine, spawnServer, tempJson } from '../macro/processes.js';

const NUMBER = '1001';
const TOKEN = 'EAAG-bench-token';
const body = JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: '+16505551234', type: 'text', text: { body: 'hello from the simulator benchmark' } });
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

/** Child mode: the baseline, a bare Fastify route returning a body of the simulator's shape. */
async function bareChild(port: number): Promise<void> {
  const app = Fastify({ logger: false });
  let n = 0;
  app.post('/:version/:phoneNumberId/messages', async (request) => {
    const to = (request.body as { to?: string }).to ?? '';
    n++;
    return { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to.replace(/\D/g, '') }], messages: [{ id: `wamid.bare${n}` }] };
  });
  app.get('/healthz', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port });
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

interface Figures { rps: number; p50: number; p99: number; non2xx: number; errors: number }

async function load(url: string, connections: number, seconds: number): Promise<Figures> {
  const target = { url: `${url}/v23.0/${NUMBER}/messages`, method: 'POST' as const, headers, body, connections };
  await autocannon({ ...target, duration: 1 }); // warm-up: JIT and connection setup are not measured
  const r = await autocannon({ ...target, duration: seconds });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

const SAMPLE_BODIES: Record<string, unknown> = {
  text: JSON.parse(body),
  template: {
    messaging_product: 'whatsapp', to: '+16505551234', type: 'template',
    template: { name: 'order_update', language: { code: 'en_US' }, components: [
      { type: 'header', parameters: [{ type: 'image', image: { link: 'https://example.com/a.jpg' } }] },
      { type: 'body', parameters: [{ type: 'text', text: 'A-42' }, { type: 'currency', currency: { fallback_value: '$1', code: 'USD', amount_1000: 1000 } }] },
      { type: 'button', sub_type: 'quick_reply', index: 0, parameters: [{ type: 'payload', payload: 'X' }] },
    ] },
  },
  'interactive list': {
    messaging_product: 'whatsapp', to: '+16505551234', type: 'interactive',
    interactive: { type: 'list', body: { text: 'B' }, action: { button: 'Menu', sections: [{ title: 'S', rows: Array.from({ length: 10 }, (_, i) => ({ id: `r${i}`, title: 'T', description: 'D' })) }] } },
  },
};

/** ns per call of fn, best of 5 batches (the first batches also warm the JIT). */
function nsPerOp(fn: () => unknown, iterations = 200_000): number {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / iterations);
  }
  return best;
}

function validatorFigures(): void {
  console.log(`validator (in-process): ${machineLine()}`);
  console.log(`${'body'.padEnd(18)} ${'validate ns'.padStart(12)} ${'JSON.parse ns'.padStart(14)}`);
  for (const [name, sample] of Object.entries(SAMPLE_BODIES)) {
    if (validateMessageBody(sample) !== null) throw new Error(`sample '${name}' is not valid`);
    const raw = JSON.stringify(sample);
    const validate = nsPerOp(() => validateMessageBody(sample));
    const parse = nsPerOp(() => JSON.parse(raw));
    console.log(`${name.padEnd(18)} ${validate.toFixed(0).padStart(12)} ${parse.toFixed(0).padStart(14)}`);
  }
  console.log('');
}

async function main(): Promise<void> {
  validatorFigures();
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '100' }, rounds: { type: 'string', default: '2' } },
  });
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const self = fileURLToPath(import.meta.url);
  const simCommand = fileURLToPath(new URL('../../src/sim/command.js', import.meta.url));
  // Limits high enough never to refuse: this measures the request path, not the limiter's refusals.
  const simConfig = tempJson('sim.json', {
    numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN }],
    limits: { mps: 1_000_000, burst: 1_000_000, pairIntervalMs: 0 },
  });

  const bare: Figures[] = [];
  const sim: Figures[] = [];
  // Alternate the two targets so drift on a shared machine hits both alike; report the best round of each.
  for (let round = 0; round < rounds; round++) {
    const barePort = await freePort();
    const b = await spawnServer([self, '--child-bare', String(barePort)], `http://127.0.0.1:${barePort}`, '/healthz');
    bare.push(await load(b.url, connections, seconds));
    await b.stop();
    const simPort = await freePort();
    const s = await spawnServer([simCommand, '--port', String(simPort), '--config', simConfig], `http://127.0.0.1:${simPort}`, '/__sim/stats');
    sim.push(await load(s.url, connections, seconds));
    await s.stop();
  }
  const best = (xs: Figures[]) => xs.reduce((a, x) => (x.rps > a.rps ? x : a));
  const row = (name: string, f: Figures) =>
    `${name.padEnd(28)} ${f.rps.toFixed(0).padStart(8)} ${String(f.p50).padStart(6)} ${String(f.p99).padStart(6)} ${String(f.non2xx).padStart(7)} ${String(f.errors).padStart(6)}`;
  console.log(`simulator benchmark: ${machineLine()}; ${connections} connections, ${seconds} s per run, best of ${rounds}`);
  console.log(`${'target'.padEnd(28)} ${'req/s'.padStart(8)} ${'p50ms'.padStart(6)} ${'p99ms'.padStart(6)} ${'non2xx'.padStart(7)} ${'errors'.padStart(6)}`);
  for (let i = 0; i < rounds; i++) {
    console.log(row(`bare Fastify (round ${i + 1})`, bare[i]!));
    console.log(row(`simulator (round ${i + 1})`, sim[i]!));
  }
  const ratio = best(sim).rps / best(bare).rps;
  console.log(`ratio simulator/bare: ${ratio.toFixed(2)}x (goal >= 0.70x)`);
  if (best(sim).non2xx > 0) console.log('warning: the simulator refused requests; the figure is not the accept path');
}

const childAt = process.argv.indexOf('--child-bare');
if (childAt >= 0) await bareChild(Number(process.argv[childAt + 1]));
else await main();
