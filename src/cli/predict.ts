/**
 * `vision-garden predict`: predicts on image files with a trained experiment, or a vg model.
 *
 *   vision-garden predict --experiment resnet_imagenet [--config_file f.yaml]
 *     [--params_override a=b] --checkpoint model_dir|ckpt-N.vgckpt|tf_ckpt IMAGE...
 *   vision-garden predict --model exported_dir IMAGE...
 *
 * A thin wrapper over the library (src/api): `createModel` / `loadModel`, then `predictBatch`
 * per image, which preprocesses as the task's evaluation does (src/core/inference.ts) and decodes
 * with the task's own hook. Classification prints the top-k classes (`--top_k`); detection the
 * boxes in the original image's pixels with their class names and scores (`--min_score`), and
 * `--output` draws them on the image (./draw_detections.ts); instance segmentation models
 * (Mask R-CNN) add each detection's mask as COCO RLE (`--json`) and draw it translucent.
 * Flags of the other kind are refused.
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, createModelConfig, loadModel } from '../api/create.js';
import { toImage } from '../api/images.js';
import type { VisionModel } from '../api/vision_model.js';
import {
  initBackend,
  isBackendName,
  resolveEngineFallback,
  tfjsBackendFor,
  usesCompiledSteps,
} from '../core/backend/index.js';
import type {
  Detection,
  Prediction,
  Preprocessing,
  RankedClass,
  RleMask,
} from '../core/inference.js';
import { experiments, tasks } from '../core/registry.js';
import type { AnyTask } from '../core/task.js';
import { preprocessImage } from '../data/ops/inference_preprocess.js';
import type { DecodedImage } from '../data/decoders/image.js';
import { readLabelMap, type LabelMap, labelMapFromNames } from '../data/label_map.js';
import type { ImageClassificationTaskConfig } from '../tasks/image_classification/config.js';
import { classificationLabels } from '../tasks/image_classification/task.js';
import { formatSegmentationPredictions, predictSegmentation } from './predict_segmentation.js';
import type { ExperimentSpec } from '../train/run_experiment.js';
import { drawDetections } from './draw_detections.js';
import { segmentationToRle } from '../ops/masks/coco_segmentation.js';
import { decodeMask, rleArea } from '../ops/masks/rle.js';
import { readVgModelJson } from '../export/vg_format.js';

export { topKIndices } from '../tasks/image_classification/task.js';

// ---------------------------------------------------------------------------------------------
// Preprocessing (kept for callers of the classification form; the library's preprocessImage)

export interface EvalPreprocessOptions {
  /** [height, width] the model takes. */
  outputSize: [number, number];
  /** Fraction of the short side kept by the center crop; null: no crop (resize the whole image). */
  centerCropFraction: number | null;
  /** 'bilinear' (Model Garden's default tf_resize_method) or 'nearest'. */
  resizeMethod?: string;
  /** Per-channel mean and standard deviation in 0..255 units (one value per image channel). */
  mean: readonly number[];
  stddev: readonly number[];
}

/**
 * Model Garden's classification evaluation preprocessing of one decoded image (center crop,
 * TF2 resize, normalisation) as a float32 [height, width, channels] tensor.
 */
export function preprocessForEval(image: DecodedImage, opts: EvalPreprocessOptions): tf.Tensor3D {
  const method = opts.resizeMethod ?? 'bilinear';
  if (method !== 'bilinear' && method !== 'nearest') {
    throw new Error(
      `task.validation_data.tf_resize_method '${method}' is not supported by predict (bilinear, nearest)`,
    );
  }
  if (opts.mean.length !== image.channels || opts.stddev.length !== image.channels) {
    throw new Error(
      `preprocessForEval: ${image.channels}-channel image but ${opts.mean.length} means and ${opts.stddev.length} stddevs`,
    );
  }
  const p: Preprocessing = {
    input_size: [opts.outputSize[0], opts.outputSize[1], image.channels],
    method: 'center_crop',
    center_crop_fraction: opts.centerCropFraction,
    padded_size: null,
    interpolation: method,
    mean: [...opts.mean],
    stddev: [...opts.stddev],
  };
  const x = preprocessImage(image, p);
  return tf.tensor3d(x.data, x.shape, 'float32');
}

// ---------------------------------------------------------------------------------------------
// Class names

/** Where the class names came from, for the printed header. */
export interface ClassNames {
  map: LabelMap;
  source: string;
}

/**
 * The label map for a classifier: `labelMapPath` when given; else the task's own labels
 * (`classificationLabels`: built-in dataset names, ImageNet's, or bare class ids).
 */
export async function classNamesFor(
  task: ImageClassificationTaskConfig,
  labelMapPath?: string,
): Promise<ClassNames> {
  if (labelMapPath) return { map: await readLabelMap(labelMapPath), source: labelMapPath };
  const { labels, source } = classificationLabels(task);
  const n = task.model.num_classes;
  return {
    map: labelMapFromNames(labels ?? Array.from({ length: n }, (_, i) => `class ${i}`)),
    source: labels ? source : 'class ids (no label map; pass --label_map)',
  };
}

/** Names by id from a label map (ids without a name stay unnamed). */
function namesOf(map: LabelMap): string[] {
  const names: string[] = [];
  for (const [id, item] of map) names[id] = item.name;
  return names;
}

// ---------------------------------------------------------------------------------------------
// Prediction

export interface PredictOptions extends Partial<ExperimentSpec> {
  /** A `.vgckpt` file or a model_dir (its latest checkpoint), or a TF checkpoint. */
  checkpoint?: string;
  /** A vg model directory or URL instead of experiment + checkpoint. */
  model?: string;
  images: string[];
  /** Classification only: classes to report per image (default 5, capped at num_classes). */
  topK?: number;
  /** Detection only: detections scoring below this are left out (default 0.3). */
  minScore?: number;
  /** Detection only: where to write the image with its detections drawn (PNG; one image). */
  output?: string;
  /** Label map file (pbtxt, csv or json) overriding the model's labels. */
  labelMap?: string;
  /** Use the checkpoint's EMA averages when it has them (default true). */
  useEma?: boolean;
  /** Run the inference graph compiled on ONNX Runtime (the onnx backend); default eager. */
  compiled?: boolean;
}

export interface RankedClassRow {
  id: number;
  name: string;
  probability: number;
}

export interface DetectionRow {
  /** [ymin, xmin, ymax, xmax] in the original image's pixels. */
  box: [number, number, number, number];
  classId: number;
  name: string;
  score: number;
  /** Instance segmentation: the mask over the original image, COCO RLE. */
  mask?: RleMask;
}

export interface ImagePrediction {
  image: string;
  /** Classification: the top classes. */
  top?: RankedClassRow[];
  /** Detection: the image's size and its detections scoring at least `minScore`. */
  height?: number;
  width?: number;
  detections?: DetectionRow[];
  /** Detection: the annotated image written for it (`--output`). */
  annotated?: string;
  /** Other tasks: the task's prediction. */
  prediction?: Prediction;
}

export interface PredictResult {
  checkpoint: string;
  usedEma: boolean;
  labelSource: string;
  /** Detection: the lowest score reported. */
  minScore?: number;
  predictions: ImagePrediction[];
}

/** Refuses the flags that do not apply to a model whose predictions are of `kind`. */
function refuseOtherKindFlags(kind: string, opts: PredictOptions): void {
  const given = (flags: [string, unknown][]) => flags.find(([, v]) => v !== undefined)?.[0];
  const detectionOnly = given([
    ['min_score', opts.minScore],
    ['output', opts.output],
  ]);
  if (kind !== 'detection' && detectionOnly) {
    throw new Error(`--${detectionOnly} applies to detection experiments, not ${kind}`);
  }
  if (kind !== 'classification' && opts.topK !== undefined) {
    throw new Error(`--top_k applies to classification experiments, not ${kind}`);
  }
}

/** The prediction kind of an experiment's task (its inference declaration), without a model. */
function experimentKind(spec: ExperimentSpec): string {
  const config = createModelConfig(spec);
  const task = tasks.get(experiments.get(spec.experiment).taskType).create(config.task) as AnyTask;
  if (!task.inference) {
    throw new Error(
      `predict: experiment '${spec.experiment}' has no prediction (task '${task.type}')`,
    );
  }
  return task.inference().kind;
}

export async function openModel(opts: PredictOptions): Promise<VisionModel> {
  if (opts.model) {
    if (opts.experiment || opts.checkpoint) {
      throw new Error('predict: give --model, or --experiment with --checkpoint, not both');
    }
    return loadModel(opts.model, { compiled: opts.compiled });
  }
  if (!opts.experiment)
    throw new Error('predict: give --experiment (with --checkpoint) or --model');
  if (!opts.checkpoint) throw new Error('predict: --checkpoint is required with --experiment');
  const spec = {
    experiment: opts.experiment,
    configFiles: opts.configFiles,
    paramsOverrides: opts.paramsOverrides,
  };
  refuseOtherKindFlags(experimentKind(spec), opts);
  const config = createModelConfig(spec);
  if (!opts.compiled && config.runtime.engine_fallback !== null) {
    throw new Error(
      'predict: runtime.engine_fallback applies to the compiled model (--backend onnx)',
    );
  }
  return createModel(spec, {
    checkpoint: opts.checkpoint,
    useEma: opts.useEma ?? true,
    compiled: opts.compiled,
    fallback: resolveEngineFallback(config.runtime.engine_fallback),
  });
}

/** Runs a model on image files; the tensor backend must be initialised. */
export async function predictImages(opts: PredictOptions): Promise<PredictResult> {
  if (opts.images.length === 0) throw new Error('predict: give at least one IMAGE file');
  if (opts.output !== undefined && opts.images.length !== 1) {
    throw new Error(
      `predict: --output names one annotated image, but ${opts.images.length} images were given`,
    );
  }
  if (opts.topK !== undefined && !(Number.isInteger(opts.topK) && opts.topK > 0)) {
    throw new Error(`--top_k must be a positive integer, got ${opts.topK}`);
  }
  if (opts.minScore !== undefined && !(opts.minScore >= 0 && opts.minScore <= 1)) {
    throw new Error(`--min_score must be in [0, 1], got ${opts.minScore}`);
  }
  const vm = await openModel(opts);
  try {
    const kind = vm.inference.kind;
    refuseOtherKindFlags(kind, opts);
    let labelSource = vm.inference.labelSource;
    if (opts.labelMap) {
      vm.setLabels(namesOf(await readLabelMap(opts.labelMap)));
      labelSource = opts.labelMap;
    }
    const minScore = opts.minScore ?? 0.3;
    const channels = vm.preprocessing.input_size[2];
    const predictions: ImagePrediction[] = [];
    for (const file of opts.images) {
      const fail = (err: unknown): never => {
        throw new Error(`predict: ${(err as Error).message}`, { cause: err });
      };
      const image = await toImage(file, channels).catch(fail);
      const [prediction] = await vm
        .predictBatch([image], { topK: opts.topK ?? 5, scoreThreshold: minScore })
        .catch(fail);
      if (prediction.kind === 'classification') {
        const classes = prediction.classes as RankedClass[];
        predictions.push({
          image: file,
          top: classes.map((c) => ({ id: c.id, name: c.label, probability: c.score })),
        });
      } else if (prediction.kind === 'detection') {
        const detections: DetectionRow[] = (prediction.detections as Detection[]).map((d) => ({
          box: d.box,
          classId: d.classId,
          name: d.label,
          score: d.score,
          ...(d.mask ? { mask: d.mask } : {}),
        }));
        const entry: ImagePrediction = {
          image: file,
          height: image.height,
          width: image.width,
          detections,
        };
        if (opts.output !== undefined) {
          const drawn = detections.map((d, i) => ({
            ...d,
            mask: d.mask
              ? decodeMask(
                  segmentationToRle(d.mask, image.height, image.width, `detection ${i}'s mask`),
                )
              : undefined,
          }));
          await drawDetections(image, drawn, opts.output);
          entry.annotated = opts.output;
        }
        predictions.push(entry);
      } else {
        predictions.push({ image: file, prediction });
      }
    }
    return {
      checkpoint: vm.info.weightsSource,
      usedEma: vm.info.usedEma,
      labelSource,
      ...(kind === 'detection' ? { minScore } : {}),
      predictions,
    };
  } finally {
    await vm.dispose();
  }
}

/**
 * The printed form: per image its path, then `rank. name (id N)  xx.xx%` lines (classification)
 * or its size and `name (id N)  score  [box]` lines (detection; `mask N px` with masks).
 */
export function formatPredictions(result: PredictResult): string {
  const lines = [
    `checkpoint: ${result.checkpoint}${result.usedEma ? ' (EMA weights)' : ''}`,
    `labels: ${result.labelSource}`,
  ];
  const px = (v: number) => v.toFixed(1);
  for (const p of result.predictions) {
    if (p.top) {
      lines.push(p.image);
      const width = Math.max(...p.top.map((t) => t.name.length));
      p.top.forEach((t, i) => {
        lines.push(
          `  ${i + 1}. ${t.name.padEnd(width)}  (id ${t.id})  ${(100 * t.probability).toFixed(2)}%`,
        );
      });
    } else if (p.detections) {
      lines.push(
        `${p.image} (${p.width}x${p.height}): ${p.detections.length} detection(s) with score >= ${result.minScore}`,
      );
      const width = Math.max(0, ...p.detections.map((d) => d.name.length));
      for (const d of p.detections) {
        const m = d.mask;
        const area = m ? `  mask ${rleArea(segmentationToRle(m, ...m.size, 'mask'))} px` : '';
        lines.push(
          `  ${d.name.padEnd(width)}  (id ${d.classId})  ${d.score.toFixed(3)}  [ymin ${px(d.box[0])}, xmin ${px(d.box[1])}, ymax ${px(d.box[2])}, xmax ${px(d.box[3])}]${area}`,
        );
      }
      if (p.annotated) lines.push(`  annotated image: ${p.annotated}`);
    } else {
      lines.push(p.image, `  ${JSON.stringify(p.prediction)}`);
    }
  }
  return lines.join('\n');
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds the `predict` command to the program. */
export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description(
      'classify image files, detect objects in them and draw the boxes, or write segmentation label maps and overlays, with a trained experiment or an exported vg model',
    )
    .argument('<images...>', 'image files (JPEG, PNG, GIF, WebP, BMP)')
    .option('--experiment <name>', 'registered experiment name (with --checkpoint)')
    .option('--config_file <file>', 'YAML config file; repeatable', collect, [])
    .option('--params_override <overrides>', "overrides 'a.b=1,...'; repeatable", collect, [])
    .option(
      '--checkpoint <path>',
      'a .vgckpt file, a model_dir (its latest checkpoint) or a TF checkpoint',
    )
    .option('--model <dir>', 'a vg model (vision-garden export --format vg) instead')
    .option('--top_k <k>', 'classification: classes to print per image (default 5)', (v) =>
      Number.parseInt(v, 10),
    )
    .option(
      '--min_score <s>',
      'detection: leave out detections scoring below this (default 0.3)',
      (v) => Number.parseFloat(v),
    )
    .option('--output <file>', 'detection: write the image with its boxes drawn (PNG)')
    .option('--label_map <file>', 'class names (pbtxt, csv or json) instead of the automatic ones')
    .option('--no_ema', 'use the raw weights even when the checkpoint has EMA averages')
    .option('--json', 'print the result as one JSON object instead of the table')
    .option(
      '--output_dir <dir>',
      'segmentation: where <image>.labels.png and <image>.overlay.png are written (default predictions)',
    )
    .option(
      '--backend <name>',
      'backend: onnx = the model compiled for ONNX Runtime; else a tfjs backend (default onnx)',
      'onnx',
    )
    .action(
      async (
        images: string[],
        flags: {
          experiment?: string;
          config_file: string[];
          params_override: string[];
          checkpoint?: string;
          model?: string;
          top_k?: number;
          min_score?: number;
          output?: string;
          label_map?: string;
          no_ema?: boolean;
          json?: boolean;
          output_dir?: string;
          backend: string;
        },
      ) => {
        if (!isBackendName(flags.backend)) {
          throw new Error(`--backend: unknown backend '${flags.backend}'`);
        }
        await initBackend(tfjsBackendFor(flags.backend));
        const segmentation =
          flags.experiment !== undefined
            ? experiments.get(flags.experiment).taskType === 'semantic_segmentation'
            : flags.model !== undefined &&
              (await readVgModelJson(flags.model)).task_type === 'semantic_segmentation';
        if (segmentation) {
          for (const [f, set] of [
            ['top_k', flags.top_k],
            ['min_score', flags.min_score],
            ['output', flags.output],
          ] as const) {
            if (set !== undefined)
              throw new Error(`--${f} does not apply to segmentation experiments`);
          }
          const seg = await predictSegmentation({
            experiment: flags.experiment,
            model: flags.model,
            configFiles: flags.config_file,
            paramsOverrides: flags.params_override,
            checkpoint: flags.checkpoint,
            images,
            outputDir: flags.output_dir ?? 'predictions',
            labelMap: flags.label_map,
            useEma: !flags.no_ema,
            compiled: usesCompiledSteps(flags.backend),
          });
          console.log(flags.json ? JSON.stringify(seg) : formatSegmentationPredictions(seg));
          return;
        }
        if (flags.output_dir !== undefined) {
          throw new Error('--output_dir applies to segmentation experiments only');
        }
        const result = await predictImages({
          experiment: flags.experiment,
          configFiles: flags.config_file,
          paramsOverrides: flags.params_override,
          checkpoint: flags.checkpoint,
          model: flags.model,
          images,
          topK: flags.top_k,
          minScore: flags.min_score,
          output: flags.output,
          labelMap: flags.label_map,
          useEma: !flags.no_ema,
          compiled: usesCompiledSteps(flags.backend),
        });
        console.log(flags.json ? JSON.stringify(result) : formatPredictions(result));
      },
    );
}
