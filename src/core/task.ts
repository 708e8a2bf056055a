/**
 * The training contract between a task and the trainer (as Model Garden's `base_task.Task`).
 *
 * A task builds the model, the input pipelines, the losses and the metrics from its config; the
 * trainer (src/train) drives any task through this interface and a step runner, and never knows
 * which family it trains. The differentiable part of a step is {@link Task.forward}: a pure
 * function of the model weights and one batch, which an eager step differentiates with tfjs
 * autograd and the engine can record into one graph.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { TaskInference } from './inference.js';
import type { CallArgs, Layer } from './layer.js';

/** Scalar losses of one forward pass. `total_loss` is what is minimised. */
export interface Losses {
  total_loss: tf.Scalar;
  [term: string]: tf.Scalar;
}

export interface ForwardResult<O> {
  losses: Losses;
  /** Model outputs the metrics need (logits, boxes ...), kept alive for the caller. */
  outputs: O;
}

/** A streaming metric: accumulates per-batch results, then reports named numbers. */
export interface Metric<O, B> {
  readonly name: string;
  update(outputs: O, batch: B): void | Promise<void>;
  result(): Record<string, number>;
  reset(): void;
}

/** Resumable position of an input pipeline (JSON-serialisable). */
export type PipelineState = Record<string, unknown>;

/**
 * A source of batches. Training pipelines repeat forever; evaluation pipelines end (`null`) after
 * every example was seen exactly once.
 */
export interface InputPipeline<B, S extends PipelineState = PipelineState> {
  /** Next batch, or null when a non-repeating pipeline is exhausted. The caller owns the batch. */
  next(): Promise<B | null>;
  /** Resumable position (epoch, index, RNG state) stored in checkpoints. */
  getState(): S;
  setState(state: S): void;
  /** Examples per epoch, if known. */
  readonly cardinality?: number;
  dispose?(): void;
}

export interface InputOptions {
  training: boolean;
  /** Seed for shuffling and augmentation. */
  seed: number;
}

/** Batches are named tensors (features and labels); tasks may narrow the keys. */
export type Batch = Record<string, tf.Tensor>;

/** An image for TensorBoard: HWC uint8. */
export interface ImageSummary {
  tag: string;
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

export interface Task<M extends Layer<unknown, unknown>, B extends Batch, O> {
  /** Task type name, as registered. */
  readonly type: string;
  /** Builds the model with the task's config (weights are created on the first call). */
  buildModel(): M;
  /** A batch shaped like real inputs, used to build the model before restoring weights. */
  dummyBatch(batchSize: number): B;
  buildInputs(which: 'train' | 'validation', opts: InputOptions): Promise<InputPipeline<B>>;
  /** Forward pass and every loss term (incl. l2 weight decay) for one batch. */
  forward(model: M, batch: B, args: CallArgs): ForwardResult<O>;
  buildMetrics(training: boolean): Metric<O, B>[];
  /**
   * Input images worth showing in TensorBoard for a batch (as Model Garden tasks do when
   * `allow_image_summary` is set), or none. The trainer writes them at the first step of a run.
   */
  summaryImages?(batch: B): Promise<ImageSummary[]>;
  /** Name of the metric used for best-checkpoint selection when the config names none. */
  readonly defaultEvalMetric?: string;
  /**
   * The model's inference outputs (training off) under Model Garden's output names (`logits`;
   * nested ones as `key/level`, e.g. `cls_outputs/3`): what `vision-garden forward` writes.
   * `extras` holds optional inputs such as `image_shape`.
   */
  inferenceOutputs?(
    model: M,
    images: tf.Tensor,
    extras: Record<string, tf.Tensor>,
  ): Record<string, tf.Tensor>;
  /**
   * Streaming inference of a causal video model on `video` [B, T, H, W, C] (`forward --stream`):
   * named outputs of the whole clip and of the clip fed frame by frame with explicit states.
   */
  streamOutputs?(model: M, video: tf.Tensor): Record<string, tf.Tensor>;
  /** The task's `init_checkpoint` (Model Garden's Task.initialize), or null when none is set. */
  initCheckpoint?(): InitCheckpointSpec | null;
  /**
   * How the model predicts on raw images (src/core/inference.ts): preprocessing, labels,
   * inference graph and decoding. Tasks without it cannot be used by `predict` or exported.
   */
  inference?(): TaskInference<M>;
}

/** What a task's `init_checkpoint` fields ask the trainer to load before the first step. */
export interface InitCheckpointSpec {
  /** A TF checkpoint prefix or directory, or a `.vgckpt` file or directory of ours. */
  path: string;
  /** `['all']` or module names (`backbone`, `decoder`). */
  modules: string[];
  /** Sub-layer attributes that follow num_classes, skipped with a note when shapes differ. */
  classDependent?: string[];
}

/** A task of any model, batch and output type (what the trainer and registries hold). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = Task<Layer<any, any>, Batch, any>;
