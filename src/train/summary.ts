/**
 * TensorBoard summaries: an event-file writer compatible with TensorFlow's, and a reader.
 *
 * The file is `<logdir>/events.out.tfevents.<unix seconds, 10 digits>.<hostname>.<pid>.<n><suffix>`
 * (TF's EventsWriter names it `%s.out.tfevents.%010lld.%s%s`, the TF2 summary writer puts
 * `.<pid>.<n>` in the suffix; tensorflow/core/util/events_writer.cc). It is a TFRecord stream of
 * `tensorflow.Event`s; the first one carries `file_version: "brain.Event:2"`.
 *
 * Values are written in the forms TensorBoard reads directly:
 *   - scalars as `Summary.Value.simple_value` (float32),
 *   - images as `Summary.Image` (PNG encoded with sharp, colorspace = channel count),
 *   - text as a DT_STRING scalar tensor with plugin "text".
 *
 * Events are queued and written when `maxQueue` are pending, every `flushMillis`, and on
 * `flush()`/`close()`; defaults 10 and 120 s follow `tf.summary.create_file_writer`
 * (tensorflow/python/ops/summary_ops_v2.py).
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  EVENT_FILE_VERSION,
  decodeEvent,
  encodeEvent,
  type EventMessage,
  type SummaryValue,
} from '../core/proto/event.js';
import type { Int64 } from '../core/proto/int64.js';
import { stringTensorProto } from '../core/proto/tensor.js';
import { readTFRecords } from '../data/tfrecord/reader.js';
import { TFRecordWriter } from '../data/tfrecord/writer.js';
import { JsonlLogger } from './jsonl_log.js';

export interface SummaryWriterOptions {
  /** Appended to the file name (TF2 writers use `.v2`). */
  filenameSuffix?: string;
  /** Pending events that trigger a write (default 10). */
  maxQueue?: number;
  /** Period of the background flush in ms (default 120000; 0 disables it). */
  flushMillis?: number;
  /** Also append every scalar to this JSON-lines log (a path or an open logger). */
  jsonl?: string | JsonlLogger;
  /** Clock in seconds since the epoch (tests); default `Date.now() / 1000`. */
  now?: () => number;
}

/** An uint8 image in HWC layout. */
export interface SummaryImageInput {
  data: Uint8Array;
  height: number;
  width: number;
  /** 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA). */
  channels: number;
}

/** Value TF's own writer puts in `source_metadata.writer`; ours names itself. */
const WRITER_NAME = 'vision-garden';

let filesOpened = 0;

export class SummaryWriter {
  /** Path of the event file. */
  readonly path: string;
  private readonly records: TFRecordWriter;
  private readonly maxQueue: number;
  private readonly now: () => number;
  private readonly jsonl: JsonlLogger | undefined;
  private readonly ownsJsonl: boolean;
  private pending: Uint8Array[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly logdir: string,
    options: SummaryWriterOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now() / 1000);
    this.maxQueue = options.maxQueue ?? 10;
    mkdirSync(logdir, { recursive: true });
    const seconds = Math.floor(this.now());
    const name =
      `events.out.tfevents.${String(seconds).padStart(10, '0')}.${hostname()}.${process.pid}` +
      `.${filesOpened++}${options.filenameSuffix ?? ''}`;
    this.path = join(logdir, name);
    this.records = new TFRecordWriter(this.path, { atomic: false, compression: 'none' });
    // Like TF, the version event is written and flushed right away.
    this.pending.push(
      encodeEvent({
        wallTime: seconds,
        step: 0,
        fileVersion: EVENT_FILE_VERSION,
        sourceMetadata: { writer: WRITER_NAME },
      }),
    );
    void this.flush().catch(() => {}); // a failure resurfaces on the next flush/close
    if (typeof options.jsonl === 'string') {
      this.jsonl = new JsonlLogger(options.jsonl);
      this.ownsJsonl = true;
    } else {
      this.jsonl = options.jsonl;
      this.ownsJsonl = false;
    }
    const flushMillis = options.flushMillis ?? 120_000;
    if (flushMillis > 0) {
      this.timer = setInterval(() => void this.flush().catch(() => {}), flushMillis);
      this.timer.unref();
    }
  }

  private checkStep(step: Int64, tag: string): void {
    if (this.closed) throw new Error(`SummaryWriter ${this.path}: '${tag}' written after close()`);
    if (typeof tag !== 'string' || tag === '')
      throw new TypeError('SummaryWriter: tag must be a non-empty string');
    if (typeof step === 'number' ? !Number.isSafeInteger(step) : typeof step !== 'bigint') {
      throw new TypeError(
        `SummaryWriter: step for '${tag}' must be an integer, got ${String(step)}`,
      );
    }
  }

  private push(value: SummaryValue, step: Int64): void {
    this.pending.push(encodeEvent({ wallTime: this.now(), step, summary: { value: [value] } }));
    if (this.pending.length >= this.maxQueue) void this.flush().catch(() => {});
  }

  /** Records a scalar (stored as float32 `simple_value`). */
  scalar(tag: string, value: number, step: Int64): void {
    this.checkStep(step, tag);
    if (typeof value !== 'number')
      throw new TypeError(`SummaryWriter: value for '${tag}' must be a number`);
    this.push({ tag, simpleValue: value }, step);
    this.jsonl?.log(tag, Math.fround(value), step, this.now());
  }

  /** Records an image, encoded as PNG. `data` is HWC uint8 of height*width*channels bytes. */
  async image(tag: string, img: SummaryImageInput, step: Int64): Promise<void> {
    this.checkStep(step, tag);
    const { data, height, width, channels } = img;
    for (const [k, v] of Object.entries({ height, width })) {
      if (!Number.isInteger(v) || v < 1)
        throw new RangeError(`SummaryWriter image '${tag}': ${k} ${v} must be a positive integer`);
    }
    if (![1, 2, 3, 4].includes(channels)) {
      throw new RangeError(
        `SummaryWriter image '${tag}': channels must be 1, 2, 3 or 4, got ${channels}`,
      );
    }
    if (!(data instanceof Uint8Array) || data.length !== height * width * channels) {
      throw new RangeError(
        `SummaryWriter image '${tag}': data has ${data?.length} bytes, ${height}x${width}x${channels} needs ${height * width * channels}`,
      );
    }
    const png = await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
      raw: { width, height, channels: channels as 1 | 2 | 3 | 4 },
    })
      .png()
      .toBuffer();
    this.push(
      {
        tag,
        image: {
          height,
          width,
          colorspace: channels,
          encodedImageString: new Uint8Array(png.buffer, png.byteOffset, png.length),
        },
      },
      step,
    );
  }

  /** Records a text value (TensorBoard's text plugin: a string scalar tensor). */
  text(tag: string, value: string, step: Int64): void {
    this.checkStep(step, tag);
    this.push(
      {
        tag,
        metadata: { pluginData: { pluginName: 'text' } },
        tensor: stringTensorProto([value], []),
      },
      step,
    );
  }

  /** Writes all queued events and pushes them to the file. */
  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    for (const e of batch) void this.records.write(e).catch(() => {});
    await this.records.flush();
  }

  /** Flushes, stops the background timer and closes the file (and a JSON-lines log it opened). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    await this.records.close();
    if (this.ownsJsonl) this.jsonl?.close();
  }
}

/** Reads every event of an event file (CRCs verified), in file order. */
export async function readEventFile(path: string): Promise<EventMessage[]> {
  const events: EventMessage[] = [];
  for await (const r of readTFRecords(path, { compression: 'none' }))
    events.push(decodeEvent(r.data));
  return events;
}
