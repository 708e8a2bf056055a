/**
 * The segmentation parser against hand-computed label maps (a 4 x 6 record whose label at (y, x)
 * is 6y + x and whose red channel is 10 x that), and against the golden segmentation TFRecord's
 * exact label histograms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Rng } from '../../../src/core/random.js';
import { bytesFeature, encodeExample, int64Feature } from '../../../src/core/proto/index.js';
import { encodeGrayPng, encodePng } from '../../../src/data/decoders/image.js';
import { MEAN_RGB, STDDEV_RGB } from '../../../src/data/in_memory.js';
import { createSegmentationParser } from '../../../src/data/parsers/segmentation_parser.js';
import { readTFRecords } from '../../../src/data/tfrecord/index.js';
import { assertClose, sharedData } from '../../helpers.js';
import { ScriptedRng } from '../ops/scripted_rng.js';

const H = 4;
const W = 6;
const labelAt = (y: number, x: number) => 6 * y + x;

async function record(): Promise<Uint8Array> {
  const label = new Uint8Array(H * W);
  const rgb = new Uint8Array(H * W * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      label[y * W + x] = labelAt(y, x);
      rgb.set([10 * labelAt(y, x), 7, 200], (y * W + x) * 3);
    }
  }
  return encodeExample({
    'image/encoded': bytesFeature(await encodePng({ data: rgb, height: H, width: W, channels: 3 })),
    'image/height': int64Feature(H),
    'image/width': int64Feature(W),
    'image/segmentation/class/encoded': bytesFeature(await encodeGrayPng(label, H, W)),
  });
}

const rec = await record();
const evalCtx = { rng: new Rng(0), index: 0, where: 'r0', training: false };

/** The [h, w] label map that picks rows `ys` and columns `xs` of the source (255 for -1). */
function pick(ys: number[], xs: number[]): number[] {
  return ys.flatMap((y) => xs.map((x) => (y < 0 || x < 0 ? 255 : labelAt(y, x))));
}

const normRed = (v: number) => (v - MEAN_RGB[0]) / STDDEV_RGB[0];

test('eval: resized with the image (scale 2 into 10x12), bottom rows padded with the ignore label', async () => {
  const parse = createSegmentationParser({ output_size: [10, 12] });
  const out = await parse(rec, evalCtx);
  assert.deepEqual(out.image.shape, [10, 12, 3]);
  assert.deepEqual(out.masks.shape, [10, 12, 1]);
  // scale = min(10 / 4, 12 / 6) = 2 -> 8 x 12; nearest x2 repeats each pixel.
  assertClose(out.image_info.data, [4, 6, 10, 12, 2, 2, 0, 0]);
  const rows = [0, 0, 1, 1, 2, 2, 3, 3, -1, -1];
  const cols = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5];
  assert.deepEqual(Array.from(out.masks.data), pick(rows, cols));
  assert.deepEqual(
    Array.from(out.valid_masks.data),
    pick(rows, cols).map((v) => (v === 255 ? 0 : 1)),
  );
  // Normalised before padding: the padded rows are 0.
  assert.equal(out.image.data[(9 * 12 + 5) * 3], 0);
});

test('eval without resize_eval_groundtruth: the original label padded to groundtruth_padded_size', async () => {
  const parse = createSegmentationParser({
    output_size: [10, 12],
    resize_eval_groundtruth: false,
    groundtruth_padded_size: [6, 8],
    ignore_label: 99,
  });
  const out = await parse(rec, evalCtx);
  assert.deepEqual(out.image.shape, [10, 12, 3]);
  assert.deepEqual(out.masks.shape, [6, 8, 1]);
  const expected = pick([0, 1, 2, 3, -1, -1], [0, 1, 2, 3, 4, 5, -1, -1]).map((v) =>
    v === 255 ? 99 : v,
  );
  assert.deepEqual(Array.from(out.masks.data), expected);
});

test('train: resize to output_size, random crop, flip, then resize_and_crop to crop_size', async () => {
  const parse = createSegmentationParser({
    output_size: [4, 6],
    crop_size: [2, 3],
    aug_rand_hflip: true,
  });
  // crop y = floor(0.5 * 3) = 1, x = floor(0.6 * 4) = 2; coin 0.1 < 0.5 flips.
  const rng = new ScriptedRng([0.5, 0.6, 0.1]);
  const out = await parse(rec, { rng, index: 0, where: 'r0', training: true });
  assert.equal(rng.left, 0);
  assert.deepEqual(out.image.shape, [2, 3, 3]);
  assertClose(out.image_info.data, [2, 3, 2, 3, 1, 1, 0, 0]);
  const expected = pick([1, 2], [4, 3, 2]);
  assert.deepEqual(Array.from(out.masks.data), expected);
  assertClose(
    Array.from({ length: 6 }, (_, i) => out.image.data[i * 3]),
    expected.map((v) => normRed(10 * v)),
    { atol: 1e-4 },
  );
});

test('train: scale jitter 1.25 -> 5x8 scaled, crop offset x 1 (hand-derived nearest taps)', async () => {
  const parse = createSegmentationParser({
    output_size: [4, 6],
    aug_scale_min: 0.5,
    aug_scale_max: 2.0,
  });
  // scale 0.5 + 1.5 * 0.5 = 1.25: target 5 x round(7.5) = 8, scale min(5/4, 8/6) = 1.25 -> 5 x 8;
  // offsets y trunc((5 - 4) * 0.5) = 0, x trunc((8 - 6) * 0.5) = 1.
  const rng = new ScriptedRng([0.5, 0.5, 0.5]);
  const out = await parse(rec, { rng, index: 0, where: 'r0', training: true });
  assert.equal(rng.left, 0);
  assertClose(out.image_info.data, [4, 6, 4, 6, 1.25, 8 / 6, 0, 1], { atol: 1e-6 });
  // Nearest 4 -> 5 rows: floor((y + 0.5) * 0.8) = 0 1 2 2 3; 6 -> 8 columns:
  // floor((x + 0.5) * 0.75) = 0 1 1 2 3 4 4 5. Kept: rows 0..3, columns 1..6.
  assert.deepEqual(Array.from(out.masks.data), pick([0, 1, 2, 2], [1, 1, 2, 3, 4, 4]));
});

test('preserve_aspect_ratio false: image and label stretched to output_size first', async () => {
  const parse = createSegmentationParser({ output_size: [8, 8], preserve_aspect_ratio: false });
  const out = await parse(rec, evalCtx);
  // The stretched 8x8 is what resize_and_crop_image sees (image_info row 0 is 8x8, scale 1).
  assertClose(out.image_info.data, [8, 8, 8, 8, 1, 1, 0, 0]);
  // Nearest rows y // 2, columns floor((x + 0.5) * 0.75) = 0 1 1 2 3 4 4 5.
  assert.deepEqual(
    Array.from(out.masks.data),
    pick([0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 1, 2, 3, 4, 4, 5]),
  );
});

test('golden TFRecord: original-size labels padded keep the exact histogram', async () => {
  const dir = sharedData('tfrecord-golden');
  const exp = JSON.parse(readFileSync(join(dir, 'segmentation.expected.json'), 'utf8')) as {
    records: { height: number; width: number; label_histogram: Record<string, number> }[];
  };
  const parse = createSegmentationParser({
    output_size: [64, 64],
    resize_eval_groundtruth: false,
    groundtruth_padded_size: [128, 160],
  });
  let i = 0;
  for await (const r of readTFRecords(join(dir, 'segmentation.tfrecord'))) {
    const e = exp.records[i];
    const out = await parse(r.data, { ...evalCtx, where: `golden ${i}` });
    const hist: Record<string, number> = {};
    for (const v of out.masks.data) hist[v] = (hist[v] ?? 0) + 1;
    const want = { ...e.label_histogram };
    want['255'] = (want['255'] ?? 0) + 128 * 160 - e.height * e.width;
    assert.deepEqual(hist, want, `record ${i}`);
    let valid = 0;
    for (const v of out.valid_masks.data) valid += v;
    assert.equal(valid, 128 * 160 - want['255']);
    assert.equal(out.image_info.data[0], e.height);
    i++;
  }
  assert.equal(i, 4);
});

test('bad options and records: errors name the field or the record', async () => {
  assert.throws(
    () => createSegmentationParser({ output_size: [8, 8], resize_eval_groundtruth: false }),
    /groundtruth_padded_size .*required/,
  );
  assert.throws(() => createSegmentationParser({ output_size: [8] }), /output_size/);
  assert.throws(
    () => createSegmentationParser({ output_size: [8, 8], gt_is_matting_map: true }),
    /unknown option 'gt_is_matting_map'/,
  );
  const parse = createSegmentationParser({ output_size: [4, 6], crop_size: [5, 3] });
  await assert.rejects(
    parse(rec, { rng: new Rng(1), index: 0, where: 'bad.tfrecord', training: true }),
    /bad\.tfrecord.*crop_size \[5, 3\] is larger than the 4x6 image/,
  );
});
