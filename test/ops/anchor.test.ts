/**
 * Multilevel anchors against hand-derived boxes: per-level grids, the location / scale / aspect
 * order of Model Garden's Anchor, per-level views, and the default RetinaNet configuration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchorLayout, generateAnchors, unpackLabels } from '../../src/ops/anchor.js';
import { assertClose } from '../helpers.js';

// Image 8 x 16, levels 2 (stride 4, 2 x 4 cells) and 3 (stride 8, 1 x 2 cells); scales 2^0 and
// 2^(1/2), aspect ratios 1 and 4 (4: twice as wide as base, half as high): 4 anchors a location.
const config = {
  minLevel: 2,
  maxLevel: 3,
  numScales: 2,
  aspectRatios: [1, 4],
  anchorSize: 1,
  imageSize: [8, 16] as [number, number],
};
const box = (cy: number, cx: number, hy: number, hx: number) => [
  cy - hy,
  cx - hx,
  cy + hy,
  cx + hx,
];
const r2 = Math.SQRT2;

test('level 2, first location: scale-major then aspect ratio', () => {
  const a = generateAnchors(config);
  assert.equal(a.numAnchors, 2 * 4 * 4 + 1 * 2 * 4);
  assert.equal(a.anchorsPerLocation, 4);
  // base 4 and 4 * sqrt(2); ratio 4 gives half sizes (base / 2) * [1/2, 2].
  assertClose(a.boxes.subarray(0, 16), [
    ...box(2, 2, 2, 2),
    ...box(2, 2, 1, 4),
    ...box(2, 2, 2 * r2, 2 * r2),
    ...box(2, 2, r2, 4 * r2),
  ]);
});

test('locations run along x first, then y; level 3 follows level 2', () => {
  const a = generateAnchors(config);
  const at = (k: number) => Array.from(a.boxes.subarray(4 * k, 4 * k + 4));
  assert.deepEqual(at(4), box(2, 6, 2, 2)); // location 1 = (y 0, x 1)
  assert.deepEqual(at(16), box(6, 2, 2, 2)); // location 4 = (y 1, x 0)
  assert.deepEqual(at(32), box(4, 4, 4, 4)); // level 3, base 8
  assert.deepEqual(at(36), box(4, 12, 4, 4)); // level 3, location 1
  assert.deepEqual(
    a.levels.map((l) => [l.level, l.height, l.width, l.offset, l.count]),
    [
      [2, 2, 4, 0, 32],
      [3, 1, 2, 32, 8],
    ],
  );
});

test('unpackLabels: per-level views [h, w, anchors * depth] sharing memory', () => {
  const a = generateAnchors(config);
  const views = unpackLabels(a.boxes, a, 4);
  assert.deepEqual(Object.keys(views), ['2', '3']);
  assert.deepEqual(views['2'].shape, [2, 4, 16]);
  assert.deepEqual(views['3'].shape, [1, 2, 16]);
  assert.equal(views['3'].data.buffer, a.boxes.buffer);
  assert.deepEqual(Array.from(views['3'].data.subarray(0, 4)), box(4, 4, 4, 4));
  const cls = unpackLabels(
    new Int32Array(40).map((_, i) => i),
    a,
  );
  assert.deepEqual(cls['3'].shape, [1, 2, 4]);
  assert.equal(cls['3'].data[0], 32);
  assert.throws(() => unpackLabels(new Int32Array(39), a), /39 values for 40 anchors/);
});

test("RetinaNet's default anchors at 640: 76725 boxes, level 3 starting at the 0.5 ratio", () => {
  const a = generateAnchors({
    minLevel: 3,
    maxLevel: 7,
    numScales: 3,
    aspectRatios: [0.5, 1, 2],
    anchorSize: 4,
    imageSize: [640, 640],
  });
  assert.equal(a.numAnchors, 9 * (80 * 80 + 40 * 40 + 20 * 20 + 10 * 10 + 5 * 5));
  // base 32 at stride 8; ratio 0.5: half height 16 * sqrt(2), half width 16 / sqrt(2).
  assertClose(a.boxes.subarray(0, 4), box(4, 4, 16 * r2, 16 / r2));
  // level 7's last anchor: centre (576, 576), base 4 * 128 * 2^(2/3), ratio 2.
  const base = 512 * 2 ** (2 / 3);
  assertClose(a.boxes.subarray(a.boxes.length - 4), box(576, 576, base / r2 / 2, (base * r2) / 2));
});

test('bad configs are named', () => {
  assert.throws(() => anchorLayout({ ...config, imageSize: [8, 22] }), /width 22 .*level-3/);
  assert.throws(() => anchorLayout({ ...config, aspectRatios: [] }), /aspect_ratios/);
  assert.throws(() => anchorLayout({ ...config, maxLevel: 1 }), /max_level/);
  assert.throws(() => anchorLayout({ ...config, numScales: 0 }), /num_scales/);
});

// Published expectations of Model Garden's official/vision/ops/anchor_test.py
// (testAnchorGeneration: a 64 x 64 image, anchor size 2).
const published: [number, number, number[], number[][]][] = [
  [
    5,
    5,
    [1],
    [
      [-16, -16, 48, 48],
      [-16, 16, 48, 80],
      [16, -16, 80, 48],
      [16, 16, 80, 80],
    ],
  ],
  [
    5,
    6,
    [1],
    [
      [-16, -16, 48, 48],
      [-16, 16, 48, 80],
      [16, -16, 80, 48],
      [16, 16, 80, 80],
      [-32, -32, 96, 96],
    ],
  ],
  [
    6,
    6,
    [1, 4, 0.25],
    [
      [-32, -32, 96, 96],
      [0, -96, 64, 160],
      [-96, 0, 160, 64],
    ],
  ],
];

test("Model Garden's anchor_test expectations", () => {
  for (const [minLevel, maxLevel, aspectRatios, expected] of published) {
    const a = generateAnchors({
      minLevel,
      maxLevel,
      numScales: 1,
      aspectRatios,
      anchorSize: 2,
      imageSize: [64, 64],
    });
    assert.deepEqual(Array.from(a.boxes), expected.flat(), `levels ${minLevel}-${maxLevel}`);
  }
});
