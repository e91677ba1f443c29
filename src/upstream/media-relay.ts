/**
 * Relays the Cloud API's media endpoints with a number's own token: uploads
 * (`POST /{version}/{phone-number-id}/media`, multipart as the SDKs send it) and media ids
 * (`GET|DELETE /{version}/{media-id}`). Its own bounded undici Pool, apart from the send path, so a
 * slow 100 MB upload never holds a connection that sends wait for.
 *
 * Uploads stream: the client's bytes go upstream as they arrive, counted, and the request is cut
 * the moment they pass `maxBytes` (nothing is held whole in memory). Answers are small JSON and
 * are read whole, up to MAX_ANSWER_BYTES. The token appears only in the Authorization header.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Pool } from 'undici';

/** Meta's media answers are a few hundred bytes; anything larger is not passed on. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Connections for media at most: uploads are few and long. */
const MEDIA_CONNECTIONS = 16;

export interface MediaRelaySettings {
  baseUrl: string;
  timeoutMs: number;
}

export interface RelayRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path after the base URL's own path, with its query (`/v23.0/1001/media?messaging_product=whatsapp`). */
  path: string;
  accessToken: string;
  contentType?: string;
  /** The upload's bytes, streamed. */
  body?: Readable;
  /** Cut the upload beyond this many bytes. */
  maxBytes?: number;
}

export interface RelayAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** The upload passed its size cap while streaming. */
export class MediaTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`media upload larger than ${maxBytes} bytes`);
    this.name = 'MediaTooLargeError';
  }
}

/** Counts bytes on their way through and fails the stream past the cap. */
class ByteCap extends Transform {
  private seen = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) done(new MediaTooLargeError(this.maxBytes));
    else done(null, chunk);
  }
}

export class MediaRelay {
  private readonly pool: Pool;
  private readonly prefix: string;

  constructor(settings: MediaRelaySettings) {
    const base = new URL(settings.baseUrl);
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, {
      connections: MEDIA_CONNECTIONS,
      headersTimeout: Math.max(settings.timeoutMs, 60_000),
      bodyTimeout: Math.max(settings.timeoutMs, 60_000),
      connect: { timeout: settings.timeoutMs },
    });
  }

  /** Throws MediaTooLargeError past the cap; other throws are network failures (no token in them). */
  async relay(req: RelayRequest): Promise<RelayAnswer> {
    const headers: Record<string, string> = { authorization: `Bearer ${req.accessToken}` };
    if (req.contentType !== undefined) headers['content-type'] = req.contentType;
    let capped: ByteCap | undefined;
    if (req.body !== undefined) {
      capped = new ByteCap(req.maxBytes ?? Number.MAX_SAFE_INTEGER);
      req.body.on('error', (err) => capped?.destroy(err));
      req.body.pipe(capped);
    }
    let tooLarge: MediaTooLargeError | undefined;
    capped?.on('error', (err) => {
      if (err instanceof MediaTooLargeError) tooLarge = err;
    });
    try {
      const res = await this.pool.request({ method: req.method, path: this.prefix + req.path, headers, body: capped ?? null });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_ANSWER_BYTES) {
          res.body.destroy();
          throw new Error('media answer too large');
        }
        chunks.push(chunk as Buffer);
      }
      const type = res.headers['content-type'];
      return { status: res.statusCode, contentType: typeof type === 'string' ? type : 'application/json', body: Buffer.concat(chunks) };
    } catch (err) {
      if (tooLarge !== undefined) throw tooLarge;
      if (err instanceof MediaTooLargeError) throw err;
      throw new Error(`media relay failed: ${(err as { code?: string }).code ?? (err as Error).name}`);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
