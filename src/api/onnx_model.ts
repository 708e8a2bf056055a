/**
 * `loadOnnxModel`: an ONNX file written by `toOnnx` / `vision-garden export --format onnx`, run
 * by an ONNX Runtime (onnxruntime-node by default; onnxruntime-web in the browser) with the
 * preprocessing, labels and decoding its metadata names: the same `predict` as a
 * {@link VisionModel}, without tfjs weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig } from '../core/config/index.js';
import type { ExperimentConfigBase } from '../core/config/definitions.js';
import { readFileBytes } from '../core/host.js';
import type {
  DecodeOptions,
  Labels,
  Prediction,
  Preprocessing,
  TaskInference,
} from '../core/inference.js';
import { tasks } from '../core/registry.js';
import type { AnyTask } from '../core/task.js';
import { ortRuntime, toOrt, type OrtRuntime, type OrtSession } from '../engine/session.js';
import { readOnnxMetadata } from '../export/onnx_metadata.js';
import type { VgModelMeta } from '../export/vg_format.js';
import type { ImageInput } from './images.js';
import { decodeBatch, preprocessBatch, type BatchHostTensor } from './vision_model.js';

/** The metadata_props key holding the model's description (JSON of model.json's fields). */
export const ONNX_METADATA_KEY = 'vision_garden';

export interface OnnxModelOptions {
  /** The ONNX Runtime (default onnxruntime-node; in the browser pass onnxruntime-web). */
  runtime?: OrtRuntime;
}

type SessionWithNames = OrtSession & { inputNames?: readonly string[] };

export class OnnxVisionModel {
  private constructor(
    readonly meta: VgModelMeta,
    readonly inference: TaskInference<unknown>,
    private readonly session: SessionWithNames,
    private readonly runtime: OrtRuntime,
  ) {}

  /** Opens ONNX bytes (or a path / URL of them) made by `toOnnx`. */
  static async load(
    source: Uint8Array | string,
    opts: OnnxModelOptions = {},
  ): Promise<OnnxVisionModel> {
    const where = typeof source === 'string' ? source : 'ONNX model';
    const bytes = typeof source === 'string' ? await readSource(source) : source;
    const text = readOnnxMetadata(bytes)[ONNX_METADATA_KEY];
    if (text === undefined) {
      throw new Error(
        `${where}: no '${ONNX_METADATA_KEY}' metadata (was it written by vision-garden export --format onnx?)`,
      );
    }
    let meta: VgModelMeta;
    try {
      meta = JSON.parse(text) as VgModelMeta;
    } catch (err) {
      throw new Error(`${where}: its '${ONNX_METADATA_KEY}' metadata is not JSON`, { cause: err });
    }
    const entry = tasks.get(meta.task_type);
    const config = resolveConfig(entry.experimentSchema, {
      base: meta.config as ExperimentConfigBase,
    }) as ExperimentConfigBase;
    const task = entry.create(config.task) as AnyTask;
    if (!task.inference) throw new Error(`${where}: task '${meta.task_type}' cannot predict`);
    const inference = task.inference() as TaskInference<unknown>;
    const runtime = await ortRuntime(opts);
    const session = (await runtime.InferenceSession.create(bytes)) as SessionWithNames;
    return new OnnxVisionModel(meta, inference, session, runtime);
  }

  get preprocessing(): Preprocessing {
    return this.meta.preprocessing as Preprocessing;
  }

  get labels(): Labels {
    return this.meta.labels;
  }

  /** Predicts one image. */
  async predict(image: ImageInput, opts: DecodeOptions = {}): Promise<Prediction> {
    return (await this.predictBatch([image], opts))[0];
  }

  /** Predicts several images in one batch (the file's batch axis is dynamic). */
  async predictBatch(images: ImageInput[], opts: DecodeOptions = {}): Promise<Prediction[]> {
    if (images.length === 0) throw new Error('predict: give at least one image');
    const { inputs, frames } = await preprocessBatch(images, this.preprocessing);
    try {
      const names = this.session.inputNames ?? ['image', 'image_shape'];
      const feeds: Record<string, ReturnType<typeof toOrt>> = {};
      for (const name of names) {
        const t = (inputs as unknown as Record<string, tf.Tensor | undefined>)[name];
        if (!t) throw new Error(`ONNX model input '${name}' is not an inference input`);
        feeds[name] = toOrt(this.runtime, t);
      }
      const out = await this.session.run(feeds);
      const host: Record<string, BatchHostTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        host[name] = { data: t.data as Float32Array | Int32Array, shape: [...t.dims] };
      }
      return decodeBatch(this.inference, host, frames, this.labels, opts);
    } finally {
      tf.dispose([inputs.image, inputs.image_shape]);
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

async function readSource(source: string): Promise<Uint8Array> {
  if (/^(https?|blob|data):/i.test(source)) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`ONNX model ${source}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  return readFileBytes(source.startsWith('file:') ? new URL(source) : source);
}

/** Opens an ONNX file written by `toOnnx` (see {@link OnnxVisionModel}). */
export function loadOnnxModel(
  source: Uint8Array | string,
  opts: OnnxModelOptions = {},
): Promise<OnnxVisionModel> {
  return OnnxVisionModel.load(source, opts);
}
