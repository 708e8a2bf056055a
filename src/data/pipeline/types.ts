/**
 * Types shared by the stages of the parallel input pipeline (see ./parallel_pipeline.ts).
 *
 * Nothing here imports tfjs or Node-only modules: the pipeline produces plain typed arrays, and
 * tasks turn them into tensors themselves.
 */
import type { Rng } from '../../core/random.js';

/** One raw example as a source streams it, with a locator for error messages. */
export interface SourceRecord {
  bytes: Uint8Array;
  /** Where the example came from, e.g. `train-00003-of-00016 record 17 (offset 4096)`. */
  where: string;
}

/** Where raw examples come from. Each example is an opaque byte string. */
export interface ExampleSource {
  /** Human-readable name for errors, e.g. the file pattern. */
  readonly name: string;
  /** Ordered list of shards (files); the pipeline shuffles shard order per epoch when training. */
  shards(): Promise<string[]>;
  /** Streams the examples of one shard in order. Must stream (no whole-file reads). */
  readShard(shard: string): AsyncIterable<SourceRecord>;
  /**
   * True when every `bytes` yielded owns its whole ArrayBuffer and the source never touches it
   * again (a fresh buffer per read), so the pipeline may move it to a worker instead of copying
   * it. Default false: the bytes are copied into the worker's message.
   */
  readonly transferableBytes?: boolean;
}

/** Element types a feature may have. */
export type FeatureData = Float32Array | Int32Array | Uint8Array;

/** One named array of an example or a batch, row-major with its shape. */
export interface Feature {
  data: FeatureData;
  shape: number[];
}

/** The output of a map function for one example: named features. */
export type FeatureMap = Record<string, Feature>;

/** What a map function gets besides the bytes. */
export interface MapContext {
  /** Stream seeded from (pipeline seed, epoch, global example index): independent of the worker. */
  rng: Rng;
  /** Global example index k, counted from the start of the run, epoch after epoch. */
  index: number;
  /** Epoch the example belongs to (0-based). */
  epoch: number;
  /** The source's locator of the example. */
  where: string;
  training: boolean;
  /**
   * A float32 array of `length` for a returned feature: the example's slot of the batch being
   * built (the first call per example, when every example asks for the same length; later calls
   * give plain new arrays), so the batch needs no copy and no allocation per example. Its
   * contents are arbitrary: write every element. Absent outside the pipeline.
   */
  allocFloat32?: (length: number) => Float32Array;
}

/**
 * Decodes and augments one example. The returned arrays are stacked into the batch (which is
 * moved to the main thread), so the function must not keep or reuse them after returning.
 */
export type MapFn = (bytes: Uint8Array, ctx: MapContext) => FeatureMap | Promise<FeatureMap>;

/**
 * Reference to a map function that each worker can import: `module` is the absolute URL of an
 * ES module, `factory` the name of an export `(options) => MapFn` (or a Promise of one), called
 * once per worker (and once in-process when workers = 0) with `options`.
 */
export interface MapFnRef {
  /** Absolute file URL (string), e.g. `new URL('./parser.js', import.meta.url).href`. */
  module: string;
  /** Name of the exported factory. */
  factory: string;
  /** JSON-serialisable (structured-cloneable) options passed to the factory. */
  options: unknown;
}

/** Padding of a variable first dimension: rows beyond the example's own are filled with `value`. */
export interface PaddingSpec {
  maxLength: number;
  value: number;
}

export interface PipelineOptions {
  source: ExampleSource;
  map: MapFnRef;
  /**
   * Training: shards shuffled per epoch, seeded shuffle buffer, repeated forever.
   * Eval: shards in order, one pass, every example exactly once.
   */
  training: boolean;
  batchSize: number;
  seed: number;
  /** Shuffle buffer size in examples (training only); default 10000 as MG DataConfig. */
  shuffleBufferSize?: number;
  /** Worker threads; default os.availableParallelism(); 0 runs the map function in-process. */
  workers?: number;
  /** Completed batches kept ready ahead of the consumer (default 2). */
  prefetchBatches?: number;
  /** Drop the last partial batch of an eval pass (default = training, where it cannot occur). */
  dropRemainder?: boolean;
  /** Per-feature padding of a variable first dimension (see {@link HostBatch}). */
  padding?: Record<string, PaddingSpec>;
  /**
   * Most examples being mapped at once (in batches sent to a worker, or running in-process, and
   * not yet returned). A batch is mapped whole by one worker, so this is raised to batchSize if
   * lower; default one batch per worker plus one (two batches in-process).
   */
  maxInFlight?: number;
}

/**
 * A batch: one stacked typed array per feature, shape [B, ...] (B = batchSize, or fewer for the
 * last batch of an eval pass). A padded feature has shape [B, maxLength, ...rest] and comes with
 * `num_<feature>`: an Int32Array of shape [B] holding each example's true first dimension.
 */
export interface HostBatch {
  [feature: string]: Feature;
}

/**
 * Resumable position (JSON): the epoch in progress and how many of its examples the consumer
 * has received. `index` is the global index k of the next example; when absent (a hand-written
 * state), it is recomputed by counting the examples of the earlier epochs.
 */
export interface PipelineState {
  epoch: number;
  consumed: number;
  index?: number;
}

/** Live counters and peaks of the pipeline's buffers (for monitoring and tests). */
export interface PipelineStats {
  /** Completed batches waiting for the consumer, now and at peak; never above prefetchBatches. */
  readyBatches: number;
  peakReadyBatches: number;
  /** Examples being mapped now and at peak; never above maxInFlight. */
  inFlight: number;
  peakInFlight: number;
  /**
   * Examples taken past the shuffle buffer and not yet handed to the consumer (being mapped,
   * mapped and waiting for their batch, or in ready batches), now and at peak; never above
   * (prefetchBatches + floor(maxInFlight / batchSize)) * batchSize.
   */
  bufferedExamples: number;
  peakBufferedExamples: number;
  /** Examples in the shuffle buffer now. */
  shuffleBuffer: number;
  /** Examples mapped since the pipeline (or its last setState) started. */
  examplesMapped: number;
  /** Batches that came back after a later batch (put back in order by the re-order stage). */
  outOfOrder: number;
  batchesDelivered: number;
  prefetchBatches: number;
  maxInFlight: number;
  workers: number;
}
