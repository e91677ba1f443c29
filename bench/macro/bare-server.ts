/**
 * Baseline for ingress benchmarks: a bare Fastify app answering the same route with a 202 and a
 * body of the same shape, doing nothing else (no auth, no validation, no storage).
 * Usage: node dist/bench/macro/bare-server.js PORT
 */
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false });
let n = 0;
app.post('/:version/:phoneNumberId/messages', async (request, reply) => {
  const body = request.body as { to?: string };
  n++;
  return reply.code(202).send({
    messaging_product: 'whatsapp',
    contacts: [{ input: body.to, wa_id: String(body.to).replace(/\D/g, '') }],
    messages: [{ id: `bare_${n}`, message_status: 'accepted' }],
  });
});
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
