/**
 * `vision-garden predict` for semantic segmentation experiments: per image a label map (8-bit
 * greyscale PNG of class ids at the image's original size) and a colour-coded overlay PNG.
 *
 * The model runs through the library (`createModel`, `VisionModel.predict`), so preprocessing,
 * the graph and the rescaling of the logits to the original image are the task's inference
 * declaration (`SemanticSegmentationTask.inference`). The overlay mixes
 * the image half and half with the class colour (PASCAL VOC's colour map); class 0 (background)
 * keeps the image.
 */
import { basename, extname, join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { createModel, createModelConfig, loadModel } from '../api/create.js';
import type { VisionModel } from '../api/vision_model.js';
import { toImage } from '../api/images.js';
import { writeFileAtomic } from '../core/atomic_write.js';
import { resolveEngineFallback } from '../core/backend/index.js';
import type { SegmentationPrediction } from '../core/inference.js';
import { experiments } from '../core/registry.js';
import { encodeGrayPng, encodePng } from '../data/decoders/image.js';
import { readLabelMap } from '../data/label_map.js';
import type { ExperimentSpec } from '../train/run_experiment.js';

const TASK = 'semantic_segmentation';

/** PASCAL VOC's colour map: class c's bits spread over the high bits of R, G and B. */
export function vocColor(c: number): [number, number, number] {
  let [r, g, b] = [0, 0, 0];
  for (let j = 7, v = c; j >= 0; j--, v >>= 3) {
    r |= (v & 1) << j;
    g |= ((v >> 1) & 1) << j;
    b |= ((v >> 2) & 1) << j;
  }
  return [r, g, b];
}

/** The image with non-background pixels mixed 50/50 with their class colour. */
export function overlay(rgb: Uint8Array, classes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(rgb);
  for (let p = 0; p < classes.length; p++) {
    if (classes[p] === 0) continue;
    const col = vocColor(classes[p]);
    for (let k = 0; k < 3; k++) out[3 * p + k] = Math.round((rgb[3 * p + k] + col[k]) / 2);
  }
  return out;
}

export interface SegmentationPredictOptions extends Partial<ExperimentSpec> {
  /** With `experiment`: the checkpoint to load. */
  checkpoint?: string;
  /** Instead of an experiment: a vg model (directory or URL) of a segmentation task. */
  model?: string;
  images: string[];
  /** Where `<name>.labels.png` and `<name>.overlay.png` go. */
  outputDir: string;
  labelMap?: string;
  useEma?: boolean;
  compiled?: boolean;
}

export interface SegmentationImagePrediction {
  image: string;
  height: number;
  width: number;
  label_map_png: string;
  overlay_png: string;
  /** Pixels per predicted class, by class name (or `class <id>`), classes with pixels only. */
  pixel_counts: Record<string, number>;
}

export interface SegmentationPredictResult {
  checkpoint: string;
  usedEma: boolean;
  predictions: SegmentationImagePrediction[];
}

/** The experiment's model with its checkpoint, or a vg model; a segmentation model either way. */
async function openSegmentationModel(opts: SegmentationPredictOptions): Promise<VisionModel> {
  if (opts.model) {
    if (opts.experiment || opts.checkpoint) {
      throw new Error('predict: give --model, or --experiment with --checkpoint, not both');
    }
    const vm = await loadModel(opts.model, { compiled: opts.compiled });
    if (vm.info.taskType !== TASK) {
      await vm.dispose();
      throw new Error(`predict: model '${opts.model}' is not a segmentation model`);
    }
    return vm;
  }
  if (!opts.experiment)
    throw new Error('predict: give --experiment (with --checkpoint) or --model');
  if (!opts.checkpoint) throw new Error('predict: --checkpoint is required with --experiment');
  if (experiments.get(opts.experiment).taskType !== TASK) {
    throw new Error(`predict: experiment '${opts.experiment}' is not a segmentation experiment`);
  }
  const spec = {
    experiment: opts.experiment,
    configFiles: opts.configFiles,
    paramsOverrides: opts.paramsOverrides,
  };
  const config = createModelConfig(spec);
  return createModel(spec, {
    checkpoint: opts.checkpoint,
    useEma: opts.useEma ?? true,
    compiled: opts.compiled,
    fallback: resolveEngineFallback(config.runtime.engine_fallback),
  });
}

/**
 * Runs a segmentation experiment's model on image files through the library (`createModel`,
 * `VisionModel.predict`: the task's inference declaration), writing the PNGs; the tensor backend
 * must be ready.
 */
export async function predictSegmentation(
  opts: SegmentationPredictOptions,
): Promise<SegmentationPredictResult> {
  if (opts.images.length === 0) throw new Error('predict: give at least one IMAGE file');
  const vm = await openSegmentationModel(opts);
  try {
    if (opts.labelMap) {
      const names: string[] = [];
      for (const [id, item] of await readLabelMap(opts.labelMap)) names[id] = item.name;
      vm.setLabels(names);
    }
    await mkdir(opts.outputDir, { recursive: true });
    const predictions: SegmentationImagePrediction[] = [];
    for (const file of opts.images) {
      const fail = (err: unknown): never => {
        throw new Error(`predict: ${(err as Error).message}`, { cause: err });
      };
      const image = await toImage(file, 3).catch(fail);
      const p = (await vm.predict(image).catch(fail)) as SegmentationPrediction;
      const { height: H, width: W } = p;
      const ids = Uint8Array.from(p.labelMap);
      const stem = basename(file, extname(file));
      const labelPath = join(opts.outputDir, `${stem}.labels.png`);
      const overlayPath = join(opts.outputDir, `${stem}.overlay.png`);
      const labelPng = await encodeGrayPng(ids, H, W);
      const overlayPng = await encodePng({
        data: overlay(image.data, ids),
        height: H,
        width: W,
        channels: 3,
      });
      await writeFileAtomic(labelPath, (fh) => fh.writeFile(labelPng).then(() => undefined));
      await writeFileAtomic(overlayPath, (fh) => fh.writeFile(overlayPng).then(() => undefined));
      predictions.push({
        image: file,
        height: H,
        width: W,
        label_map_png: labelPath,
        overlay_png: overlayPath,
        pixel_counts: p.pixelCounts,
      });
    }
    return { checkpoint: vm.info.weightsSource, usedEma: vm.info.usedEma, predictions };
  } finally {
    await vm.dispose();
  }
}

/** The printed form: per image the two PNGs and the pixel counts. */
export function formatSegmentationPredictions(result: SegmentationPredictResult): string {
  const lines = [`checkpoint: ${result.checkpoint}${result.usedEma ? ' (EMA weights)' : ''}`];
  for (const p of result.predictions) {
    lines.push(`${p.image} (${p.height}x${p.width})`);
    lines.push(`  label map: ${p.label_map_png}`);
    lines.push(`  overlay:   ${p.overlay_png}`);
    for (const [name, n] of Object.entries(p.pixel_counts)) {
      lines.push(`  ${name}: ${n} px (${((100 * n) / (p.height * p.width)).toFixed(1)}%)`);
    }
  }
  return lines.join('\n');
}
