/**
 * The parallel input pipeline: shards → streamed records → seeded shuffle buffer (training) →
 * global example index k → groups of batchSize examples → each group mapped and stacked (and
 * padded) into its batch by one worker thread → batches re-ordered → prefetch.
 *
 * Determinism: the record stream depends only on (source, seed, start position) (see
 * ./record_stream.ts) and example k is mapped with `Rng.derive(seed, 'pipeline/epoch/<e>/example/<k>')`,
 * and batches are delivered in stream order, so they are byte-identical for any number of
 * workers, including 0 (in-process).
 *
 * Why whole batches go to one worker: the main thread then sends and receives one message per
 * batch and never copies examples. With per-example results it used 28% of a core at 200
 * images/s (the bench/data_pipeline.ts input), more than half of it stacking examples and
 * collecting their buffers; batch-wise, 17-20%.
 *
 * Training repeats forever; batches run across epoch boundaries (like Model Garden's
 * `repeat()` before `batch()`). Eval is one pass in file order, every example exactly once, the
 * last partial batch kept unless `dropRemainder`.
 *
 * Back-pressure: the examples of a batch are taken from the shuffle buffer only when (a) they
 * keep the examples being mapped within `maxInFlight` (at least one batch; M = maxInFlight /
 * batchSize batches) and (b) fewer than prefetchBatches + M batches are sent and not yet
 * delivered (batches done out of order wait in that window too, so a slow batch cannot make it
 * grow). So at most `prefetchBatches` completed batches wait in the ready queue and at most
 * (prefetchBatches + M) * batchSize examples are held past the shuffle buffer;
 * {@link ParallelPipeline.stats} reports the live values and their peaks.
 *
 * Resume: {@link ParallelPipeline.getState} is the position after the last delivered batch
 * (epoch in progress, examples of it delivered, next k). A new pipeline given that state replays
 * that epoch's record stream, skips the consumed examples without mapping them, and continues
 * with exactly the batches an uninterrupted pipeline would give.
 *
 * Nothing here imports tfjs; Node modules (worker_threads, os) are imported lazily, so with
 * `workers: 0` the class runs where those do not exist.
 */
import { validatePadding } from './batching.js';
import type { BatchItem } from './map_runner.js';
import { countExamples, recordStream, type StreamedExample } from './record_stream.js';
import type { BufferGauge } from './shuffle_buffer.js';
import type {
  ExampleSource,
  HostBatch,
  MapFnRef,
  PaddingSpec,
  PipelineOptions,
  PipelineState,
  PipelineStats,
} from './types.js';
import { defaultWorkerCount, inProcessMapper, WorkerPool, type Mapper } from './worker_pool.js';

/** Model Garden DataConfig.shuffle_buffer_size default (official/core/config_definitions.py). */
export const DEFAULT_SHUFFLE_BUFFER_SIZE = 10000;
export const DEFAULT_PREFETCH_BATCHES = 2;

type Position = Required<PipelineState>;

/** A batch sent to be mapped, until it is readied. */
interface Mapping {
  /** Examples it holds (batchSize, or fewer for the last batch of an eval pass). */
  rows: number;
  /** Position after its last example. */
  after: Position;
  batch?: HostBatch;
  error?: Error;
}

/** A ready batch, or the error the consumer gets in its place (errors keep the batch order). */
type ReadyItem = { batch: HostBatch; after: Position; rows: number } | { error: Error };

/** State of one run of the stream, from the start or from a setState position. */
interface Run {
  mappings: Map<number, Mapping>;
  ready: ReadyItem[];
  /** Batch number (within the run) to be readied next / batches delivered / sent to be mapped. */
  nextToReady: number;
  delivered: number;
  sent: number;
  inFlight: number;
  buffered: number;
  mapped: number;
  /** Examples taken from the stream so far. */
  dispatched: number;
  /** Highest batch mapped so far, and how many batches came back after a later one. */
  highestMapped: number;
  outOfOrder: number;
  /** Known once an eval pass has been fully read. */
  totalBatches: number | null;
  /** A source error, delivered in place of the batch its next example would have joined. */
  sourceError: { batch: number; error: Error } | null;
  /** An error item is in the ready queue: nothing after it is readied. */
  errorQueued: boolean;
  /** The error delivered to the consumer (or a failure outside the stream); sticky. */
  failure: Error | null;
  wakeProducer: (() => void) | null;
  gauge: BufferGauge;
}

interface Waiter {
  resolve: (b: HostBatch | null) => void;
  reject: (e: Error) => void;
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`pipeline option ${name} must be an integer >= ${min}, got ${value}`);
  }
}

function checkState(s: PipelineState): void {
  if (typeof s !== 'object' || s === null) throw new TypeError('pipeline state must be an object');
  for (const key of ['epoch', 'consumed'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 0) {
      throw new RangeError(
        `pipeline state.${key} must be a non-negative integer, got ${JSON.stringify(s[key])}`,
      );
    }
  }
  if (s.index !== undefined && (!Number.isInteger(s.index) || s.index < 0)) {
    throw new RangeError(
      `pipeline state.index must be a non-negative integer, got ${JSON.stringify(s.index)}`,
    );
  }
}

export class ParallelPipeline {
  private readonly source: ExampleSource;
  private readonly mapRef: MapFnRef;
  private readonly training: boolean;
  private readonly batchSize: number;
  private readonly seed: number;
  private readonly shuffleBufferSize: number;
  private readonly prefetchBatches: number;
  private readonly dropRemainder: boolean;
  private readonly padding: Record<string, PaddingSpec>;
  private readonly workersOption: number | undefined;
  private readonly maxInFlightOption: number | undefined;

  private workers = 0;
  private maxInFlight = 0;
  private mapper: Promise<Mapper> | null = null;
  private run: Run | null = null;
  private start: PipelineState = { epoch: 0, consumed: 0, index: 0 };
  private position: PipelineState = { epoch: 0, consumed: 0, index: 0 };
  private waiters: Waiter[] = [];
  private closed = false;
  private peaks = { ready: 0, inFlight: 0, buffered: 0 };

  constructor(opts: PipelineOptions) {
    if (!opts || typeof opts !== 'object')
      throw new TypeError('ParallelPipeline: options required');
    const { source, map } = opts;
    if (!source || typeof source.shards !== 'function' || typeof source.readShard !== 'function') {
      throw new TypeError('pipeline option source must be an ExampleSource (shards, readShard)');
    }
    if (!map || typeof map.module !== 'string' || typeof map.factory !== 'string') {
      throw new TypeError(
        'pipeline option map must be {module: URL string, factory: export name, options}',
      );
    }
    checkCount('batchSize', opts.batchSize, 1);
    if (!Number.isInteger(opts.seed))
      throw new RangeError(`pipeline option seed must be an integer, got ${opts.seed}`);
    this.source = source;
    this.mapRef = map;
    this.training = opts.training;
    this.batchSize = opts.batchSize;
    this.seed = opts.seed;
    this.shuffleBufferSize = opts.shuffleBufferSize ?? DEFAULT_SHUFFLE_BUFFER_SIZE;
    checkCount('shuffleBufferSize', this.shuffleBufferSize, 1);
    this.prefetchBatches = opts.prefetchBatches ?? DEFAULT_PREFETCH_BATCHES;
    checkCount('prefetchBatches', this.prefetchBatches, 1);
    this.dropRemainder = opts.dropRemainder ?? opts.training;
    this.padding = opts.padding ?? {};
    validatePadding(this.padding);
    this.workersOption = opts.workers;
    if (opts.workers !== undefined) checkCount('workers', opts.workers, 0);
    this.maxInFlightOption = opts.maxInFlight;
    if (opts.maxInFlight !== undefined) checkCount('maxInFlight', opts.maxInFlight, 1);
  }

  /**
   * The next batch, or null once an eval pass is done (training never ends). Rejects with the
   * first error of the run (source, map function with the example's locator, batching); every
   * later call rejects with it too.
   */
  next(): Promise<HostBatch | null> {
    if (this.closed) return Promise.reject(new Error('pipeline is closed'));
    if (!this.run) this.startRun();
    return new Promise<HostBatch | null>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.serve();
    });
  }

  /** Position after the last delivered batch (JSON). */
  getState(): PipelineState {
    return { ...this.position };
  }

  /**
   * Continues from `s` (from getState): the following batches are those an uninterrupted
   * pipeline would give after that point. Discards whatever was read ahead. `index` may be
   * omitted; it is then recomputed by counting the source's examples per epoch.
   */
  setState(s: PipelineState): void {
    if (this.closed) throw new Error('pipeline is closed');
    checkState(s);
    if (this.waiters.length > 0)
      throw new Error('pipeline setState while a next() call is pending');
    this.stopRun();
    this.start = { epoch: s.epoch, consumed: s.consumed, index: s.index };
    this.position = { ...this.start };
  }

  /** Live buffer sizes and their peaks since construction. */
  stats(): PipelineStats {
    const run = this.run;
    return {
      readyBatches: run?.ready.length ?? 0,
      peakReadyBatches: this.peaks.ready,
      inFlight: run?.inFlight ?? 0,
      peakInFlight: this.peaks.inFlight,
      bufferedExamples: run?.buffered ?? 0,
      peakBufferedExamples: this.peaks.buffered,
      shuffleBuffer: run?.gauge.size ?? 0,
      examplesMapped: run?.mapped ?? 0,
      outOfOrder: run?.outOfOrder ?? 0,
      batchesDelivered: run?.delivered ?? 0,
      prefetchBatches: this.prefetchBatches,
      maxInFlight: this.maxInFlight,
      workers: this.workers,
    };
  }

  /** Stops reading, terminates the workers; pending next() calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopRun();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new Error('pipeline closed while next() was pending'));
    const mapper = this.mapper;
    this.mapper = null;
    if (mapper)
      await mapper.then(
        (m) => m.close(),
        () => undefined,
      );
  }

  private startRun(): void {
    const run: Run = {
      mappings: new Map(),
      ready: [],
      nextToReady: 0,
      delivered: 0,
      sent: 0,
      inFlight: 0,
      buffered: 0,
      mapped: 0,
      dispatched: 0,
      highestMapped: -1,
      outOfOrder: 0,
      totalBatches: null,
      sourceError: null,
      errorQueued: false,
      failure: null,
      wakeProducer: null,
      gauge: { size: 0 },
    };
    this.run = run;
    this.produce(run).catch((err: unknown) => this.fail(run, err));
  }

  /** Runs the stream; an error of the source is queued after the batches read before it. */
  private async produce(run: Run): Promise<void> {
    const mapper = await this.getMapper();
    const start = await this.resolveStart();
    if (this.stale(run)) return;
    if (this.position.index === undefined) this.position = { ...start };
    let read: number;
    try {
      read = await this.dispatchStream(run, mapper, start);
    } catch (err) {
      if (this.stale(run)) return;
      run.sourceError = {
        batch: Math.floor(run.dispatched / this.batchSize),
        error: err instanceof Error ? err : new Error(String(err)),
      };
      this.readyCompleted(run);
      this.serve();
      return;
    }
    if (read < 0 || this.stale(run)) return;
    this.endPass(run, read);
  }

  private stopRun(): void {
    const run = this.run;
    this.run = null;
    run?.wakeProducer?.();
  }

  private stale(run: Run): boolean {
    return run !== this.run || run.failure !== null || run.errorQueued || this.closed;
  }

  private getMapper(): Promise<Mapper> {
    if (!this.mapper) {
      this.mapper = (async () => {
        this.workers = this.workersOption ?? (await defaultWorkerCount());
        // A batch is mapped whole by one worker, one at a time (worker.ts). By default one per
        // worker plus one, so that a worker that finishes has the next one queued; more
        // measured no faster (bench/data_pipeline.ts) and hold more memory.
        this.maxInFlight = Math.max(
          this.maxInFlightOption ?? this.batchSize * (Math.max(1, this.workers) + 1),
          this.batchSize,
        );
        return this.workers === 0
          ? inProcessMapper(this.mapRef)
          : WorkerPool.start(this.workers, this.mapRef, this.waiters.length > 0);
      })();
    }
    return this.mapper;
  }

  private async resolveStart(): Promise<Position> {
    const { epoch, consumed, index } = this.start;
    if (index !== undefined) return { epoch, consumed, index };
    const perEpoch = epoch > 0 ? await countExamples(this.source) : 0;
    return { epoch, consumed, index: epoch * perEpoch + consumed };
  }

  /**
   * Reads the stream and sends its examples, a batch at a time, while the window allows; returns
   * how many were read when the stream ends (an eval pass), or -1 when the run was stopped.
   */
  private async dispatchStream(run: Run, mapper: Mapper, start: Position): Promise<number> {
    const B = this.batchSize;
    const stream = recordStream({
      source: this.source,
      training: this.training,
      seed: this.seed,
      shuffleBufferSize: this.shuffleBufferSize,
      start,
      gauge: run.gauge,
    });
    let group: BatchItem[] = [];
    let after: Position | null = null;
    for await (const ex of stream) {
      if (this.stale(run)) return -1;
      if (group.length === 0) {
        // Room for the whole batch before its first example leaves the shuffle buffer.
        while (
          run.inFlight + B > this.maxInFlight ||
          run.sent >= run.delivered + this.prefetchBatches + this.batchesInFlight()
        ) {
          await new Promise<void>((resolve) => (run.wakeProducer = resolve));
          run.wakeProducer = null;
          if (this.stale(run)) return -1;
        }
      }
      group.push({ bytes: ex.bytes, task: this.taskOf(ex) });
      after = this.positionAfter(ex);
      run.dispatched++;
      run.buffered++;
      this.peaks.buffered = Math.max(this.peaks.buffered, run.buffered);
      if (group.length === B) {
        this.send(run, mapper, group, after);
        group = [];
      }
    }
    if (group.length > 0 && after) {
      if (this.dropRemainder) run.buffered -= group.length;
      else this.send(run, mapper, group, after);
    }
    return run.dispatched;
  }

  /** Fixes the number of batches of an eval pass once it has been read. */
  private endPass(run: Run, i: number): void {
    const full = Math.floor(i / this.batchSize);
    run.totalBatches = i % this.batchSize === 0 || this.dropRemainder ? full : full + 1;
    this.readyCompleted(run);
    this.serve();
  }

  /** Whole batches that fit in maxInFlight. */
  private batchesInFlight(): number {
    return Math.floor(this.maxInFlight / this.batchSize);
  }

  private taskOf(ex: StreamedExample): BatchItem['task'] {
    return {
      index: ex.index,
      epoch: ex.epoch,
      where: ex.where,
      training: this.training,
      seed: this.seed,
    };
  }

  /** The stream position after `ex` (examples arrive in stream order). */
  private positionAfter(ex: StreamedExample): Position {
    return ex.lastInEpoch
      ? { epoch: ex.epoch + 1, consumed: 0, index: ex.index + 1 }
      : { epoch: ex.epoch, consumed: ex.position + 1, index: ex.index + 1 };
  }

  private send(run: Run, mapper: Mapper, items: BatchItem[], after: Position): void {
    const b = run.sent++;
    const mapping: Mapping = { rows: items.length, after };
    run.mappings.set(b, mapping);
    run.inFlight += items.length;
    this.peaks.inFlight = Math.max(this.peaks.inFlight, run.inFlight);
    mapper.mapBatch(items, this.padding, this.source.transferableBytes === true).then(
      (batch) => this.onMapped(run, b, mapping, batch, undefined),
      (err: unknown) =>
        this.onMapped(
          run,
          b,
          mapping,
          undefined,
          err instanceof Error ? err : new Error(String(err)),
        ),
    );
  }

  private onMapped(
    run: Run,
    b: number,
    mapping: Mapping,
    batch: HostBatch | undefined,
    error: Error | undefined,
  ): void {
    if (this.stale(run)) return;
    run.inFlight -= mapping.rows;
    if (batch) run.mapped += mapping.rows;
    if (b < run.highestMapped) run.outOfOrder++;
    else run.highestMapped = b;
    mapping.batch = batch;
    mapping.error = error;
    this.readyCompleted(run);
    this.serve();
    run.wakeProducer?.();
  }

  /**
   * Moves completed batches, in order, to the ready queue while it has room; a batch with a map
   * error, or the place of a source error, becomes an error item and ends the queue.
   */
  private readyCompleted(run: Run): void {
    while (run.ready.length < this.prefetchBatches && !this.stale(run) && !run.errorQueued) {
      const m = run.mappings.get(run.nextToReady);
      const error =
        m?.error ??
        (run.sourceError?.batch === run.nextToReady ? run.sourceError.error : undefined);
      if (error) {
        run.ready.push({ error });
        run.errorQueued = true;
        return;
      }
      if (!m?.batch) return;
      run.mappings.delete(run.nextToReady);
      run.ready.push({ batch: m.batch, after: m.after, rows: m.rows });
      run.nextToReady++;
      this.peaks.ready = Math.max(this.peaks.ready, run.ready.length);
    }
  }

  /** Settles waiting next() calls from the ready queue, the end of a pass, or a failure. */
  private serve(): void {
    const run = this.run;
    while (run && this.waiters.length > 0) {
      if (run.failure) {
        for (const w of this.waiters.splice(0)) w.reject(run.failure);
        break;
      }
      const item = run.ready.shift();
      if (item && 'error' in item) {
        run.failure = item.error;
        run.wakeProducer?.();
        continue;
      }
      if (item) {
        run.delivered++;
        run.buffered -= item.rows;
        this.position = item.after;
        this.waiters.shift()?.resolve(item.batch);
        this.readyCompleted(run);
        run.wakeProducer?.();
        continue;
      }
      if (run.totalBatches !== null && run.delivered >= run.totalBatches) {
        this.waiters.shift()?.resolve(null);
        continue;
      }
      break;
    }
    this.updateActive();
  }

  private fail(run: Run, err: unknown): void {
    if (this.stale(run)) return;
    run.failure = err instanceof Error ? err : new Error(String(err));
    run.wakeProducer?.();
    this.serve();
  }

  /** Workers keep the process alive only while a consumer waits for a batch. */
  private updateActive(): void {
    const active = this.waiters.length > 0;
    this.mapper?.then(
      (m) => m.setActive(active),
      () => undefined,
    );
  }
}
