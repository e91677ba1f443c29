/**
 * The simulator's media endpoints, answered as the Cloud API answers them:
 *   POST   /{version}/{phone-number-id}/media   multipart: `file` (with its type), `messaging_product=whatsapp`
 *          (a form field or the query) → {"id"}
 *   GET    /{version}/{media-id}   → {"messaging_product","url","mime_type","sha256","file_size","id"}
 *   DELETE /{version}/{media-id}   → {"success":true}
 * Unversioned paths too. The token must be the uploading number's; an unknown id is Meta's 100.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { metaError } from '../cloud-api/index.js';
import type { SimEngine } from './engine.js';
import type { SimMediaStore } from './media-store.js';

const JSON_TYPE = 'application/json; charset=UTF-8';
/** Meta's largest media (documents). */
const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

function fail(reply: FastifyReply, code: number, details: string): FastifyReply {
  const e = metaError(code, details);
  return reply.code(e.status).header('content-type', JSON_TYPE).send(JSON.stringify(e.body));
}

export function simMediaRoutes(app: FastifyInstance, engine: SimEngine, store: SimMediaStore, selfUrl: () => string): void {
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: MAX_UPLOAD_BYTES }, (_req, body, done) => done(null, body));

  const upload = async (req: FastifyRequest, reply: FastifyReply, phoneNumberId: string): Promise<FastifyReply> => {
    if (!engine.authorized(phoneNumberId, req.headers.authorization)) return fail(reply, 190, 'Invalid OAuth access token.');
    const type = req.headers['content-type'] ?? '';
    if (!type.toLowerCase().startsWith('multipart/form-data') || !Buffer.isBuffer(req.body)) return fail(reply, 100, 'Media uploads are multipart/form-data.');
    let form: FormData;
    try {
      form = await new Response(req.body, { headers: { 'content-type': type } }).formData();
    } catch {
      return fail(reply, 100, 'Invalid parameter: the multipart body could not be read.');
    }
    const product = form.get('messaging_product') ?? new URL(req.url, 'http://sim').searchParams.get('messaging_product');
    if (product !== 'whatsapp') return fail(reply, 100, 'The parameter messaging_product is required.');
    const file = form.get('file');
    if (file === null || typeof file === 'string') return fail(reply, 100, 'The parameter file is required.');
    const mimeType = file.type || (typeof form.get('type') === 'string' ? String(form.get('type')) : '');
    if (mimeType === '') return fail(reply, 100, 'Param file must have a type.');
    const item = store.put(phoneNumberId, mimeType, Buffer.from(await file.arrayBuffer()));
    return reply.header('content-type', JSON_TYPE).send(JSON.stringify({ id: item.id }));
  };

  const media = (req: FastifyRequest<{ Querystring: { phone_number_id?: string } }>, reply: FastifyReply, mediaId: string, method: 'GET' | 'DELETE'): FastifyReply => {
    const item = store.get(mediaId);
    const wanted = req.query.phone_number_id;
    if (item === undefined || (wanted !== undefined && wanted !== item.phoneNumberId)) {
      return fail(reply, 100, `Unsupported ${method.toLowerCase()} request. Object with ID '${mediaId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`);
    }
    if (!engine.authorized(item.phoneNumberId, req.headers.authorization)) return fail(reply, 190, 'Invalid OAuth access token.');
    if (method === 'DELETE') {
      store.delete(mediaId);
      return reply.header('content-type', JSON_TYPE).send('{"success":true}');
    }
    return reply.header('content-type', JSON_TYPE).send(JSON.stringify({
      messaging_product: 'whatsapp', url: `${selfUrl()}/__sim/media/${item.id}`, mime_type: item.mimeType,
      sha256: item.sha256, file_size: item.bytes.length, id: item.id,
    }));
  };

  app.post<{ Params: { version: string; phoneNumberId: string } }>('/:version/:phoneNumberId/media', (req, reply) => upload(req, reply, req.params.phoneNumberId));
  app.post<{ Params: { phoneNumberId: string } }>('/:phoneNumberId/media', (req, reply) => upload(req, reply, req.params.phoneNumberId));
  for (const method of ['GET', 'DELETE'] as const) {
    app.route<{ Params: { version: string; mediaId: string }; Querystring: { phone_number_id?: string } }>({
      method, url: '/:version/:mediaId', handler: (req, reply) => media(req, reply, req.params.mediaId, method),
    });
    app.route<{ Params: { mediaId: string }; Querystring: { phone_number_id?: string } }>({
      method, url: '/:mediaId', handler: (req, reply) => media(req, reply, req.params.mediaId, method),
    });
  }
  // The download URL GET answers: the bytes, to a request carrying the number's token.
  app.get<{ Params: { id: string } }>('/__sim/media/:id', (req, reply) => {
    const item = store.get(req.params.id);
    if (item === undefined) return reply.code(404).send();
    if (!engine.authorized(item.phoneNumberId, req.headers.authorization)) return fail(reply, 190, 'Invalid OAuth access token.');
    return reply.header('content-type', item.mimeType).send(item.bytes);
  });
}
