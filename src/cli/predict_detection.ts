/**
 * `vision-garden predict` on a detection (RetinaNet) experiment: each image is decoded, prepared
 * as the RetinaNet parser's evaluation path does (src/data/parsers/retinanet_parser.ts
 * `retinaNetEvalImage`: normalise, resize into `input_size` keeping the aspect ratio, zero-pad,
 * `image_info`), run through the model with its detection generator (compiled to one ONNX graph,
 * NMS included, on the onnx backend), and the detections are mapped back to the original image's
 * pixels by undoing `image_info` (Model Garden's evaluation: `(box + offset) / scale`).
 *
 * Weights come from any checkpoint `forward` reads (a `.vgckpt` file or run directory, or a
 * Model Garden TF checkpoint), loaded by rule (./checkpoint_model.ts).
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { resolveEngineFallback } from '../core/backend/index.js';
import { decodeImage, type DecodedImage } from '../data/decoders/image.js';
import { readLabelMap, labelMapFromNames, type LabelMap } from '../data/label_map.js';
import { cocoLabelMap } from '../data/label_maps/coco.js';
import { retinaNetEvalImage } from '../data/parsers/retinanet_parser.js';
import { CompiledModel } from '../engine/compile_model.js';
import type { RetinaNetModel } from '../modeling/models/retinanet_model.js';
import type { RetinaNetTaskConfig } from '../tasks/retinanet/config.js';
import { RetinaNetTask } from '../tasks/retinanet/task.js';
import type { ExperimentSpec } from '../train/run_experiment.js';
import { loadCheckpointModel } from './checkpoint_model.js';
import { drawDetections } from './draw_detections.js';

export interface DetectOptions extends ExperimentSpec {
  /** A `.vgckpt` file or run directory, or a TF checkpoint (prefix or directory). */
  checkpoint: string;
  images: string[];
  /** Label map file (pbtxt, csv or json) overriding the automatic choice. */
  labelMap?: string;
  /** Detections below this score are left out (default 0.3). */
  minScore?: number;
  /** Where to write the image with its detections drawn (PNG); one input image only. */
  output?: string;
  /** Run the model compiled (one ONNX graph, NMS included); default false (eager). */
  compiled?: boolean;
}

export interface Detection {
  /** [ymin, xmin, ymax, xmax] in the original image's pixels. */
  box: [number, number, number, number];
  classId: number;
  name: string;
  score: number;
}

export interface ImageDetections {
  image: string;
  height: number;
  width: number;
  detections: Detection[];
  /** The annotated image written for it, if any. */
  annotated?: string;
}

export interface DetectResult {
  checkpoint: string;
  labelSource: string;
  minScore: number;
  predictions: ImageDetections[];
}

/**
 * The label map of a detector: `labelMapPath` when given; Model Garden's COCO ids when the model
 * has COCO's 91 classes; else bare class ids.
 */
export async function detectionClassNames(
  task: RetinaNetTaskConfig,
  labelMapPath?: string,
): Promise<{ map: LabelMap; source: string }> {
  if (labelMapPath) return { map: await readLabelMap(labelMapPath), source: labelMapPath };
  const n = task.model.num_classes;
  if (n === 91) return { map: cocoLabelMap(n), source: 'COCO (91 classes)' };
  return {
    map: labelMapFromNames(Array.from({ length: n }, (_, i) => `class ${i}`)),
    source: 'class ids (no label map; pass --label_map)',
  };
}

/**
 * Boxes of the model's input frame back to the original image (`image_info` [4, 2]:
 * [[orig h, w], [scaled h, w], [scale y, x], [offset y, x]]), clipped to the image.
 */
export function boxToOriginal(
  box: ArrayLike<number>,
  imageInfo: ArrayLike<number>,
): [number, number, number, number] {
  const [h, w, sy, sx, oy, ox] = [0, 1, 4, 5, 6, 7].map((i) => imageInfo[i]);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [
    clip((box[0] + oy) / sy, h),
    clip((box[1] + ox) / sx, w),
    clip((box[2] + oy) / sy, h),
    clip((box[3] + ox) / sx, w),
  ];
}

const DETECTION_KEYS = [
  'detection_boxes',
  'detection_scores',
  'detection_classes',
  'num_detections',
] as const;
type DetectionTensors = Record<(typeof DETECTION_KEYS)[number], tf.Tensor>;

async function decodeFile(file: string): Promise<DecodedImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new Error(`predict: cannot read image '${file}': ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return await decodeImage(new Uint8Array(bytes), { channels: 3 });
  } catch (err) {
    throw new Error(`predict: ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Runs a detection experiment's model on image files; the tensor backend must be initialised. */
export async function predictDetections(opts: DetectOptions): Promise<DetectResult> {
  if (opts.images.length === 0) throw new Error('predict: give at least one IMAGE file');
  if (opts.output && opts.images.length !== 1) {
    throw new Error(
      `predict: --output names one annotated image, but ${opts.images.length} images were given`,
    );
  }
  const minScore = opts.minScore ?? 0.3;
  if (!(minScore >= 0 && minScore <= 1)) {
    throw new Error(`--min_score must be in [0, 1], got ${opts.minScore}`);
  }
  const { resolved, task, model, source } = await loadCheckpointModel(opts, opts.checkpoint);
  let compiled: CompiledModel<DetectionTensors> | null = null;
  try {
    if (!(task instanceof RetinaNetTask)) {
      throw new Error(`predict: experiment '${opts.experiment}' is not a detection experiment`);
    }
    const detector = model as RetinaNetModel;
    const cfg = task.config;
    if (!cfg.model.detection_generator.apply_nms) {
      throw new Error(
        'task.model.detection_generator.apply_nms: predict needs detections (set it true)',
      );
    }
    if (!opts.compiled && resolved.config.runtime.engine_fallback !== null) {
      throw new Error(
        'predict: runtime.engine_fallback applies to the compiled model (--backend onnx)',
      );
    }
    const names = await detectionClassNames(cfg, opts.labelMap);
    const parser = task.parserOptionsFor(cfg.validation_data);
    const detect = (x: Record<string, tf.Tensor>): DetectionTensors => {
      const out = task.inferenceOutputs(detector, x.image, { image_shape: x.image_shape });
      const picked = {} as DetectionTensors;
      for (const k of DETECTION_KEYS) picked[k] = out[k];
      return picked;
    };
    compiled = opts.compiled
      ? new CompiledModel(detect, {
          variables: detector
            .weights()
            .map((w) => ({ name: `model/${w.path}`, variable: w.variable })),
          fallback: resolveEngineFallback(resolved.config.runtime.engine_fallback),
          what: 'detector',
        })
      : null;
    const predictions: ImageDetections[] = [];
    for (const file of opts.images) {
      const decoded = await decodeFile(file);
      const { image, imageInfo, padded } = retinaNetEvalImage(parser, decoded);
      const inputs = {
        image: tf.tensor4d(image, [1, padded[0], padded[1], 3]),
        // image_info[1] (the desired size) clips the detections, as the task's evaluation does.
        image_shape: tf.tensor2d([imageInfo[2], imageInfo[3]], [1, 2]),
      };
      const out = compiled ? await compiled.run(inputs) : tf.tidy(() => detect(inputs));
      const [boxes, scores, classes, num] = await Promise.all(
        DETECTION_KEYS.map((k) => out[k].data()),
      );
      tf.dispose([...Object.values(inputs), ...Object.values(out)]);
      const detections: Detection[] = [];
      for (let i = 0; i < num[0]; i++) {
        if (scores[i] < minScore) continue;
        const id = classes[i];
        detections.push({
          box: boxToOriginal(boxes.subarray(4 * i, 4 * i + 4), imageInfo),
          classId: id,
          name: names.map.get(id)?.name ?? `class ${id}`,
          score: scores[i],
        });
      }
      const entry: ImageDetections = {
        image: file,
        height: decoded.height,
        width: decoded.width,
        detections,
      };
      if (opts.output) {
        await drawDetections(decoded, detections, opts.output);
        entry.annotated = opts.output;
      }
      predictions.push(entry);
    }
    return { checkpoint: source, labelSource: names.source, minScore, predictions };
  } finally {
    await compiled?.dispose();
    model.dispose();
  }
}

/** The printed form: per image its path and size, then `name (id N)  score  [box]` lines. */
export function formatDetections(result: DetectResult): string {
  const lines = [`checkpoint: ${result.checkpoint}`, `labels: ${result.labelSource}`];
  const px = (v: number) => v.toFixed(1);
  for (const p of result.predictions) {
    lines.push(
      `${p.image} (${p.width}x${p.height}): ${p.detections.length} detection(s) with score >= ${result.minScore}`,
    );
    const width = Math.max(0, ...p.detections.map((d) => d.name.length));
    for (const d of p.detections) {
      lines.push(
        `  ${d.name.padEnd(width)}  (id ${d.classId})  ${d.score.toFixed(3)}  [ymin ${px(d.box[0])}, xmin ${px(d.box[1])}, ymax ${px(d.box[2])}, xmax ${px(d.box[3])}]`,
      );
    }
    if (p.annotated) lines.push(`  annotated image: ${p.annotated}`);
  }
  return lines.join('\n');
}
