/**
 * An HTTP prediction server over a {@link VisionModel} (Node only: node:http). `POST /predict`
 * takes the image bytes as the body (any content type but multipart) or a multipart/form-data
 * form whose first file part is the image, and answers the model's JSON prediction;
 * `GET /healthz` answers the model and the load. Query parameters `top_k` and `score_threshold`
 * pass to the decoding.
 *
 * Limits: a body over `maxBodyBytes` is answered 413 (at once when Content-Length says so, else
 * as soon as the bytes pass it); bytes that do not decode as an image 400; at most `concurrency`
 * model runs at a time with up to `maxQueue` images waiting (beyond that 503 with Retry-After).
 * With `maxBatch` > 1 waiting images are run together (micro-batching): a run starts when
 * `maxBatch` images wait or the first of them has waited `batchWaitMs`. Images are decoded before
 * they queue, so one bad image never fails a batch. `close()` stops accepting connections and
 * resolves once every accepted request is answered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DecodeOptions, Prediction } from '../core/inference.js';
import { toImage, type RawImage } from './images.js';
import type { VisionModel } from './vision_model.js';

export interface ServeOptions {
  /** Largest accepted request body in bytes (default 10 MiB). */
  maxBodyBytes?: number;
  /** Model runs at a time (default 1). */
  concurrency?: number;
  /** Images that may wait for a run; more are answered 503 (default 256). */
  maxQueue?: number;
  /** Images per run (default 1: no micro-batching). */
  maxBatch?: number;
  /** With maxBatch > 1: longest wait of the first image for more to join its batch (default 5). */
  batchWaitMs?: number;
  /** Default decoding options of every request (a request's query parameters override them). */
  decode?: DecodeOptions;
}

/** A request's answer, as status and JSON body. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Job {
  image: RawImage;
  decode: DecodeOptions;
  resolve: (p: Prediction) => void;
  reject: (err: unknown) => void;
}

/** The queue in front of the model: a concurrency limit and micro-batches of equal options. */
class RunQueue {
  private readonly waiting: Job[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly model: VisionModel,
    private readonly concurrency: number,
    private readonly maxQueue: number,
    private readonly maxBatch: number,
    private readonly batchWaitMs: number,
  ) {}

  get queued(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  submit(image: RawImage, decode: DecodeOptions): Promise<Prediction> {
    if (this.waiting.length >= this.maxQueue) {
      return Promise.reject(new HttpError(503, `server busy: ${this.maxQueue} images queued`));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ image, decode, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      if (this.waiting.length < this.maxBatch && this.batchWaitMs > 0) {
        // Wait for the batch to fill, at most batchWaitMs from now.
        this.timer ??= setTimeout(() => {
          this.timer = null;
          this.start();
          this.pump();
        }, this.batchWaitMs);
        return;
      }
      this.start();
    }
  }

  /** Runs the longest prefix of waiting images (up to maxBatch) with the first one's options. */
  private start(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.waiting.length === 0 || this.running >= this.concurrency) return;
    const key = JSON.stringify(this.waiting[0].decode);
    let n = 0;
    while (
      n < Math.min(this.maxBatch, this.waiting.length) &&
      JSON.stringify(this.waiting[n].decode) === key
    ) {
      n++;
    }
    const batch = this.waiting.splice(0, n);
    this.running++;
    this.model
      .predictBatch(
        batch.map((j) => j.image),
        batch[0].decode,
      )
      .then(
        (preds) => batch.forEach((j, i) => j.resolve(preds[i])),
        (err: unknown) => batch.forEach((j) => j.reject(err)),
      )
      .finally(() => {
        this.running--;
        this.pump();
      });
  }
}

/** Reads a request body, refusing more than `limit` bytes with 413. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(
      new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        chunks.length = 0;
        reject(new HttpError(413, `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!refused) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/**
 * The first file part of a multipart/form-data body (RFC 7578): the part with a `filename`, else
 * the first part.
 */
export function multipartFile(body: Buffer, contentType: string): Buffer {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) throw new HttpError(400, 'multipart/form-data without a boundary');
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: { headers: string; data: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break; // the closing delimiter
    const headerEnd = body.indexOf('\r\n\r\n', start);
    if (headerEnd < 0) break;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd);
    if (next < 0) break;
    parts.push({
      headers: body.subarray(start, headerEnd).toString('latin1'),
      data: body.subarray(headerEnd + 4, next),
    });
    at = next + 2;
  }
  if (parts.length === 0) throw new HttpError(400, 'multipart/form-data body has no parts');
  return (parts.find((p) => /filename=/i.test(p.headers)) ?? parts[0]).data;
}

function decodeOptionsOf(url: URL, defaults: DecodeOptions): DecodeOptions {
  const out: DecodeOptions = { ...defaults };
  const topK = url.searchParams.get('top_k');
  if (topK !== null) {
    const k = Number(topK);
    if (!(Number.isInteger(k) && k > 0)) {
      throw new HttpError(400, `top_k must be a positive integer, got '${topK}'`);
    }
    out.topK = k;
  }
  const threshold = url.searchParams.get('score_threshold');
  if (threshold !== null) {
    const s = Number(threshold);
    if (threshold.trim() === '' || !Number.isFinite(s)) {
      throw new HttpError(400, `score_threshold must be a number, got '${threshold}'`);
    }
    out.scoreThreshold = s;
  }
  return out;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...(status === 413 ? { connection: 'close' } : {}),
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(status === 503 ? { 'retry-after': '1' } : {}),
  });
  res.end(text);
}

function positiveInt(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new Error(`serve: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** What `GET /healthz` answers. */
export interface ServerHealth {
  status: 'ok' | 'closing';
  task: string;
  experiment: string | null;
  /** Requests accepted and not yet answered (this one included). */
  in_flight: number;
  /** Decoded images waiting for a model run. */
  queued: number;
  /** Model runs under way. */
  running: number;
  /** Predictions answered so far. */
  served: number;
}

export class PredictionServer {
  readonly server: Server;
  private readonly queue: RunQueue;
  private readonly maxBodyBytes: number;
  private readonly decode: DecodeOptions;
  private inFlight = 0;
  private served = 0;
  private closing: Promise<void> | null = null;

  constructor(
    readonly model: VisionModel,
    opts: ServeOptions = {},
  ) {
    if (model.preprocessing.method === 'video_clip') {
      throw new Error(
        'serve: requests carry one image; video models predict through predict or VisionModel.predict',
      );
    }
    this.maxBodyBytes = positiveInt('maxBodyBytes', opts.maxBodyBytes ?? 10 * 1024 * 1024);
    this.decode = opts.decode ?? {};
    const batchWaitMs = opts.batchWaitMs ?? 5;
    if (!(batchWaitMs >= 0)) throw new Error(`serve: batchWaitMs must be >= 0, got ${batchWaitMs}`);
    this.queue = new RunQueue(
      model,
      positiveInt('concurrency', opts.concurrency ?? 1),
      positiveInt('maxQueue', opts.maxQueue ?? 256),
      positiveInt('maxBatch', opts.maxBatch ?? 1),
      batchWaitMs,
    );
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /** Starts listening; resolves with the bound port. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Load and counters, as `/healthz` answers them. */
  health(): ServerHealth {
    return {
      status: this.closing ? 'closing' : 'ok',
      task: this.model.info.taskType,
      experiment: this.model.info.experiment,
      in_flight: this.inFlight,
      queued: this.queue.queued,
      running: this.queue.active,
      served: this.served,
    };
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    // While closing, keep-alive connections end after their answer.
    if (this.closing) res.setHeader('connection', 'close');
    send(res, status, body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/healthz') {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw new HttpError(405, `${req.method} /healthz: use GET`);
        }
        this.send(res, 200, this.health());
        return;
      }
      if (url.pathname !== '/predict' && url.pathname !== '/') {
        throw new HttpError(404, `no route ${url.pathname} (POST /predict, GET /healthz)`);
      }
      if (req.method !== 'POST')
        throw new HttpError(405, `${req.method} ${url.pathname}: use POST`);
      const decode = decodeOptionsOf(url, this.decode);
      let body = await readBody(req, this.maxBodyBytes);
      const type = req.headers['content-type'] ?? '';
      if (/^multipart\/form-data/i.test(type)) body = multipartFile(body, type);
      if (body.length === 0) throw new HttpError(400, 'empty request body: POST the image bytes');
      const channels = this.model.preprocessing.input_size[2];
      let image: RawImage;
      try {
        const bytes = new Uint8Array(body.buffer, body.byteOffset, body.length);
        image = (await toImage(bytes, channels)) as RawImage; // decoded bytes are uint8
      } catch (err) {
        throw new HttpError(400, `cannot decode the image: ${(err as Error).message}`);
      }
      const prediction = await this.queue.submit(image, decode);
      this.served++;
      this.send(res, 200, prediction);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) this.send(res, status, { error: (err as Error).message });
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Graceful shutdown: stops accepting connections, closes idle keep-alive ones, answers every
   * accepted request (with `Connection: close`) and resolves once all connections have ended.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    return this.closing;
  }
}

/** A {@link PredictionServer} listening on `port` (0: any free port) of `host`. */
export async function serve(
  model: VisionModel,
  opts: ServeOptions & { port?: number; host?: string } = {},
): Promise<{ server: PredictionServer; port: number }> {
  const server = new PredictionServer(model, opts);
  const port = await server.listen(opts.port ?? 0, opts.host);
  return { server, port };
}
