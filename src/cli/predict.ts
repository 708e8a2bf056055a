/**
 * `vision-garden predict`: classifies image files with a trained image classification experiment
 * (segmentation experiments go to ./predict_segmentation.ts).
 *
 *   vision-garden predict --experiment resnet_imagenet [--config_file f.yaml]
 *     [--params_override a=b] --checkpoint model_dir|ckpt-N.vgckpt IMAGE...
 *
 * Each image is decoded with sharp and preprocessed as Model Garden's classification parser does
 * for evaluation (official/vision/dataloaders/classification_input.py `_parse_eval_image`): a
 * square center crop of `center_crop_fraction` (0.875) of the short side, a bilinear resize to the
 * model's input size, then `(x - MEAN_RGB) / STDDEV_RGB`. The weights come from a `.vgckpt`
 * checkpoint (`model/<keras path>`; the EMA averages `ema/<path>` when the checkpoint has them,
 * as evaluation uses them) and the top-k classes are printed with names from a label map.
 */
import { stat, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import {
  initBackend,
  isBackendName,
  resolveEngineFallback,
  tfjsBackendFor,
  usesCompiledSteps,
} from '../core/backend/index.js';
import { withShapeOnlyBuild } from '../core/layer.js';
import { experiments } from '../core/registry.js';
import { setGlobalSeed } from '../core/random.js';
import { CompiledModel } from '../engine/compile_model.js';
import { decodeImage, type DecodedImage } from '../data/decoders/image.js';
import { MEAN_RGB, STDDEV_RGB } from '../data/in_memory.js';
import { centerCropImage } from '../data/ops/crop.js';
import { normalizeImage } from '../data/ops/normalize.js';
import { resizeImage } from '../data/ops/resize.js';
import { readLabelMap, type LabelMap, labelMapFromNames } from '../data/label_map.js';
import { imagenetLabelMap } from '../data/label_maps/imagenet.js';
import { FASHION_MNIST_CLASS_NAMES, SHAPE_CLASS_NAMES } from '../data/builtin_sources.js';
import type { ClassificationModel } from '../modeling/models/classification_model.js';
import type { ImageClassificationTaskConfig } from '../tasks/image_classification/config.js';
import { ImageClassificationTask } from '../tasks/image_classification/task.js';
import {
  assignToVariables,
  CheckpointManager,
  readCheckpointFile,
  readCheckpointHeader,
  type StoredTensor,
} from '../train/checkpoint.js';
import { resolveExperiment, type ExperimentSpec } from '../train/run_experiment.js';
import { formatDetections, predictDetections } from './predict_detection.js';
import { formatSegmentationPredictions, predictSegmentation } from './predict_segmentation.js';

// ---------------------------------------------------------------------------------------------
// Preprocessing

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
 * Model Garden's evaluation preprocessing of one decoded image with the shared data ops
 * (src/data/ops): center crop, resize (TF2 `tf.image.resize`: half-pixel centers, no
 * antialiasing), normalisation.
 * @returns a float32 [height, width, channels] tensor
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
  const cropped =
    opts.centerCropFraction === null ? image : centerCropImage(image, opts.centerCropFraction);
  const [height, width] = opts.outputSize;
  const resized = resizeImage(cropped, height, width, method);
  const x = normalizeImage(resized, { mean: opts.mean, stddev: opts.stddev });
  return tf.tensor3d(x.data, [height, width, x.channels], 'float32');
}

/** Mean and stddev for a model with `channels` inputs: MEAN_RGB/STDDEV_RGB, or their average for grey. */
export function normalizationFor(channels: number): { mean: number[]; stddev: number[] } {
  if (channels === 3) return { mean: [...MEAN_RGB], stddev: [...STDDEV_RGB] };
  if (channels === 1) {
    // As the task's in-memory pipeline normalises grey images (src/tasks/image_classification/task.ts).
    const avg = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    return { mean: [avg(MEAN_RGB)], stddev: [avg(STDDEV_RGB)] };
  }
  throw new Error(`task.model.input_size: predict reads 1- or 3-channel images, got ${channels}`);
}

// ---------------------------------------------------------------------------------------------
// Class names

/** Names of the built-in sources (src/data/builtin_sources.ts) by tfds_name. */
const BUILTIN_CLASS_NAMES: Record<string, readonly string[]> = {
  vg_shapes: SHAPE_CLASS_NAMES,
  fashion_mnist: FASHION_MNIST_CLASS_NAMES,
  mnist: Array.from({ length: 10 }, (_, i) => String(i)),
};

/** Where the class names came from, for the printed header. */
export interface ClassNames {
  map: LabelMap;
  source: string;
}

/**
 * The label map for a task: `labelMapPath` when given; else the names of the built-in dataset
 * the task reads (validation_data, then train_data tfds_name); else ImageNet's names when the
 * model has 1000 or 1001 classes (Model Garden's layout, 0 = background); else bare class ids.
 */
export async function classNamesFor(
  task: ImageClassificationTaskConfig,
  labelMapPath?: string,
): Promise<ClassNames> {
  const numClasses = task.model.num_classes;
  if (labelMapPath) return { map: await readLabelMap(labelMapPath), source: labelMapPath };
  for (const data of [task.validation_data, task.train_data]) {
    const name = typeof data.tfds_name === 'string' ? data.tfds_name : '';
    const names = BUILTIN_CLASS_NAMES[name];
    if (names) {
      if (names.length > numClasses) {
        throw new Error(
          `task.model.num_classes is ${numClasses} but ${name} has ${names.length} classes`,
        );
      }
      return { map: labelMapFromNames(names), source: `${name} class names` };
    }
  }
  if (numClasses === 1000 || numClasses === 1001) {
    return { map: imagenetLabelMap(numClasses), source: `ImageNet (${numClasses} classes)` };
  }
  return {
    map: labelMapFromNames(Array.from({ length: numClasses }, (_, i) => `class ${i}`)),
    source: 'class ids (no label map; pass --label_map)',
  };
}

// ---------------------------------------------------------------------------------------------
// Checkpoint

/** A `.vgckpt` file, or the latest checkpoint of a model_dir. */
export async function resolveCheckpointPath(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new Error(`--checkpoint: '${path}' does not exist`, { cause: err });
  }
  if (!info.isDirectory()) return path;
  const latest = await new CheckpointManager(path).latestCheckpoint();
  if (!latest) throw new Error(`--checkpoint: no checkpoint (*.vgckpt) in directory '${path}'`);
  return latest;
}

/**
 * Loads a classifier's weights from a checkpoint written by the trainer: every model weight must
 * be there with its shape (`model/<path>`); with `useEma`, `ema/<path>` replaces it where present.
 * @returns whether EMA averages were used
 */
export async function loadClassifierWeights(
  model: Pick<ClassificationModel, 'weights'>,
  checkpointPath: string,
  useEma = true,
): Promise<{ usedEma: boolean }> {
  const header = await readCheckpointHeader(checkpointPath);
  const stored = new Set(header.tensors.map((t) => t.name));
  const weights = model.weights();
  let usedEma = false;
  const sourceOf = new Map<string, string>();
  for (const w of weights) {
    const ema = `ema/${w.path}`;
    if (useEma && stored.has(ema)) {
      sourceOf.set(w.path, ema);
      usedEma = true;
    } else {
      sourceOf.set(w.path, `model/${w.path}`);
    }
  }
  const missing = [...sourceOf.values()].filter((n) => !stored.has(n));
  if (missing.length) {
    throw new Error(
      `cannot restore from ${checkpointPath}: ${missing.length} of the model's ${weights.length} ` +
        `weights are not in it (first: '${missing[0]}'); was it written by this experiment?`,
    );
  }
  const data = await readCheckpointFile(checkpointPath, { names: [...sourceOf.values()] });
  const byPath = new Map<string, StoredTensor>();
  for (const [path, name] of sourceOf) byPath.set(path, data.tensors.get(name)!);
  assignToVariables(
    byPath,
    weights.map((w) => ({ name: w.path, variable: w.variable })),
    { source: checkpointPath },
  );
  return { usedEma };
}

// ---------------------------------------------------------------------------------------------
// Prediction

export interface PredictOptions extends ExperimentSpec {
  /** A `.vgckpt` file or a model_dir (its latest checkpoint). */
  checkpoint: string;
  images: string[];
  /** Classes to report per image (default 5, capped at num_classes). */
  topK?: number;
  /** Label map file (pbtxt, csv or json) overriding the automatic choice. */
  labelMap?: string;
  /** Use the checkpoint's EMA averages when it has them (default true). */
  useEma?: boolean;
  /**
   * Run the classifier compiled (src/engine/compile_model.ts, one ONNX graph per input shape), as
   * the onnx backend does; default false (eager on the active tfjs backend).
   */
  compiled?: boolean;
}

export interface RankedClass {
  id: number;
  name: string;
  probability: number;
}

export interface ImagePrediction {
  image: string;
  top: RankedClass[];
}

export interface PredictResult {
  checkpoint: string;
  usedEma: boolean;
  labelSource: string;
  predictions: ImagePrediction[];
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topKIndices(values: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => values[b] - values[a] || a - b);
  return order.slice(0, k);
}

/** Runs an experiment's classifier on image files; the tensor backend must be initialised. */
export async function predictImages(opts: PredictOptions): Promise<PredictResult> {
  if (opts.images.length === 0) throw new Error('predict: give at least one IMAGE file');
  const resolved = resolveExperiment(opts);
  setGlobalSeed(resolved.config.task.train_data.seed ?? 0);
  if (!opts.compiled && resolved.config.runtime.engine_fallback !== null) {
    throw new Error(
      'predict: runtime.engine_fallback applies to the compiled classifier (--backend onnx)',
    );
  }
  const task = resolved.taskEntry.create(resolved.config.task);
  if (!(task instanceof ImageClassificationTask)) {
    throw new Error(
      `predict: experiment '${opts.experiment}' is not an image classification experiment`,
    );
  }
  const cfg = task.config;
  const [h, w, c] = cfg.model.input_size;
  const requestedK = opts.topK ?? 5;
  if (!(Number.isInteger(requestedK) && requestedK > 0)) {
    throw new Error(`--top_k must be a positive integer, got ${opts.topK}`);
  }
  const topK = Math.min(requestedK, cfg.model.num_classes);
  const names = await classNamesFor(cfg, opts.labelMap);
  const checkpoint = await resolveCheckpointPath(opts.checkpoint);

  const model = task.buildModel();
  let compiled: CompiledModel<{ probabilities: tf.Tensor }> | null = null;
  try {
    // Every weight is overwritten from the checkpoint, so build without drawing initial values.
    withShapeOnlyBuild(() => {
      const batch = task.dummyBatch(1);
      tf.tidy(() => void model.apply(batch.image, { training: false }));
      tf.dispose([batch.image, batch.label]);
    });
    const { usedEma } = await loadClassifierWeights(model, checkpoint, opts.useEma ?? true);
    const norm = normalizationFor(c);
    const pre: EvalPreprocessOptions = {
      outputSize: [h, w],
      centerCropFraction: cfg.validation_data.center_crop_fraction,
      resizeMethod: cfg.validation_data.tf_resize_method,
      ...norm,
    };
    const classify = (x: Record<string, tf.Tensor>) => ({
      probabilities: task.predict(model, x.image as tf.Tensor4D),
    });
    compiled = opts.compiled
      ? new CompiledModel(classify, {
          variables: model
            .weights()
            .map((w) => ({ name: `model/${w.path}`, variable: w.variable })),
          fallback: resolveEngineFallback(resolved.config.runtime.engine_fallback),
          what: 'classifier',
        })
      : null;
    const predictions: ImagePrediction[] = [];
    for (const file of opts.images) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw new Error(`predict: cannot read image '${file}': ${(err as Error).message}`, {
          cause: err,
        });
      }
      let decoded: DecodedImage;
      try {
        decoded = await decodeImage(new Uint8Array(bytes), { channels: c as 1 | 3 });
      } catch (err) {
        throw new Error(`predict: ${file}: ${(err as Error).message}`, { cause: err });
      }
      const image = tf.tidy(() => tf.expandDims(preprocessForEval(decoded, pre), 0));
      const { probabilities } = compiled
        ? await compiled.run({ image })
        : tf.tidy(() => classify({ image }));
      const p = await probabilities.data();
      tf.dispose([probabilities, image]);
      predictions.push({
        image: file,
        top: topKIndices(p, topK).map((id) => ({
          id,
          name: names.map.get(id)?.name ?? `class ${id}`,
          probability: p[id],
        })),
      });
    }
    return { checkpoint, usedEma, labelSource: names.source, predictions };
  } finally {
    await compiled?.dispose();
    model.dispose();
  }
}

/** The printed form: per image its path, then `rank. name (id N)  xx.xx%` lines. */
export function formatPredictions(result: PredictResult): string {
  const lines = [
    `checkpoint: ${result.checkpoint}${result.usedEma ? ' (EMA weights)' : ''}`,
    `labels: ${result.labelSource}`,
  ];
  for (const p of result.predictions) {
    lines.push(p.image);
    const width = Math.max(...p.top.map((t) => t.name.length));
    p.top.forEach((t, i) => {
      lines.push(
        `  ${i + 1}. ${t.name.padEnd(width)}  (id ${t.id})  ${(100 * t.probability).toFixed(2)}%`,
      );
    });
  }
  return lines.join('\n');
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Adds the `predict` command to the program. */
export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description(
      'classify image files (classification), detect objects and draw the boxes (detection), or write label maps and overlays (segmentation)',
    )
    .argument('<images...>', 'image files (JPEG, PNG, GIF, WebP, BMP)')
    .requiredOption('--experiment <name>', 'registered experiment name')
    .option('--config_file <file>', 'YAML config file; repeatable', collect, [])
    .option('--params_override <overrides>', "overrides 'a.b=1,...'; repeatable", collect, [])
    .requiredOption(
      '--checkpoint <path>',
      'a .vgckpt file, or a model_dir (its latest checkpoint); detection also reads TF checkpoints',
    )
    .option('--top_k <k>', 'classes to print per image', (v) => Number.parseInt(v, 10), 5)
    .option(
      '--min_score <s>',
      'detection: leave out detections scoring below this',
      (v) => Number.parseFloat(v),
      0.3,
    )
    .option('--output <file>', 'detection: write the image with its boxes drawn (PNG)')
    .option('--label_map <file>', 'class names (pbtxt, csv or json) instead of the automatic ones')
    .option('--no_ema', 'use the raw weights even when the checkpoint has EMA averages')
    .option('--json', 'print the result as one JSON object instead of the table')
    .option(
      '--output_dir <dir>',
      'segmentation: where <image>.labels.png and <image>.overlay.png are written',
      'predictions',
    )
    .option(
      '--backend <name>',
      'backend: onnx = the classifier compiled for ONNX Runtime; else a tfjs backend (default onnx)',
      'onnx',
    )
    .action(
      async (
        images: string[],
        flags: {
          experiment: string;
          config_file: string[];
          params_override: string[];
          checkpoint: string;
          top_k: number;
          label_map?: string;
          no_ema?: boolean;
          json?: boolean;
          output_dir: string;
          backend: string;
          min_score: number;
          output?: string;
        },
        command: Command,
      ) => {
        if (!isBackendName(flags.backend)) {
          throw new Error(`--backend: unknown backend '${flags.backend}'`);
        }
        await initBackend(tfjsBackendFor(flags.backend));
        const taskType = experiments.get(flags.experiment).taskType;
        if (taskType === 'retinanet') {
          for (const f of ['top_k', 'no_ema', 'output_dir'] as const) {
            if (command.getOptionValueSource(f) === 'cli') {
              throw new Error(
                `--${f} applies to classification or segmentation experiments, not detection`,
              );
            }
          }
          const result = await predictDetections({
            experiment: flags.experiment,
            configFiles: flags.config_file,
            paramsOverrides: flags.params_override,
            checkpoint: flags.checkpoint,
            images,
            labelMap: flags.label_map,
            minScore: flags.min_score,
            output: flags.output,
            compiled: usesCompiledSteps(flags.backend),
          });
          console.log(flags.json ? JSON.stringify(result) : formatDetections(result));
          return;
        }
        for (const f of ['min_score', 'output'] as const) {
          if (command.getOptionValueSource(f) === 'cli') {
            throw new Error(`--${f} applies to detection experiments, not ${taskType}`);
          }
        }
        if (taskType === 'semantic_segmentation') {
          const seg = await predictSegmentation({
            experiment: flags.experiment,
            configFiles: flags.config_file,
            paramsOverrides: flags.params_override,
            checkpoint: flags.checkpoint,
            images,
            outputDir: flags.output_dir,
            labelMap: flags.label_map,
            useEma: !flags.no_ema,
            compiled: usesCompiledSteps(flags.backend),
          });
          console.log(flags.json ? JSON.stringify(seg) : formatSegmentationPredictions(seg));
          return;
        }
        const result = await predictImages({
          experiment: flags.experiment,
          configFiles: flags.config_file,
          paramsOverrides: flags.params_override,
          checkpoint: flags.checkpoint,
          images,
          topK: flags.top_k,
          labelMap: flags.label_map,
          useEma: !flags.no_ema,
          compiled: usesCompiledSteps(flags.backend),
        });
        console.log(flags.json ? JSON.stringify(result) : formatPredictions(result));
      },
    );
}
