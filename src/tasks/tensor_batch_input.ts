/**
 * Batches of a {@link ParallelPipeline} as tensors (by default feature by feature: float32 / int32
 * arrays keep their dtype, uint8 becomes int32), with the pipeline's resume state tagged by `kind`.
 * Every task's TFRecord input is one of these, built from its DataConfig by
 * {@link tfRecordBatchInput}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpuCount } from '../core/host.js';
import type { InputOptions, InputPipeline } from '../core/task.js';
import type { HostBatch, MapFnRef, ParallelPipeline } from '../data/pipeline/index.js';

/** Worker threads of the TFRecord inputs: VG_DATA_WORKERS when set, else min(4, cores). */
export async function defaultDataWorkers(): Promise<number> {
  const env = typeof process !== 'undefined' ? process.env.VG_DATA_WORKERS : undefined;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`VG_DATA_WORKERS must be a non-negative integer, got '${env}'`);
    }
    return n;
  }
  return Math.min(4, cpuCount());
}

/** The fields of Model Garden's `cfg.DataConfig` a TFRecord input reads. */
export interface TfRecordDataConfig {
  input_path: string | string[] | Record<string, string | string[]>;
  tfds_name: string | Record<string, string>;
  file_type?: string;
  global_batch_size: number;
  is_training: boolean | null;
  seed: number | null;
  shuffle_buffer_size: number;
  drop_remainder: boolean;
}

/** What a task's TFRecord input is made of, besides its DataConfig. */
export interface TfRecordInputSpec<B> {
  /** The task family, for the `tfds_name` error ('detection', 'segmentation', 'video'). */
  family: string;
  /** What the files must hold, for the empty `input_path` error. */
  records: string;
  /** The parser run on the input workers (made after the DataConfig checks). */
  parser: () => MapFnRef;
  /** Tags the resume state ({@link TensorBatchInput}). */
  kind: string;
  /** Host batch to tensors (default {@link hostBatchTensors}). */
  toTensors?: (hb: HostBatch) => B;
}

/**
 * A task's `train_data` / `validation_data` TFRecord input as Model Garden's input reader builds
 * it: `input_path` files through `spec.parser` on the worker threads, shuffled (training) with the
 * DataConfig's seed (else the trainer's), batched by `global_batch_size`. Throws a one-line error
 * naming the field for a DataConfig it cannot read.
 */
export async function tfRecordBatchInput<B extends Record<string, tf.Tensor>>(
  which: 'train' | 'validation',
  dc: TfRecordDataConfig,
  opts: InputOptions,
  spec: TfRecordInputSpec<B>,
): Promise<TensorBatchInput<B>> {
  const key = `${which}_data`;
  if (!(dc.global_batch_size > 0)) {
    throw new Error(`task.${key}.global_batch_size must be > 0, got ${dc.global_batch_size}`);
  }
  if (dc.is_training !== opts.training) {
    throw new Error(
      `task.${key}.is_training: ${dc.is_training} is not supported (the ${which} input runs with is_training ${opts.training})`,
    );
  }
  if (dc.tfds_name) {
    throw new Error(
      `task.${key}.tfds_name: built-in datasets are not supported for ${spec.family}; use input_path`,
    );
  }
  if (dc.file_type !== undefined && dc.file_type !== 'tfrecord') {
    throw new Error(
      `task.${key}.file_type '${dc.file_type}' is not readable here (only 'tfrecord')`,
    );
  }
  const path = dc.input_path;
  if (typeof path !== 'string' && !Array.isArray(path)) {
    throw new Error(`task.${key}.input_path: a mapping of named inputs is not supported here`);
  }
  if (path.length === 0) {
    throw new Error(`task.${key}.input_path: set it to TFRecord files of ${spec.records}`);
  }
  const { ParallelPipeline, tfrecordSource } = await import('../data/pipeline/index.js');
  const pipeline = new ParallelPipeline({
    source: tfrecordSource(path),
    map: spec.parser(),
    training: opts.training,
    batchSize: dc.global_batch_size,
    seed: (dc.seed ?? opts.seed) >>> 0,
    shuffleBufferSize: dc.shuffle_buffer_size,
    workers: await defaultDataWorkers(),
    dropRemainder: dc.drop_remainder,
  });
  return new TensorBatchInput<B>(pipeline, spec.kind, spec.toTensors);
}

/** Every feature of a host batch as a tensor of its shape (uint8 becomes int32). */
export function hostBatchTensors(hb: HostBatch): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, f] of Object.entries(hb)) {
    const data = f.data instanceof Uint8Array ? Int32Array.from(f.data) : f.data;
    out[name] = tf.tensor(data as Float32Array | Int32Array, f.shape);
  }
  return out;
}

export class TensorBatchInput<
  B extends Record<string, tf.Tensor> = Record<string, tf.Tensor>,
> implements InputPipeline<B> {
  constructor(
    private readonly pipeline: ParallelPipeline,
    /** Stored in the state, so a checkpoint of another input kind is refused on resume. */
    private readonly kind: string,
    /** How a host batch becomes tensors (default: feature by feature, {@link hostBatchTensors}). */
    private readonly toTensors: (hb: HostBatch) => B = hostBatchTensors as (hb: HostBatch) => B,
  ) {}

  async next(): Promise<B | null> {
    const hb: HostBatch | null = await this.pipeline.next();
    if (hb === null) return null;
    return this.toTensors(hb);
  }

  getState(): Record<string, unknown> {
    return { kind: this.kind, ...this.pipeline.getState() };
  }

  setState(state: Record<string, unknown>): void {
    if (state.kind !== this.kind) {
      throw new Error(`pipeline state kind '${String(state.kind)}' is not '${this.kind}'`);
    }
    const { epoch, consumed, index } = state;
    if (typeof epoch !== 'number' || typeof consumed !== 'number') {
      throw new Error(
        `pipeline state needs numeric epoch and consumed, got ${JSON.stringify(state)}`,
      );
    }
    this.pipeline.setState(
      typeof index === 'number' ? { epoch, consumed, index } : { epoch, consumed },
    );
  }

  dispose(): void {
    void this.pipeline.close();
  }

  close(): Promise<void> {
    return this.pipeline.close();
  }
}
