/**
 * Seeded test inputs shared by several test files: noise images, randomised model weights, and a
 * small COCO data set of coloured rectangles (images + instances JSON) for the detection tasks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import type { VisionModel } from '../src/index.js';
import { Rng } from '../src/core/random.js';
import { encodePng } from '../src/data/decoders/image.js';

/** An h x w RGB image of seeded uniform noise, encoded as PNG (or JPEG). */
export async function noiseImage(
  h: number,
  w: number,
  seed: number,
  jpeg = false,
): Promise<Buffer> {
  const rng = new Rng(seed);
  const raw = Uint8Array.from({ length: h * w * 3 }, () => Math.floor(256 * rng.uniform()));
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  return jpeg ? img.jpeg().toBuffer() : img.png().toBuffer();
}

/** {@link noiseImage} as a PNG file. */
export async function noisePng(file: string, height: number, width: number, seed: number) {
  writeFileSync(file, await noiseImage(height, width, seed));
}

/**
 * Every weight of `vm` set to seeded values: kernels uniform in ±√(3 / fan-in), gammas and moving
 * variances in [0.5, 1.5), the rest in ±0.3 (so outputs differ from an untrained model's).
 */
export function randomizeWeights(vm: VisionModel, seed: number): void {
  const rng = new Rng(seed);
  for (const w of vm.model.weights()) {
    const fanIn = w.variable.shape.slice(0, -1).reduce((a, b) => a * b, 1) || 1;
    const positive = /moving_variance|gamma/.test(w.path);
    const scale = w.path.endsWith('kernel') ? Math.sqrt(3 / fanIn) : 0.3;
    const values = Float32Array.from({ length: w.variable.size }, () =>
      positive ? 0.5 + rng.uniform() : scale * (2 * rng.uniform() - 1),
    );
    const t = tf.tensor(values, w.variable.shape);
    w.variable.assign(t);
    t.dispose();
  }
}

const COLORS: Record<number, [number, number, number]> = { 1: [220, 40, 40], 2: [40, 60, 220] };

/**
 * `n` grey `size` x `size` PNGs in `dir`, each with 1–2 filled rectangles of class 1 (red) or 2
 * (blue), sides size/4 .. size/2 − 1, the k-th in the k-th half of the width; their COCO
 * `instances.json` (with polygon segmentations when `polygons`) beside them. Returns its path.
 */
export async function writeCocoRectangles(
  dir: string,
  n: number,
  { size, polygons = false }: { size: number; polygons?: boolean },
): Promise<string> {
  const rng = new Rng(7);
  const half = size / 2;
  const quarter = size / 4;
  const images = [];
  const annotations = [];
  for (let id = 1; id <= n; id++) {
    const data = new Uint8Array(size * size * 3).fill(128);
    const count = 1 + Math.floor(rng.uniform() * 2);
    for (let k = 0; k < count; k++) {
      const cls = 1 + Math.floor(rng.uniform() * 2);
      const w = quarter + Math.floor(rng.uniform() * quarter);
      const h = quarter + Math.floor(rng.uniform() * quarter);
      const x = k * half + Math.floor(rng.uniform() * (half - Math.min(w, half - 1)));
      const y = Math.floor(rng.uniform() * (size - h));
      const bw = Math.min(size, x + w) - x;
      for (let yy = y; yy < y + h; yy++) {
        for (let xx = x; xx < x + bw; xx++) data.set(COLORS[cls], (yy * size + xx) * 3);
      }
      annotations.push({
        id: annotations.length + 1,
        image_id: id,
        category_id: cls,
        bbox: [x, y, bw, h],
        area: bw * h,
        iscrowd: 0,
        ...(polygons ? { segmentation: [[x, y, x + bw, y, x + bw, y + h, x, y + h]] } : {}),
      });
    }
    const file = `${id}.png`;
    writeFileSync(
      join(dir, file),
      await encodePng({ data, height: size, width: size, channels: 3 }),
    );
    images.push({ id, file_name: file, height: size, width: size });
  }
  const path = join(dir, 'instances.json');
  const categories = [
    { id: 1, name: 'red' },
    { id: 2, name: 'blue' },
  ];
  writeFileSync(path, JSON.stringify({ images, annotations, categories }));
  return path;
}
