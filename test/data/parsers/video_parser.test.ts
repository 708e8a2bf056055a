/**
 * Model Garden's video parser (src/data/parsers/video_parser.ts) on the golden SequenceExample
 * fixture (../shared/data/tfrecord-golden/video.tfrecord: 8 JPEG frames of 32x32 per clip, blue
 * channel 40 + 20t in clip 0, so a frame's index is readable from its blue mean) and by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/random.js';
import { decodeImage } from '../../../src/data/decoders/image.js';
import { VideoDecoder } from '../../../src/data/decoders/video.js';
import {
  clipIndices,
  createVideoParser,
  evalClipOffsets,
  evalCropOffsets,
  randomClipOffset,
  resizeSmallestSize,
  videoParserRef,
} from '../../../src/data/parsers/video_parser.js';
import { readTFRecords } from '../../../src/data/tfrecord/index.js';
import { sharedData } from '../../helpers.js';

const GOLDEN = sharedData('tfrecord-golden');
const expected = JSON.parse(readFileSync(join(GOLDEN, 'video.expected.json'), 'utf8')) as {
  records: { 'clip/label/index': number[]; frames: { tf_decode_mean: number }[] }[];
};

async function records(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const r of readTFRecords(join(GOLDEN, 'video.tfrecord'))) out.push(r.data);
  return out;
}

const ctx = (training: boolean, seed = 7) => ({
  rng: new Rng(seed),
  index: 0,
  where: 'video.tfrecord record 0',
  training,
});

test('sampling and crop geometry as preprocess_ops_3d, by hand', () => {
  // Looping: offset 3, stride 2 on a 5-frame video: 3, 5 -> 0, 2, 4.
  assert.deepEqual(clipIndices(5, 4, 2, 3), [3, 0, 2, 4]);
  // linspace(0, 20 - 8, 3) = 0, 6, 12; the central clip (20 - 8) // 2 = 6; too short -> 0.
  assert.deepEqual(evalClipOffsets(20, 4, 2, 3), [0, 6, 12]);
  assert.deepEqual(evalClipOffsets(20, 4, 2, 1), [6]);
  assert.deepEqual(evalClipOffsets(5, 4, 2, 1), [0]);
  // linspace(0, 5, 4) = 0, 1.67, 3.33, 5 truncated.
  assert.deepEqual(evalClipOffsets(9, 4, 1, 4), [0, 1, 3, 5]);
  // 240x320 with short side 256: 256 x (320*256)//240 = 341.
  assert.deepEqual(resizeSmallestSize(240, 320, 256), [256, 341]);
  // 3 crops along the long (width) side: 0, round_half_even(170.5 - 112) = 58, 341 - 224.
  assert.deepEqual(evalCropOffsets(256, 341, 224, 224, 3), [
    [0, 0],
    [0, 58],
    [0, 117],
  ]);
  // One crop: centre, or a negative offset (zero padding) when the frame is smaller.
  assert.deepEqual(evalCropOffsets(30, 40, 24, 48, 1), [[3, -4]]);
  // Random offsets stay within [0, L - (n - 1) s) (or [0, L) when the clip loops).
  const rng = new Rng(1);
  for (let i = 0; i < 200; i++) {
    const o = randomClipOffset(10, 4, 2, rng);
    assert.ok(o >= 0 && o < 4, `offset ${o}`);
    const p = randomClipOffset(3, 4, 2, rng);
    assert.ok(p >= 0 && p < 3, `offset ${p}`);
  }
});

test('eval: the central clip of the golden records, frames as TF decodes them, one-hot label', async () => {
  const recs = await records();
  const parse = createVideoParser({
    feature_shape: [8, 32, 32, 3],
    num_classes: 20,
    min_image_size: 32,
  });
  for (let r = 0; r < recs.length; r++) {
    const out = await parse(recs[r], ctx(false));
    assert.deepEqual(out.image.shape, [8, 32, 32, 3]);
    const want = expected.records[r];
    const hot = Array.from(out.label.data);
    assert.deepEqual(
      hot,
      Array.from({ length: 20 }, (_, i) => i).map((i) =>
        want['clip/label/index'].includes(i) ? 1 : 0,
      ),
    );
    const d = out.image.data as Float32Array;
    for (let t = 0; t < 8; t++) {
      let s = 0;
      for (let i = t * 3072; i < (t + 1) * 3072; i++) s += d[i];
      // [0, 1] frames; JPEG decoders differ by a little from TF's.
      assert.ok(
        Math.abs((s / 3072) * 255 - want.frames[t].tf_decode_mean) < 1.0,
        `record ${r} frame ${t}`,
      );
    }
  }
});

test('eval: 2 clips x 3 crops, views crop-major, pixels from the decoded frames', async () => {
  const [rec] = await records();
  const frames = await Promise.all(
    new VideoDecoder().decode(rec).frames.map((f) => decodeImage(f, { channels: 3 })),
  );
  const parse = createVideoParser({
    feature_shape: [4, 24, 24, 3],
    num_test_clips: 2,
    num_test_crops: 3,
    min_image_size: 32,
    zero_centering_image: true,
    one_hot: false,
  });
  const out = await parse(rec, ctx(false));
  assert.deepEqual(out.image.shape, [6 * 4, 24, 24, 3]);
  assert.deepEqual(Array.from(out.label.data), [3]);
  const d = out.image.data as Float32Array;
  const plane = 24 * 24 * 3;
  // Offsets linspace(0, 8 - 4, 2) = 0, 4; crops along the height (square frames): y 0, 4, 8.
  const ys = [0, 4, 8];
  for (let k = 0; k < 3; k++) {
    for (let c = 0; c < 2; c++) {
      for (let t = 0; t < 4; t++) {
        const src = frames[c * 4 + t];
        const base = ((k * 2 + c) * 4 + t) * plane;
        for (const [y, x, ch] of [
          [0, 0, 0],
          [23, 23, 2],
          [11, 5, 1],
        ]) {
          const v = src.data[((ys[k] + y) * 32 + x) * 3 + ch];
          const got = d[base + (y * 24 + x) * 3 + ch];
          assert.ok(Math.abs(got - (v * 2) / 255 + 1) < 1e-6, `view ${k},${c} t ${t}`);
        }
      }
    }
  }
});

test('train: strided consecutive frames of one clip, one box and flip for all, deterministic', async () => {
  const [rec] = await records();
  const opts = {
    feature_shape: [4, 16, 16, 3] as [number, number, number, number],
    num_classes: 20,
    temporal_stride: 2,
    aug_min_area_ratio: 0.3,
  };
  const parse = createVideoParser(opts);
  const seen = new Set<number>();
  for (let seed = 0; seed < 12; seed++) {
    const a = await parse(rec, ctx(true, seed));
    const b = await parse(rec, ctx(true, seed));
    assert.deepEqual(a.image.data, b.image.data, 'same seed, same clip');
    assert.deepEqual(a.image.shape, [4, 16, 16, 3]);
    // Blue is 40 + 20t everywhere but on the white square (a sixteenth of the frame): the
    // frame's index is read from its median blue.
    const d = a.image.data as Float32Array;
    const idx: number[] = [];
    for (let t = 0; t < 4; t++) {
      const blue: number[] = [];
      for (let i = t * 768 + 2; i < (t + 1) * 768; i += 3) blue.push(d[i] * 255);
      blue.sort((x, y) => x - y);
      idx.push(Math.round((blue[blue.length >> 1] - 40) / 20) || 0);
    }
    // Stride 2 from a random offset in [0, 8 - 6), looping past frame 7.
    assert.ok(idx[0] >= 0 && idx[0] < 2, `offset ${idx[0]}`);
    assert.deepEqual(idx, clipIndices(8, 4, 2, idx[0]), `seed ${seed}`);
    seen.add(idx[0]);
  }
  assert.equal(seen.size, 2, 'both offsets drawn');
});

test('train: RandAugment applies the same operations to every frame of the clip', async () => {
  const [rec] = await records();
  // Equal frames must stay equal after augmentation: stride 8 on the 8-frame video picks the
  // offset's frame three times.
  const parse = createVideoParser({
    feature_shape: [3, 16, 16, 3],
    num_classes: 20,
    temporal_stride: 8, // on an 8-frame video every index is the offset: one frame, thrice
    aug_type: { type: 'randaug', randaug: { num_layers: 2, magnitude: 9 } },
  });
  for (let seed = 0; seed < 5; seed++) {
    const out = await parse(rec, ctx(true, seed));
    const d = out.image.data as Float32Array;
    const plane = 16 * 16 * 3;
    assert.deepEqual(d.subarray(plane, 2 * plane), d.subarray(0, plane), `seed ${seed}`);
    assert.deepEqual(d.subarray(2 * plane, 3 * plane), d.subarray(0, plane), `seed ${seed}`);
  }
});

test('bad options and records get one clear error', async () => {
  assert.throws(
    () => videoParserRef({ feature_shape: [4, 16, 16, 3] }),
    /num_classes must be given with one_hot labels/,
  );
  assert.throws(
    () => videoParserRef({ feature_shape: [4, 16, 16, 3], num_classes: 2, num_test_crops: 2 }),
    /num_test_crops/,
  );
  const [rec] = await records();
  const parse = createVideoParser({ feature_shape: [2, 8, 8, 3], num_classes: 3 });
  await assert.rejects(
    parse(rec, ctx(false)),
    /video\.tfrecord record 0.*label 3 is outside \[0, 3\)/,
  );
});
