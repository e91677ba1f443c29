/**
 * The fleet tests' upstream in a process of its own: the Cloud API simulator and one counting
 * proxy per gateway, so the test process's own work (posting, polling) adds no jitter to what the
 * simulator measures. Prints one JSON line `{ simUrl, proxies: [url…] }` once listening; each
 * proxy answers `GET /__arrivals` with the arrival times (ms) of what it forwarded.
 *
 *   node fleet-upstream-child.js '<{ "sim": SimConfigInput, "proxies": N }>'
 */
import { createServer } from 'node:http';
import { request } from 'undici';
import { startSimulator } from '../../src/sim/index.js';

const { sim: simConfig, proxies: proxyCount } = JSON.parse(process.argv[2]!) as { sim: Record<string, unknown>; proxies: number };
const sim = await startSimulator(simConfig);

async function startProxy(): Promise<string> {
  const arrivalsMs: number[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/__arrivals') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(arrivalsMs));
      return;
    }
    arrivalsMs.push(Date.now());
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
      request(`${sim.url}${req.url ?? '/'}`, { method: req.method as 'POST', headers, body: chunks.length > 0 ? Buffer.concat(chunks) : null }).then(
        async (up) => {
          const body = Buffer.from(await up.body.arrayBuffer());
          res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
          res.end(body);
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('proxy: no address');
  return `http://127.0.0.1:${address.port}`;
}

const proxies: string[] = [];
for (let i = 0; i < proxyCount; i++) proxies.push(await startProxy());
process.stdout.write(`${JSON.stringify({ simUrl: sim.url, proxies })}\n`);
