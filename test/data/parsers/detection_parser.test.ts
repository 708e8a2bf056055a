/**
 * The detection parser's geometry against hand-computed boxes: scale to the output size, the
 * flip mirroring x, crowd objects dropped in training, zero padding to the multiple of 2^level.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/random.js';
import { MEAN_RGB, STDDEV_RGB } from '../../../src/data/in_memory.js';
import { createDetectionParser } from '../../../src/data/parsers/detection_parser.js';
import { assertClose } from '../../helpers.js';
import { ScriptedRng } from '../ops/scripted_rng.js';
import { greyPng, twoBoxRecord } from './two_box_record.js';

// Box 0: y 0.25..0.5, x 0.125..0.5 (class 3); box 1 (crowd): y 0..1, x 0.5..1 (class 7).
const record = twoBoxRecord(await greyPng(200));

test('eval: fit into 24x24 (scale 0.5), pad to 128, boxes in output pixels', async () => {
  const parse = createDetectionParser({ output_size: [24, 24] });
  const out = await parse(record, { rng: new Rng(0), index: 0, where: 'r0', training: false });
  assert.deepEqual(out.image.shape, [128, 128, 3]);
  // pixels [8, 6, 16, 24] and [0, 24, 32, 48]; scale = min(24 / 32, 24 / 48) = 0.5
  assertClose(out.boxes.data, [4, 3, 8, 12, 0, 12, 16, 24]);
  assert.deepEqual(Array.from(out.classes.data), [3, 7]);
  assertClose(out.image_info.data, [32, 48, 24, 24, 0.5, 0.5, 0, 0]);
  const img = out.image.data;
  // Inside the scaled 16x24 image: the normalised constant; outside: zero padding.
  assertClose(
    [img[0], img[1], img[2]],
    [0, 1, 2].map((c) => (200 - MEAN_RGB[c]) / STDDEV_RGB[c]),
    {
      atol: 1e-5,
    },
  );
  const at = (y: number, x: number) => img[(y * 128 + x) * 3];
  assert.equal(at(15, 23) !== 0, true);
  assert.equal(at(16, 0), 0);
  assert.equal(at(0, 24), 0);
});

test('train: crowd dropped, the flip coin mirrors boxes (x -> 24 - x)', async () => {
  const parse = createDetectionParser({
    output_size: [24, 24],
    pad: false,
    aug_rand_hflip: true,
  });
  const rng = new ScriptedRng([0.1]);
  const out = await parse(record, { rng, index: 0, where: 'r0', training: true });
  assert.equal(rng.left, 0);
  assert.deepEqual(out.boxes.shape, [1, 4]);
  // flipped normalised x: 1 - 0.5 = 0.5 .. 1 - 0.125 = 0.875 -> 24 .. 42 px -> 12 .. 21 scaled
  assertClose(out.boxes.data, [4, 12, 8, 21]);
  assert.deepEqual(Array.from(out.classes.data), [3]);
  assert.deepEqual(out.image.shape, [24, 24, 3]);
});

test('train: scale jitter with scripted draws (no flip coin by default, as Model Garden)', async () => {
  const parse = createDetectionParser({
    output_size: [24, 24],
    pad: false,
    aug_scale_min: 0.5,
    aug_scale_max: 2.0,
  });
  // scale draw 0.5 -> 1.25: target 30x30, image scale min(30/32, 30/48) = 0.625 -> 20x30;
  // crop offsets: y floor(max(20 - 24, 0) * u) = 0, x floor((30 - 24) * 0.5) = 3.
  const rng = new ScriptedRng([0.5, 0.5, 0.5]);
  const out = await parse(record, { rng, index: 0, where: 'r0', training: true });
  assertClose(out.image_info.data, [32, 48, 24, 24, 0.625, 0.625, 0, 3]);
  // box 0 in pixels [8, 6, 16, 24] * 0.625 = [5, 3.75, 10, 15], minus x offset 3
  assertClose(out.boxes.data, [5, 0.75, 10, 12]);
});
