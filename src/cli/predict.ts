/**
 * `vision-garden predict`: predicts on image files with a trained experiment, or a vg model.
 *
 *   vision-garden predict --experiment resnet_imagenet [--config_file f.yaml]
 *     [--params_override a=b] --checkpoint model_dir|ckpt-N.vgckpt IMAGE...
 *   vision-garden predict --model exported_dir IMAGE...
 *
 * A thin wrapper over the library (src/api): `createModel` / `loadModel`, then `predictBatch`
 * per image, which preprocesses as the task's evaluation does (src/core/inference.ts) and decodes
 * with the task's own hook. Classification prints the top-k classes, detection the boxes.
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, loadModel } from '../api/create.js';
import type { VisionModel } from '../api/vision_model.js';
import {
  initBackend,
  isBackendName,
  resolveEngineFallback,
  tfjsBackendFor,
  usesCompiledSteps,
} from '../core/backend/index.js';
import type { Prediction, Preprocessing, RankedClass } from '../core/inference.js';
import { preprocessImage } from '../data/ops/inference_preprocess.js';
import type { DecodedImage } from '../data/decoders/image.js';
import { readLabelMap, type LabelMap, labelMapFromNames } from '../data/label_map.js';
import type { ImageClassificationTaskConfig } from '../tasks/image_classification/config.js';
import { classificationLabels } from '../tasks/image_classification/task.js';
import type { ExperimentSpec } from '../train/run_experiment.js';

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
  /** Classes to report per image (default 5, capped at num_classes). */
  topK?: number;
  /** Detection: the lowest score reported (default 0). */
  scoreThreshold?: number;
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

export interface ImagePrediction {
  image: string;
  /** Classification: the top classes. */
  top?: RankedClassRow[];
  /** Other tasks: the task's prediction (detection: boxes in the image's pixels). */
  prediction?: Prediction;
}

export interface PredictResult {
  checkpoint: string;
  usedEma: boolean;
  labelSource: string;
  predictions: ImagePrediction[];
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
  const { createModelConfig } = await import('../api/create.js');
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
  const topK = opts.topK ?? 5;
  if (!(Number.isInteger(topK) && topK > 0)) {
    throw new Error(`--top_k must be a positive integer, got ${opts.topK}`);
  }
  const vm = await openModel(opts);
  try {
    let labelSource = vm.inference.labelSource;
    if (opts.labelMap) {
      vm.setLabels(namesOf(await readLabelMap(opts.labelMap)));
      labelSource = opts.labelMap;
    }
    const predictions: ImagePrediction[] = [];
    for (const file of opts.images) {
      const [prediction] = await vm
        .predictBatch([file], { topK, scoreThreshold: opts.scoreThreshold })
        .catch((err: unknown) => {
          throw new Error(`predict: ${(err as Error).message}`, { cause: err });
        });
      if (prediction.kind === 'classification') {
        const classes = prediction.classes as RankedClass[];
        predictions.push({
          image: file,
          top: classes.map((c) => ({ id: c.id, name: c.label, probability: c.score })),
        });
      } else {
        predictions.push({ image: file, prediction });
      }
    }
    return {
      checkpoint: vm.info.weightsSource,
      usedEma: vm.info.usedEma,
      labelSource,
      predictions,
    };
  } finally {
    await vm.dispose();
  }
}

/** The printed form: per image its path, then ranked classes or detections. */
export function formatPredictions(result: PredictResult): string {
  const lines = [
    `checkpoint: ${result.checkpoint}${result.usedEma ? ' (EMA weights)' : ''}`,
    `labels: ${result.labelSource}`,
  ];
  for (const p of result.predictions) {
    lines.push(p.image);
    if (p.top) {
      const width = Math.max(...p.top.map((t) => t.name.length));
      p.top.forEach((t, i) => {
        lines.push(
          `  ${i + 1}. ${t.name.padEnd(width)}  (id ${t.id})  ${(100 * t.probability).toFixed(2)}%`,
        );
      });
    } else if (p.prediction?.kind === 'detection') {
      const dets = p.prediction.detections as {
        box: number[];
        classId: number;
        label: string;
        score: number;
      }[];
      if (dets.length === 0) lines.push('  no detections');
      for (const d of dets) {
        const box = d.box.map((v) => v.toFixed(1)).join(', ');
        lines.push(`  ${d.label} (id ${d.classId})  ${(100 * d.score).toFixed(2)}%  [${box}]`);
      }
    } else {
      lines.push(`  ${JSON.stringify(p.prediction)}`);
    }
  }
  return lines.join('\n');
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds the `predict` command to the program. */
export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('predict on image files with a trained experiment or an exported vg model')
    .argument('<images...>', 'image files (JPEG, PNG, GIF, WebP, BMP)')
    .option('--experiment <name>', 'registered experiment name (with --checkpoint)')
    .option('--config_file <file>', 'YAML config file; repeatable', collect, [])
    .option('--params_override <overrides>', "overrides 'a.b=1,...'; repeatable", collect, [])
    .option(
      '--checkpoint <path>',
      'a .vgckpt file, a model_dir (its latest checkpoint) or a TF checkpoint',
    )
    .option('--model <dir>', 'a vg model (vision-garden export --format vg) instead')
    .option('--top_k <k>', 'classes to print per image', (v) => Number.parseInt(v, 10), 5)
    .option('--score_threshold <s>', 'detection: lowest score printed', Number.parseFloat, 0)
    .option('--label_map <file>', 'class names (pbtxt, csv or json) instead of the automatic ones')
    .option('--no_ema', 'use the raw weights even when the checkpoint has EMA averages')
    .option('--json', 'print the result as one JSON object instead of the table')
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
          top_k: number;
          score_threshold: number;
          label_map?: string;
          no_ema?: boolean;
          json?: boolean;
          backend: string;
        },
      ) => {
        if (!isBackendName(flags.backend)) {
          throw new Error(`--backend: unknown backend '${flags.backend}'`);
        }
        await initBackend(tfjsBackendFor(flags.backend));
        const result = await predictImages({
          experiment: flags.experiment,
          configFiles: flags.config_file,
          paramsOverrides: flags.params_override,
          checkpoint: flags.checkpoint,
          model: flags.model,
          images,
          topK: flags.top_k,
          scoreThreshold: flags.score_threshold,
          labelMap: flags.label_map,
          useEma: !flags.no_ema,
          compiled: usesCompiledSteps(flags.backend),
        });
        console.log(flags.json ? JSON.stringify(result) : formatPredictions(result));
      },
    );
}
