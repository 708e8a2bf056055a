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
import { preprocessImage, preprocessVideo } from '../data/ops/inference_preprocess.js';
import { CompiledModel } from '../engine/compile_model.js';
import type { OrtRuntime } from '../engine/session.js';
import { toImage, type ImageInput } from './images.js';
import { toVideo, type VideoInput } from './videos.js';

/** A model input: an image, or a video for video models (`preprocessing.method` 'video_clip'). */
export type ModelInput = ImageInput | VideoInput;

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
  private compiledStream: CompiledModel<{ outputs: Record<string, tf.Tensor> }> | null = null;

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

  /** Preprocesses images (or videos) into one batch (what {@link run} takes) and their frames. */
  async preprocess(
    images: ModelInput[],
  ): Promise<{ inputs: InferenceInputs; frames: ImageFrame[] }> {
    return preprocessBatch(images, this.preprocessing);
  }

  /**
   * Streams one video through a model that streams (`inference.stream`: causal MoViNets with
   * external states): the preprocessed clip is fed one frame (of every view) per call, each call
   * given the states of the previous one (compiled: one ONNX graph, `runStream`). Returns the
   * prediction after each frame; the last equals {@link predict} on the whole clip.
   */
  async predictStream(video: VideoInput, opts: DecodeOptions = {}): Promise<Prediction[]> {
    const stream = this.inference.stream;
    const v = this.preprocessing.video;
    if (!stream || !v) {
      throw new Error(
        `this ${this.task.type} model does not stream: it needs a causal MoViNet with stream states (task.model.backbone.movinet.causal and use_external_states: true)`,
      );
    }
    const { inputs, frames } = await this.preprocess([video]);
    const views = v.num_test_clips * v.num_test_crops;
    const T = v.num_frames;
    // Frame t of every view: rows v * T + t of the stacked views.
    const chunks = Array.from({ length: T }, (_, t) => ({
      image: tf.tidy(() =>
        tf.gather(
          inputs.image,
          Array.from({ length: views }, (_, k) => k * T + t),
          1,
        ),
      ),
    }));
    const initial = stream.initialState(this.model, chunks[0].image);
    const outputs: Record<string, tf.Tensor>[] = [];
    let state: Record<string, tf.Tensor> = initial;
    try {
      if (this.opts.compiled) {
        this.compiledStream ??= new CompiledModel(
          (x: Record<string, tf.Tensor>) => stream.step(this.model, x),
          {
            variables: this.namedVariables(),
            fallback: this.opts.fallback,
            runtime: this.opts.runtime,
            what: `${this.task.type} streaming inference`,
          },
        );
        const run = await this.compiledStream.runStream(chunks, initial);
        state = run.state;
        for (const o of run.outputs) outputs.push(o.outputs);
      } else {
        for (const chunk of chunks) {
          const step = tf.tidy(() => {
            const r = stream.step(this.model, { ...chunk, ...state });
            return { outputs: r.outputs, state: r.state };
          });
          if (state !== initial) tf.dispose(Object.values(state));
          state = Object.fromEntries(Object.entries(step.state).map(([k, t]) => [`state/${k}`, t]));
          outputs.push(step.outputs);
        }
      }
      const predictions: Prediction[] = [];
      for (const out of outputs) {
        const row: Record<string, HostTensor> = {};
        for (const [name, t] of Object.entries(out)) {
          row[name] = {
            data: (await t.data()) as Float32Array | Int32Array,
            shape: t.shape.slice(1),
          };
        }
        predictions.push(this.inference.decode(row, frames[0], this.labels, opts));
      }
      return predictions;
    } finally {
      tf.dispose([
        inputs.image,
        inputs.image_shape,
        ...chunks.map((c) => c.image),
        ...Object.values(initial),
        ...(state !== initial ? Object.values(state) : []),
        ...outputs.flatMap((o) => Object.values(o)),
      ]);
    }
  }

  /** Predicts one image (a video for video models). */
  async predict(image: ModelInput, opts: DecodeOptions = {}): Promise<Prediction> {
    return (await this.predictBatch([image], opts))[0];
  }

  /** Predicts several images (videos) in one batch. */
  async predictBatch(images: ModelInput[], opts: DecodeOptions = {}): Promise<Prediction[]> {
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
    await this.compiledStream?.dispose();
    this.compiledStream = null;
    this.model.dispose();
  }
}

/** A batch output on the host: data and shape with the batch axis. */
export interface BatchHostTensor {
  data: Float32Array | Int32Array;
  shape: number[];
}

/**
 * Images (or videos, for `video_clip` preprocessing) decoded and preprocessed as `p` says, stacked
 * into one batch, with their frames. Video batches are [B, views * frames, H, W, C]
 * (InferenceInputs.image says so).
 */
export async function preprocessBatch(
  inputs: ModelInput[],
  p: Preprocessing,
): Promise<{ inputs: InferenceInputs; frames: ImageFrame[] }> {
  const items: { data: Float32Array; shape: number[]; frame: ImageFrame }[] = [];
  for (const input of inputs) {
    items.push(
      p.method === 'video_clip'
        ? await preprocessVideo(await toVideo(input), p)
        : preprocessImage(await toImage(input as ImageInput, p.input_size[2]), p),
    );
  }
  const shape = items[0].shape;
  const per = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(items.length * per);
  items.forEach((it, i) => data.set(it.data, i * per));
  const shapes = items.flatMap((it) => it.frame.scaled);
  return {
    inputs: {
      image: tf.tensor(data, [items.length, ...shape], 'float32') as unknown as tf.Tensor4D,
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
