/**
 * Batches of a {@link ParallelPipeline} as tensors (by default feature by feature: float32 / int32
 * arrays keep their dtype, uint8 becomes int32), with the pipeline's resume state tagged by `kind`.
 * Every task's TFRecord input is one of these.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { InputPipeline } from '../core/task.js';
import type { HostBatch, ParallelPipeline } from '../data/pipeline/index.js';

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
