/**
 * RLE codec, polygon rasterisation, area/toBbox/merge and crowd IoU against pycocotools 2.0.11
 * (fixtures/mask_golden.json, made by fixtures/make_mask_fixture.py from the coco-eval goldens),
 * and against hand-derived small cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { REPO_ROOT, sharedData } from '../../helpers.js';
import {
  bboxIou,
  decodeMask,
  encodeMask,
  mergeRles,
  rleArea,
  RleError,
  rleFromString,
  rleIou,
  rleToBbox,
  rleToString,
  segmentationToRle,
} from '../../../src/ops/masks/index.js';
import type { CocoDataset } from '../../../src/evaluation/coco/dataset.js';

interface CaseFixture {
  ids: number[];
  areas: number[];
  bboxes: number[][];
  sha256_of_counts_joined_by_newline: string;
  counts?: string[];
  mask_iou_crowd_images: {
    image_id: number;
    dt_ann_ids: number[];
    gt_ann_ids: number[];
    iscrowd: number[];
    iou: number[][];
  }[];
}
const golden = JSON.parse(
  readFileSync(`${REPO_ROOT}/test/ops/masks/fixtures/mask_golden.json`, 'utf8'),
) as { cases: Record<string, CaseFixture> };

for (const c of ['case1', 'case2']) {
  test(`${c} GT segmentations → RLE strings, area, toBbox and crowd IoU equal pycocotools`, () => {
    const ds = JSON.parse(
      readFileSync(sharedData('coco-eval-golden', c, 'gt.json'), 'utf8'),
    ) as CocoDataset;
    const fx = golden.cases[c];
    const size = new Map(ds.images.map((im) => [im.id, [im.height, im.width]]));
    const rles = ds.annotations.map((a) => {
      const [h, w] = size.get(a.image_id)!;
      return segmentationToRle(a.segmentation, h, w, `annotation ${a.id}`);
    });
    assert.deepEqual(
      ds.annotations.map((a) => a.id),
      fx.ids,
    );
    const strings = rles.map(rleToString);
    if (fx.counts) assert.deepEqual(strings, fx.counts);
    assert.deepEqual(rles.map(rleArea), fx.areas);
    assert.deepEqual(
      rles.map((r) => rleToBbox(r)),
      fx.bboxes,
    );
    const sha = createHash('sha256').update(strings.join('\n')).digest('hex');
    assert.equal(sha, fx.sha256_of_counts_joined_by_newline);
    // Round trip of the compressed form.
    for (const r of rles.slice(0, 50)) {
      assert.deepEqual(rleFromString(rleToString(r), r.h, r.w).counts, r.counts);
    }
    const byId = new Map(ds.annotations.map((a, i) => [a.id, rles[i]]));
    for (const im of fx.mask_iou_crowd_images) {
      const m = rleIou(
        im.dt_ann_ids.map((id) => byId.get(id)!),
        im.gt_ann_ids.map((id) => byId.get(id)!),
        im.iscrowd,
      );
      const G = im.gt_ann_ids.length;
      im.iou.forEach((row, d) =>
        row.forEach((v, g) =>
          assert.ok(Math.abs(m[d * G + g] - v) <= 1e-15, `img ${im.image_id} [${d},${g}]`),
        ),
      );
    }
  });
}

test('encode/decode: column-major runs starting with zeros, both input layouts', () => {
  // 3x2 mask (row-major) [[0,1],[1,1],[0,0]]: column 0 = 0,1,0 ; column 1 = 1,1,0.
  const mask = [0, 1, 1, 1, 0, 0];
  const r = encodeMask(mask, 3, 2);
  assert.deepEqual(Array.from(r.counts), [1, 1, 1, 2, 1]);
  assert.deepEqual(Array.from(decodeMask(r)), mask);
  const colMajor = [0, 1, 0, 1, 1, 0];
  assert.deepEqual(encodeMask(colMajor, 3, 2, 'col').counts, r.counts);
  assert.equal(rleArea(r), 3);
  assert.deepEqual(rleToBbox(r), [0, 0, 2, 2]);
  // A mask starting with a 1 has a leading zero count.
  assert.deepEqual(Array.from(encodeMask([1, 0], 2, 1).counts), [0, 1, 1]);
});

test('compressed string codec: hand-encoded values, large counts, malformed input', () => {
  // counts [5, 3]: '5' = 48+5, '3' = 48+3 (counts from the fourth on are differences).
  assert.equal(rleToString({ h: 1, w: 8, counts: Uint32Array.from([5, 3]) }), '53');
  // 40 = 0b101000: low 5 bits 8 with continuation → 48+8+32 = 'X', then 1 → '1'.
  assert.equal(rleToString({ h: 1, w: 40, counts: Uint32Array.from([40]) }), 'X1');
  // counts [1, 1, 1, 0]: the fourth is stored as 0 - 1 = -1 → 0x1f, no continuation → 'O'.
  assert.equal(rleToString({ h: 1, w: 3, counts: Uint32Array.from([1, 1, 1, 0]) }), '111O');
  const big = { h: 100000, w: 30000, counts: Uint32Array.from([2999999999, 1, 0]) };
  assert.deepEqual(rleFromString(rleToString(big), big.h, big.w).counts, big.counts);
  assert.throws(() => rleFromString('5 3', 1, 8), RleError);
  assert.throws(() => rleFromString('X', 1, 40), /end inside a value/);
  assert.throws(
    () => segmentationToRle({ size: [2, 2], counts: '5' }, 2, 2, 'result 3'),
    /result 3: RLE counts: RLE runs sum to 5/,
  );
  assert.throws(
    () => segmentationToRle({ size: [2, 3], counts: [6] }, 2, 2, 'result 4'),
    /result 4: RLE size \[2, 3\] differs/,
  );
});

test('merge (union / intersection) and IoU with crowd, hand-derived', () => {
  // 1x4 canvas: a = pixels {0,1}, b = pixels {1,2}.
  const a = encodeMask([1, 1, 0, 0], 1, 4);
  const b = encodeMask([0, 1, 1, 0], 1, 4);
  assert.deepEqual(Array.from(decodeMask(mergeRles([a, b]))), [1, 1, 1, 0]);
  assert.deepEqual(Array.from(decodeMask(mergeRles([a, b], true))), [0, 1, 0, 0]);
  // IoU = 1/3; against a crowd GT, intersection / dt area = 1/2.
  const iou = rleIou([a], [b, b], [0, 1]);
  assert.equal(iou[0], 1 / 3);
  assert.equal(iou[1], 1 / 2);
  // Boxes [x,y,w,h]: overlap 1x2 of areas 4 and 4 → 2/6; crowd → 2/4; touching → 0.
  const bi = bboxIou([0, 0, 2, 2], [1, 0, 2, 2, 1, 0, 2, 2, 2, 0, 1, 1], [0, 1, 0]);
  assert.deepEqual(Array.from(bi), [2 / 6, 2 / 4, 0]);
});

test('polygon rasterisation: an axis-aligned square covers the expected pixels', () => {
  // Square (1,1)-(3,3): pycocotools fills pixel columns/rows 1..2 (pixel centres at .5 inside)
  // — the pixels whose index range lies within [1, 3).
  const r = segmentationToRle([[1, 1, 3, 1, 3, 3, 1, 3]], 5, 5, 'square');
  const m = decodeMask(r);
  const on: number[] = [];
  m.forEach((v, i) => v && on.push(i));
  assert.deepEqual(on, [1 * 5 + 1, 1 * 5 + 2, 2 * 5 + 1, 2 * 5 + 2]);
  assert.throws(
    () => segmentationToRle([[1, 2]], 5, 5, 'annotation 9'),
    /annotation 9: polygon 0 has 2/,
  );
});
