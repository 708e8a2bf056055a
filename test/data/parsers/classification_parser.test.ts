/**
 * The classification parser against independent expectations: synthetic PNGs with known pixels,
 * crops and resizes recomputed here (a float64 half-pixel bilinear reference), hand-derived
 * Inception crop windows from scripted random draws, flip geometry, and errors naming the record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { bytesFeature, encodeExample, int64Feature } from '../../../src/core/proto/index.js';
import { Rng } from '../../../src/core/random.js';
import { encodePng } from '../../../src/data/decoders/image.js';
import { MEAN_RGB, STDDEV_RGB } from '../../../src/data/in_memory.js';
import {
  createClassificationParser,
  classificationParserRef,
} from '../../../src/data/parsers/classification_parser.js';
import type { ParserContext } from '../../../src/data/parsers/features.js';
import { exampleStreamName, type MapFn } from '../../../src/data/pipeline/index.js';
import { runBatch, type BatchItem } from '../../../src/data/pipeline/map_runner.js';
import { assertClose, sharedData } from '../../helpers.js';
import { ScriptedRng } from '../ops/scripted_rng.js';

const H = 40;
const W = 60;

/** A 40x60 RGB image whose channels are distinct functions of (y, x). */
function sourcePixels(): Uint8Array {
  const px = new Uint8Array(H * W * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      px[i] = (4 * x + 3 * y) % 256;
      px[i + 1] = (250 - 5 * y + x) & 255;
      px[i + 2] = (x * y) % 251;
    }
  }
  return px;
}

const SRC = sourcePixels();
const PNG = await encodePng({ data: SRC, height: H, width: W, channels: 3 });

function example(encoded: Uint8Array, labels: number[] = [3]): Uint8Array {
  return encodeExample({
    'image/encoded': bytesFeature(encoded),
    'image/class/label': int64Feature(...labels),
  });
}

const RECORD = example(PNG);

function ctx(rng: Rng, training: boolean, where = 'test.tfrecord record 5'): ParserContext {
  return { rng, index: 5, where, training };
}

interface Img {
  data: Float64Array;
  h: number;
  w: number;
}

function crop(y0: number, x0: number, h: number, w: number, flip = false): Img {
  const data = new Float64Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = flip ? x0 + w - 1 - x : x0 + x;
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = SRC[((y0 + y) * W + sx) * 3 + c];
    }
  }
  return { data, h, w };
}

/** Half-pixel bilinear resize (tf.image.resize 'bilinear', TF2) in float64. */
function bilinear(img: Img, oh: number, ow: number): Img {
  const out = new Float64Array(oh * ow * 3);
  const tap = (i: number, n: number, on: number) => {
    const s = (i + 0.5) * (n / on) - 0.5;
    const lo = Math.floor(s);
    return { a: Math.max(lo, 0), b: Math.min(lo + 1, n - 1), t: s - lo };
  };
  for (let y = 0; y < oh; y++) {
    const ty = tap(y, img.h, oh);
    for (let x = 0; x < ow; x++) {
      const tx = tap(x, img.w, ow);
      for (let c = 0; c < 3; c++) {
        const v = (yy: number, xx: number) => img.data[(yy * img.w + xx) * 3 + c];
        const top = v(ty.a, tx.a) + (v(ty.a, tx.b) - v(ty.a, tx.a)) * tx.t;
        const bot = v(ty.b, tx.a) + (v(ty.b, tx.b) - v(ty.b, tx.a)) * tx.t;
        out[(y * ow + x) * 3 + c] = top + (bot - top) * ty.t;
      }
    }
  }
  return { data: out, h: oh, w: ow };
}

function normalized(img: Img): Float64Array {
  return img.data.map((v, i) => (v - MEAN_RGB[i % 3]) / STDDEV_RGB[i % 3]);
}

test('eval: 0.875 center crop, bilinear resize and MEAN_RGB/STDDEV_RGB normalisation', async () => {
  const parse = createClassificationParser({ output_size: [14, 10] });
  const out = await parse(RECORD, ctx(new Rng(1), false));
  assert.deepEqual(out.image.shape, [14, 10, 3]);
  assert.ok(out.image.data instanceof Float32Array);
  // crop side = 0.875 * min(40, 60) = 35; offsets floor((40 - 35) / 2) = 2, floor((60 - 35) / 2) = 12
  const expected = normalized(bilinear(crop(2, 12, 35, 35), 14, 10));
  assertClose(out.image.data, expected, { atol: 1e-4, rtol: 0 });
  assert.deepEqual(out.label, { data: Int32Array.of(3), shape: [] });
});

test('eval: center_crop_fraction and aug_crop=false', async () => {
  const half = createClassificationParser({ output_size: [8, 8], center_crop_fraction: 0.5 });
  const a = await half(RECORD, ctx(new Rng(1), false));
  // side 20, offsets (40 - 20) / 2 = 10 and (60 - 20) / 2 = 20
  assertClose(a.image.data, normalized(bilinear(crop(10, 20, 20, 20), 8, 8)), { atol: 1e-4 });

  const whole = createClassificationParser({ output_size: [20, 30], aug_crop: false });
  const b = await whole(RECORD, ctx(new Rng(1), false));
  assertClose(b.image.data, normalized(bilinear(crop(0, 0, H, W), 20, 30)), { atol: 1e-4 });
});

test('train: a hand-derived Inception crop window, then the flip coin', async () => {
  // Scripted draws for sample_distorted_bounding_box on a 40x60 image, area [0.08, 1]:
  //   aspect = 0.75 + 0 * (4/3 - 3/4) = 0.75; min area 192 -> h0 = sqrt(192 / 0.75) = 16;
  //   max h = min(round(sqrt(2400 / 0.75)) = 57, 40) = 40; h = 16 + floor(0.34 * 25) = 24,
  //   w = round(24 * 0.75) = 18; y = floor(0.5 * 16) = 8; x = floor(0.5 * 42) = 21.
  //   The crop covers 432 / 2400 = 0.18 >= 0.08 of the image, so it is accepted.
  const parse = createClassificationParser({ output_size: [12, 9] });
  const keep = new ScriptedRng([0, 0.34, 0.5, 0.5, 0.9]);
  const a = await parse(RECORD, ctx(keep, true));
  assert.equal(keep.left, 0, 'five draws: aspect, height, y, x, flip coin');
  assertClose(a.image.data, normalized(bilinear(crop(8, 21, 24, 18), 12, 9)), { atol: 1e-4 });

  const flip = new ScriptedRng([0, 0.34, 0.5, 0.5, 0.1]);
  const b = await parse(RECORD, ctx(flip, true));
  assertClose(b.image.data, normalized(bilinear(crop(8, 21, 24, 18, true), 12, 9)), {
    atol: 1e-4,
  });
});

test('train: the sampler falling back to the whole image gives the 0.875 center crop', async () => {
  // crop_area_range [1, 1] on a 40x60 image: only the whole image has that area, but its
  // aspect 1.5 is outside [3/4, 4/3], so every attempt fails and Model Garden center-crops.
  const parse = createClassificationParser({
    output_size: [7, 7],
    crop_area_range: [1, 1],
    aug_rand_hflip: false,
  });
  const out = await parse(RECORD, ctx(new Rng(3), true));
  assertClose(out.image.data, normalized(bilinear(crop(2, 12, 35, 35), 7, 7)), { atol: 1e-4 });
});

test('train: flipping mirrors the image exactly (no crop, output at source size)', async () => {
  const parse = createClassificationParser({ output_size: [H, W], aug_crop: false });
  const plain = await parse(RECORD, ctx(new ScriptedRng([0.75]), true));
  const flipped = await parse(RECORD, ctx(new ScriptedRng([0.25]), true));
  assertClose(plain.image.data, normalized(crop(0, 0, H, W)), { atol: 1e-5 });
  assertClose(flipped.image.data, normalized(crop(0, 0, H, W, true)), { atol: 1e-5 });
});

test('train: deterministic per random stream, different across streams', async () => {
  const parse = createClassificationParser({
    output_size: [16, 16],
    aug_type: { type: 'randaug', randaug: { num_layers: 2, magnitude: 9 } },
    color_jitter: 0.4,
    random_erasing: { probability: 0.5 },
  });
  const a = await parse(RECORD, ctx(Rng.derive(7, 'ex5'), true));
  const b = await parse(RECORD, ctx(Rng.derive(7, 'ex5'), true));
  const c = await parse(RECORD, ctx(Rng.derive(8, 'ex5'), true));
  assert.deepEqual(a.image.data, b.image.data);
  assert.notDeepEqual(a.image.data, c.image.data);
  assert.ok(a.image.data.every(Number.isFinite));
});

test('train: RandAugment runs on the resized image, before normalisation', async () => {
  const base = { output_size: [10, 15] as [number, number], aug_crop: false };
  const parse = createClassificationParser({
    ...base,
    aug_type: { type: 'randaug', randaug: { num_layers: 1 } },
  });
  // Draws: flip coin (no flip), then the layer's op index floor(u * 17): u = 2.5 / 17 -> 2,
  // 'Invert' (no argument, no further draws).
  const out = await parse(RECORD, ctx(new ScriptedRng([0.9, 2.5 / 17]), true));
  const resized = bilinear(crop(0, 0, H, W), 10, 15);
  // Augmenters take a float image as uint8: clip to [0, 255] and truncate, then 255 - v.
  const inverted = resized.data.map((v) => 255 - Math.trunc(Math.min(255, Math.max(0, v))));
  // The reference's float64 resize may land on the other side of an integer: allow one level.
  assertClose(out.image.data, normalized({ data: inverted, h: 10, w: 15 }), {
    atol: 1.01 / (0.224 * 255),
  });
  const unchanged = await parse(RECORD, ctx(new ScriptedRng([0.9, 16.5 / 17]), true));
  const plain = await createClassificationParser(base)(RECORD, ctx(new ScriptedRng([0.9]), true));
  // index 16 is Model Garden's "no op" branch: RandAugment's uint8 round trip truncates only
  assertClose(
    unchanged.image.data,
    normalized({ data: resized.data.map((v) => Math.trunc(v)), h: 10, w: 15 }),
    { atol: 1.01 / (0.224 * 255) },
  );
  assert.notDeepEqual(unchanged.image.data, plain.image.data);
});

test('multi-label: a count of each listed class', async () => {
  const parse = createClassificationParser({
    output_size: [4, 4],
    is_multilabel: true,
    num_classes: 5,
  });
  const out = await parse(example(PNG, [1, 3, 7]), ctx(new Rng(0), false));
  assert.deepEqual(out.label, { data: Float32Array.of(0, 1, 0, 1, 0), shape: [5] });
});

test('grey images: one channel with its own mean and stddev', async () => {
  const grey = new Uint8Array(6 * 4).map((_, i) => i * 10);
  const png = await encodePng({ data: grey, height: 6, width: 4, channels: 1 });
  const parse = createClassificationParser({
    output_size: [6, 4],
    num_channels: 1,
    aug_crop: false,
    mean: [100],
    stddev: [50],
  });
  const out = await parse(example(png), ctx(new Rng(0), false));
  assert.deepEqual(out.image.shape, [6, 4, 1]);
  assertClose(
    out.image.data,
    Array.from(grey, (v) => (v - 100) / 50),
    { atol: 1e-6 },
  );
});

test('errors name the record and the field', async () => {
  const parse = createClassificationParser({ output_size: [8, 8], num_classes: 3 });
  const where = 'train-00001-of-00004 record 17 at byte 4096';
  await assert.rejects(
    parse(example(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9)), ctx(new Rng(0), true, where)),
    (err: Error) => err.message.includes(where) && err.message.includes('image/encoded'),
  );
  await assert.rejects(
    parse(encodeExample({ 'image/class/label': int64Feature(1) }), ctx(new Rng(0), true, where)),
    /train-00001-of-00004 record 17 at byte 4096, feature 'image\/encoded': no image bytes/,
  );
  await assert.rejects(
    parse(example(PNG, [3]), ctx(new Rng(0), false, where)),
    /record 17 at byte 4096, feature 'image\/class\/label': label 3 is outside \[0, 3\)/,
  );
  await assert.rejects(
    parse(Uint8Array.of(0xff, 0xff, 0xff), ctx(new Rng(0), false, where)),
    (err: Error) => err.message.includes(where),
  );
});

test('bad options are rejected naming the field', () => {
  assert.throws(() => createClassificationParser({}), /output_size must be \[height, width\]/);
  assert.throws(
    () => createClassificationParser({ output_size: [8, 8], aug_flip: true }),
    /unknown option 'aug_flip'/,
  );
  assert.throws(
    () => createClassificationParser({ output_size: [8, 8], crop_area_range: [0.5, 0.1] }),
    /crop_area_range must be \[min, max\]/,
  );
  assert.throws(
    () => createClassificationParser({ output_size: [8, 8], aug_type: { type: 'mixup' } }),
    /aug_type.type must be 'randaug', 'autoaug' or null/,
  );
  assert.throws(
    () => createClassificationParser({ output_size: [8, 8], is_multilabel: true }),
    /num_classes is required with is_multilabel/,
  );
  assert.throws(
    () => createClassificationParser({ output_size: [8, 8], num_channels: 1 }),
    /mean and stddev are required for 1-channel images/,
  );
  // The parser is a pipeline map function (checked by the compiler).
  const asMapFn: MapFn = createClassificationParser({ output_size: [8, 8] });
  assert.equal(typeof asMapFn, 'function');
  const ref = classificationParserRef({ output_size: [8, 8] });
  assert.equal(ref.factory, 'createClassificationParser');
  assert.match(ref.module, /^file:.*classification_parser\.(ts|js)$/);
});

test('in a batch (slot arrays, reused decode buffers, interleaved maps) the images are the same', async () => {
  const files = ['000000000009.jpg', '000000000025.jpg', '000000000030.jpg', '000000000034.jpg'];
  const jpegs = await Promise.all(
    files.map(async (f) => new Uint8Array(await readFile(sharedData('coco128', 'train2017', f)))),
  );
  // Twice over, so later maps decode into buffers that earlier, larger images left behind.
  const records = [...jpegs, ...jpegs.reverse()].map((j, i) =>
    encodeExample({ 'image/encoded': bytesFeature(j), 'image/class/label': int64Feature(i) }),
  );
  for (const training of [true, false]) {
    const parse = createClassificationParser({ output_size: [64, 48] });
    const items: BatchItem[] = records.map((bytes, i) => ({
      bytes,
      task: { index: i, epoch: 0, where: `r${i}`, training, seed: 5 },
    }));
    const alone = [];
    for (const it of items) {
      const rng = Rng.derive(5, exampleStreamName(0, it.task.index));
      alone.push(
        await parse(it.bytes, { rng, index: it.task.index, where: it.task.where, training }),
      );
    }
    const out = await runBatch(createClassificationParser({ output_size: [64, 48] }), items, {}, 3);
    assert.ok('batch' in out);
    const size = 64 * 48 * 3;
    alone.forEach((ex, i) =>
      assert.deepEqual(
        out.batch.image.data.subarray(i * size, (i + 1) * size),
        ex.image.data,
        `example ${i} (training ${training})`,
      ),
    );
  }
});
