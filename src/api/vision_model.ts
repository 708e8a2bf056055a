/**
 * A model ready to predict: the task's model with its weights, its inference declaration
 * (src/core/inference.ts) and the config it was built from. `predict` decodes and preprocesses
 * images as the task's evaluation does, runs the inference graph (eagerly on the tfjs backend,
 * or compiled on ONNX Runtime), and decodes each image's outputs into a JSON prediction.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExperimentConfigBase } from '../core/config/definitions.js';
import type {
  DecodeOptions,
  HostTensor,
  ImageFrame,
  InferenceInputs,
  Labels,
  Prediction,
  Preprocessing,
  TaskInference,
} from '../core/inference.js';
import type { Layer } from '../core/layer.js';
import type { EngineFallback } from '../core/step_parts.js';
import type { AnyTask } from '../core/task.js';
import { preprocessImage } from '../data/ops/inference_preprocess.js';
import { CompiledModel } from '../engine/compile_model.js';
import type { OrtRuntime } from '../engine/session.js';
import { toImage, type ImageInput } from './images.js';

export interface RunOptions {
  /**
   * Run the inference graph compiled on ONNX Runtime (src/engine, one session per batch size)
   * instead of eagerly on the active tfjs backend. Default false.
   */
  compiled?: boolean;
  /** Compiled only: what a graph that cannot be compiled does (runtime.engine_fallback). */
  fallback?: EngineFallback;
  /** Compiled only: the ONNX Runtime (default onnxruntime-node). */
  runtime?: OrtRuntime;
}

export interface ModelInfo {
  /** Registered experiment the model was made from, when known. */
  experiment: string | null;
  taskType: string;
  config: ExperimentConfigBase;
  /** Where the weights came from ('initial values' when none were loaded). */
  weightsSource: string;
  /** Whether a checkpoint's EMA averages were loaded. */
  usedEma: boolean;
}

type AnyLayer = Layer<unknown, unknown>;

export class VisionModel {
  readonly inference: TaskInference<AnyLayer>;
  private labelNames: Labels;
  private compiledModel: CompiledModel<Record<string, tf.Tensor>> | null = null;

  constructor(
    readonly info: ModelInfo,
    readonly task: AnyTask,
    readonly model: AnyLayer,
    private readonly opts: RunOptions = {},
  ) {
    if (!task.inference) {
      throw new Error(
        `task '${task.type}' declares no inference (Task.inference): it cannot predict`,
      );
    }
    this.inference = task.inference() as TaskInference<AnyLayer>;
    this.labelNames = this.inference.labels;
  }

  /** Replaces the class names (by id) the predictions carry. */
  setLabels(labels: Labels): void {
    this.labelNames = labels;
  }

  get preprocessing(): Preprocessing {
    return this.inference.preprocessing;
  }

  get labels(): Labels {
    return this.labelNames;
  }

  /** The inference graph as a function of named inputs (what is compiled and exported). */
  graph(): (inputs: Record<string, tf.Tensor>) => Record<string, tf.Tensor> {
    return (inputs) => this.inference.outputs(this.model, inputs as unknown as InferenceInputs);
  }

  /** Model weights by `model/<Keras path>` (the names of the compiled graph's weight inputs). */
  namedVariables(): { name: string; variable: tf.Variable }[] {
    return this.model.weights().map((w) => ({ name: `model/${w.path}`, variable: w.variable }));
  }

  /** Runs the inference graph on preprocessed inputs; the caller owns the outputs. */
  async run(inputs: InferenceInputs): Promise<Record<string, tf.Tensor>> {
    if (!this.opts.compiled) {
      return tf.tidy(() => this.graph()(inputs as unknown as Record<string, tf.Tensor>));
    }
    this.compiledModel ??= new CompiledModel(this.graph(), {
      variables: this.namedVariables(),
      fallback: this.opts.fallback,
      runtime: this.opts.runtime,
      what: `${this.task.type} inference`,
    });
    return this.compiledModel.run(inputs as unknown as Record<string, tf.Tensor>);
  }

  /** Preprocesses images into one batch (what {@link run} takes) and their frames. */
  async preprocess(
    images: ImageInput[],
  ): Promise<{ inputs: InferenceInputs; frames: ImageFrame[] }> {
    return preprocessBatch(images, this.preprocessing);
  }

  /** Predicts one image. */
  async predict(image: ImageInput, opts: DecodeOptions = {}): Promise<Prediction> {
    return (await this.predictBatch([image], opts))[0];
  }

  /** Predicts several images in one batch. */
  async predictBatch(images: ImageInput[], opts: DecodeOptions = {}): Promise<Prediction[]> {
    if (images.length === 0) throw new Error('predict: give at least one image');
    const { inputs, frames } = await this.preprocess(images);
    let outputs: Record<string, tf.Tensor> = {};
    try {
      outputs = await this.run(inputs);
      const host: Record<string, BatchHostTensor> = {};
      for (const [name, t] of Object.entries(outputs)) {
        host[name] = { data: (await t.data()) as Float32Array | Int32Array, shape: t.shape };
      }
      return decodeBatch(this.inference, host, frames, this.labels, opts);
    } finally {
      tf.dispose([inputs.image, inputs.image_shape, ...Object.values(outputs)]);
    }
  }

  /** Frees the weights and any compiled sessions. */
  async dispose(): Promise<void> {
    await this.compiledModel?.dispose();
    this.compiledModel = null;
    this.model.dispose();
  }
}

/** A batch output on the host: data and shape with the batch axis. */
export interface BatchHostTensor {
  data: Float32Array | Int32Array;
  shape: number[];
}

/** Images decoded and preprocessed as `p` says, stacked into one batch, with their frames. */
export async function preprocessBatch(
  images: ImageInput[],
  p: Preprocessing,
): Promise<{ inputs: InferenceInputs; frames: ImageFrame[] }> {
  const items = [];
  for (const input of images) items.push(preprocessImage(await toImage(input, p.input_size[2]), p));
  const [h, w, c] = items[0].shape;
  const data = new Float32Array(items.length * h * w * c);
  items.forEach((it, i) => data.set(it.data, i * h * w * c));
  const shapes = items.flatMap((it) => it.frame.scaled);
  return {
    inputs: {
      image: tf.tensor4d(data, [items.length, h, w, c]),
      image_shape: tf.tensor2d(shapes, [items.length, 2], 'float32'),
    },
    frames: items.map((it) => it.frame),
  };
}

/** Each image's row of the batch outputs, decoded by the task into its prediction. */
export function decodeBatch(
  inference: Pick<TaskInference<unknown>, 'decode'>,
  host: Record<string, BatchHostTensor>,
  frames: ImageFrame[],
  labels: Labels,
  opts: DecodeOptions,
): Prediction[] {
  return frames.map((frame, b) => {
    const row: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(host)) {
      const per = t.shape.slice(1).reduce((a, x) => a * x, 1);
      row[name] = { data: t.data.subarray(b * per, (b + 1) * per), shape: t.shape.slice(1) };
    }
    return inference.decode(row, frame, labels, opts);
  });
}
