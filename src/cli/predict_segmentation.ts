/**
 * `vision-garden predict` for semantic segmentation experiments: per image a label map (8-bit
 * greyscale PNG of class ids at the image's original size) and a colour-coded overlay PNG.
 *
 * Preprocessing is Model Garden's segmentation parser in evaluation (decode, normalise,
 * resize_and_crop_image to `validation_data.output_size`, zero padding). The logits are resized
 * to the padded input size, cropped to the scaled image and resized to the original size
 * (bilinear, as MG's `rescale_predictions`), and the class is their argmax. The overlay mixes
 * the image half and half with the class colour (PASCAL VOC's colour map); class 0 (background)
 * keeps the image.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../core/atomic_write.js';
import { resolveEngineFallback } from '../core/backend/index.js';
import { withShapeOnlyBuild } from '../core/layer.js';
import { setGlobalSeed } from '../core/random.js';
import { CompiledModel } from '../engine/compile_model.js';
import { decodeImage, encodeGrayPng, encodePng } from '../data/decoders/image.js';
import { readLabelMap } from '../data/label_map.js';
import { normalizeImage } from '../data/ops/normalize.js';
import { resizeAndCropImage } from '../data/ops/resize_and_crop.js';
import { Rng } from '../core/random.js';
import { SemanticSegmentationTask } from '../tasks/semantic_segmentation/task.js';
import { resolveExperiment, type ExperimentSpec } from '../train/run_experiment.js';
import { loadCheckpoint } from '../api/weights.js';

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

export interface SegmentationPredictOptions extends ExperimentSpec {
  checkpoint: string;
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

/** Runs a segmentation experiment's model on image files; the tensor backend must be ready. */
export async function predictSegmentation(
  opts: SegmentationPredictOptions,
): Promise<SegmentationPredictResult> {
  if (opts.images.length === 0) throw new Error('predict: give at least one IMAGE file');
  const resolved = resolveExperiment(opts);
  setGlobalSeed(resolved.config.task.train_data.seed ?? 0);
  const task = resolved.taskEntry.create(resolved.config.task);
  if (!(task instanceof SemanticSegmentationTask)) {
    throw new Error(`predict: experiment '${opts.experiment}' is not a segmentation experiment`);
  }
  const dc = task.config.validation_data;
  const pre = task.parserOptionsFor(dc, 'validation_data');
  const [oh, ow] = pre.output_size;
  const names = opts.labelMap ? await readLabelMap(opts.labelMap) : null;
  const model = task.buildModel();
  const segment = (x: Record<string, tf.Tensor>) => ({
    logits: model.apply(x.image, { training: false }),
  });
  let compiled: CompiledModel<{ logits: tf.Tensor }> | null = null;
  try {
    withShapeOnlyBuild(() => {
      tf.tidy(() => void model.apply(tf.zeros([1, oh, ow, 3]), { training: false }));
    });
    const { usedEma, source: checkpoint } = await loadCheckpoint(
      model,
      opts.checkpoint,
      opts.useEma ?? true,
    );
    compiled = opts.compiled
      ? new CompiledModel(segment, {
          variables: model
            .weights()
            .map((w) => ({ name: `model/${w.path}`, variable: w.variable })),
          fallback: resolveEngineFallback(resolved.config.runtime.engine_fallback),
          what: 'segmentation model',
        })
      : null;
    await mkdir(opts.outputDir, { recursive: true });
    const predictions: SegmentationImagePrediction[] = [];
    for (const file of opts.images) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw new Error(`predict: cannot read image '${file}': ${(err as Error).message}`, {
          cause: err,
        });
      }
      const decoded = await decodeImage(new Uint8Array(bytes), { channels: 3, record: { file } });
      const normalized = normalizeImage(decoded, { mean: pre.mean, stddev: pre.stddev });
      const { image: input, imageInfo } = resizeAndCropImage(normalized, new Rng(0), {
        desiredSize: [oh, ow],
        paddedSize: [oh, ow],
      });
      const x = tf.tensor4d(input.data as Float32Array, [1, oh, ow, 3]);
      const { logits } = compiled
        ? await compiled.run({ image: x })
        : tf.tidy(() => segment({ image: x }));
      const { height: H, width: W } = decoded;
      const sh = Math.round(H * imageInfo[4]);
      const sw = Math.round(W * imageInfo[5]);
      const classes = tf.tidy(() => {
        const full = tf.image.resizeBilinear(logits as tf.Tensor4D, [oh, ow], false, true);
        const kept = tf.slice(full, [0, 0, 0, 0], [1, Math.min(sh, oh), Math.min(sw, ow), -1]);
        return tf.argMax(tf.image.resizeBilinear(kept, [H, W], false, true), -1);
      });
      const ids = Uint8Array.from(await classes.data());
      tf.dispose([x, logits, classes]);
      const stem = basename(file, extname(file));
      const labelPath = join(opts.outputDir, `${stem}.labels.png`);
      const overlayPath = join(opts.outputDir, `${stem}.overlay.png`);
      const labelPng = await encodeGrayPng(ids, H, W);
      const overlayPng = await encodePng({
        data: overlay(decoded.data, ids),
        height: H,
        width: W,
        channels: 3,
      });
      await writeFileAtomic(labelPath, (fh) => fh.writeFile(labelPng).then(() => undefined));
      await writeFileAtomic(overlayPath, (fh) => fh.writeFile(overlayPng).then(() => undefined));
      const counts = new Map<number, number>();
      for (const c of ids) counts.set(c, (counts.get(c) ?? 0) + 1);
      const pixelCounts: Record<string, number> = {};
      for (const [c, n] of [...counts].sort((a, b) => a[0] - b[0])) {
        pixelCounts[names?.get(c)?.name ?? `class ${c}`] = n;
      }
      predictions.push({
        image: file,
        height: H,
        width: W,
        label_map_png: labelPath,
        overlay_png: overlayPath,
        pixel_counts: pixelCounts,
      });
    }
    return { checkpoint, usedEma, predictions };
  } finally {
    await compiled?.dispose();
    model.dispose();
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
