/**
 * The anchor labeller on a hand-labelled case: a 16 x 16 image whose level-2 (4 x 4) and level-3
 * (8 x 8) anchors tile it exactly, and five boxes chosen to hit every rule: a perfect match, a
 * clear positive, a small box only force-matching can label, IoU exactly 0.5 on two anchors, and
 * an anchor tied between two boxes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateAnchors } from '../../src/ops/anchor.js';
import { AnchorLabeler, IGNORED, NEGATIVE, POSITIVE } from '../../src/ops/anchor_labeler.js';
import { FASTER_RCNN_EPSILON } from '../../src/ops/box_ops.js';
import { Rng } from '../../src/core/random.js';
import { assertClose } from '../helpers.js';

// Anchor k < 16: level-2 cell (y, x) = (k >> 2, k & 3), box [4y, 4x, 4y + 4, 4x + 4];
// anchor 16 + k: level-3 cell (k >> 1, k & 1), box [8y, 8x, 8y + 8, 8x + 8].
const grid = generateAnchors({
  minLevel: 2,
  maxLevel: 3,
  numScales: 1,
  aspectRatios: [1],
  anchorSize: 1,
  imageSize: [16, 16],
});
const anchors = grid.boxes;

const boxes = [
  [0, 0, 8, 8], // g0, class 5: IoU 1 with anchor 16; 0.25 with anchors 0, 1, 4, 5
  [8, 8, 12, 13], // g1, class 7: 0.8 with anchor 10, 0.125 with 11, 20 / 64 with 19
  [1, 9, 3, 11], // g2, class 9: at best 0.25 (anchor 2): labelled only by force matching
  [12, 0, 16, 8], // g3, class 3: exactly 0.5 with anchors 12, 13 and 18
  [8, 0, 12, 8], // g4, class 4: exactly 0.5 with anchors 8, 9 and 18 (tie with g3 on 18)
].flat();
const classes = [5, 7, 9, 3, 4];

test('indicators, classes and weights of every anchor (thresholds 0.5 / 0.5)', () => {
  const l = new AnchorLabeler().labelAnchors(anchors, boxes, classes);
  // The grid-aware path (IoUs only near each box) labels identically.
  assert.deepEqual(new AnchorLabeler().labelAnchors(grid, boxes, classes), l);
  const P = POSITIVE;
  const N = NEGATIVE;
  // prettier-ignore
  assert.deepEqual(Array.from(l.indicators), [
    N, N, P, N,  N, N, N, N,  P, P, P, N,  P, P, N, N,  P, N, P, N]);
  // prettier-ignore
  assert.deepEqual(Array.from(l.clsTargets), [
    -1, -1, 9, -1,  -1, -1, -1, -1,  4, 4, 7, -1,  3, 3, -1, -1,  5, -1, 3, -1]);
  // Anchor 18 ties between g3 and g4 and takes the first, g3.
  assert.equal(l.matchedColumns[18], 3);
  assert.equal(l.numPositives, 8);
  assert.deepEqual(
    Array.from(l.boxWeights),
    Array.from(l.indicators, (i) => (i === P ? 1 : 0)),
  );
  assert.deepEqual(Array.from(l.clsWeights), new Array(20).fill(1));
});

test('box targets: matched boxes encoded against their anchors, zero boxes elsewhere', () => {
  const l = new AnchorLabeler().labelAnchors(anchors, boxes, classes);
  const t = (k: number) => l.boxTargets.subarray(4 * k, 4 * k + 4);
  // anchor 10 [8, 8, 12, 12] (centre 10, 10; 4 x 4) and g1 (centre 10, 10.5; 4 x 5)
  assertClose(t(10), [0, 0.125, 0, Math.log(1.25)]);
  // anchor 2 [0, 8, 4, 12] and g2, same centre, half the size
  assertClose(t(2), [0, 0, Math.log(0.5), Math.log(0.5)]);
  // anchor 18 [8, 0, 16, 8] (centre 12, 4) and g3 (centre 14, 4; 4 x 8)
  assertClose(t(18), [0.25, 0, Math.log(0.5), 0]);
  assertClose(t(16), [0, 0, 0, 0]);
  // negative anchor 0 [0, 0, 4, 4] against a zero box: centre 0, sizes epsilon
  const logEps = Math.log(Math.fround(FASTER_RCNN_EPSILON) / 4);
  assertClose(t(0), [-0.5, -0.5, logEps, logEps]);
});

test('box coder weights scale the targets', () => {
  const l = new AnchorLabeler({ boxCoderWeights: [10, 10, 5, 5] }).labelAnchors(
    anchors,
    boxes,
    classes,
  );
  assertClose(l.boxTargets.subarray(40, 44), [0, 1.25, 0, 5 * Math.log(1.25)]);
});

test('an ignore band: IoU in [unmatched, matched) gets class weight 0', () => {
  const l = new AnchorLabeler({ matchThreshold: 0.5, unmatchedThreshold: 0.3 }).labelAnchors(
    anchors,
    boxes,
    classes,
  );
  // anchor 19 [8, 8, 16, 16] has IoU 0.3125 with g1; anchor 0 (0.25) stays negative.
  assert.equal(l.indicators[19], IGNORED);
  assert.equal(l.clsWeights[19], 0);
  assert.equal(l.boxWeights[19], 0);
  assert.equal(l.clsTargets[19], -1);
  assert.equal(l.indicators[0], NEGATIVE);
  assert.equal(l.clsWeights[0], 1);
  assert.equal(l.numPositives, 8);
});

test('per-box weights follow the matched box, for negatives too', () => {
  const l = new AnchorLabeler().labelAnchors(anchors, boxes, classes, [1, 0.5, 2, 1, 1]);
  assert.equal(l.boxWeights[10], 0.5); // positive on g1
  assert.equal(l.clsWeights[10], 0.5);
  assert.equal(l.clsWeights[19], 0.5); // negative, best box g1
  assert.equal(l.boxWeights[19], 0);
  assert.equal(l.boxWeights[2], 2); // forced onto g2
  assert.equal(l.clsWeights[17], 2); // negative, best box g2 (IoU 4 / 64)
  assert.equal(l.clsWeights[3], 1); // IoU 0 with every box: column 0 (g0)
});

test('no boxes: all negative with class weight 1, no positives', () => {
  const l = new AnchorLabeler().labelAnchors(anchors, [], []);
  assert.ok(l.clsTargets.every((c) => c === -1));
  assert.ok(l.clsWeights.every((w) => w === 1));
  assert.ok(l.boxWeights.every((w) => w === 0));
  assert.equal(l.numPositives, 0);
});

test('bad arguments are named', () => {
  assert.throws(() => new AnchorLabeler({ matchThreshold: 0.4, unmatchedThreshold: 0.5 }), /above/);
  assert.throws(
    () => new AnchorLabeler().labelAnchors(anchors, [0, 0, 1, 1], [1, 2]),
    /1 boxes but 2 classes/,
  );
  assert.throws(
    () =>
      new AnchorLabeler({
        boxCoderWeights: [1, 1, 1] as unknown as [number, number, number, number],
      }),
    /box_coder_weights/,
  );
});

test('grid-aware labelling equals the all-pairs IoU on 640 x 640 with 60 random boxes', () => {
  const big = generateAnchors({
    minLevel: 3,
    maxLevel: 7,
    numScales: 3,
    aspectRatios: [0.5, 1, 2],
    anchorSize: 4,
    imageSize: [640, 640],
  });
  const rng = new Rng(7);
  const b: number[] = [];
  for (let k = 0; k < 60; k++) {
    // sizes from 2 to 600 px (log-uniform), some crossing the image border
    const [h, w] = [0, 1].map(() => 2 * 300 ** rng.uniform());
    const [y, x] = [0, 1].map(() => rng.uniform() * 700 - 50);
    b.push(y, x, y + h, x + w);
  }
  // Two identical boxes and one box equal to an anchor: ties in both directions.
  b.push(...b.slice(0, 4), ...Array.from(big.boxes.subarray(400, 404)));
  const c = Array.from({ length: b.length / 4 }, (_, k) => k + 1);
  const labeler = new AnchorLabeler({ unmatchedThreshold: 0.4 });
  const all = labeler.labelAnchors(big.boxes, b, c);
  assert.deepEqual(labeler.labelAnchors(big, b, c), all);
  assert.ok(all.numPositives > 60);
});

test("Model Garden's anchor_test testLabelAnchors: the first anchor as ground truth", () => {
  // Levels 3-6 at 512, 2 scales, ratio 1, anchor size 2: the box equal to the first anchor
  // [-4, -4, 12, 12] matches it (IoU 1) and the next scale's anchor at the same location
  // (IoU 16^2 / (16 sqrt 2)^2 = 0.5 in float32 too), nothing else.
  const a = generateAnchors({
    minLevel: 3,
    maxLevel: 6,
    numScales: 2,
    aspectRatios: [1],
    anchorSize: 2,
    imageSize: [512, 512],
  });
  const gt = Array.from(a.boxes.subarray(0, 4));
  assert.deepEqual(gt, [-4, -4, 12, 12]);
  const l = new AnchorLabeler().labelAnchors(a, gt, [2]);
  const positives = Array.from(l.clsTargets).flatMap((c, i) => (c > -1 ? [[i, c]] : []));
  assert.deepEqual(positives, [
    [0, 2],
    [1, 2],
  ]);
  assert.equal(
    l.boxWeights.reduce((s, w) => s + w, 0),
    2,
  );
});
