/**
 * Behaviours the shared goldens do not reach, against pycocotools 2.0.11
 * (fixtures/edge_cases.json, made by fixtures/make_edge_fixture.py): GT id 0, multi-part
 * polygons with a short part, box-only results under segm, params.imgIds subsets, a category
 * without GT, score ties across images, non-default maxDets (stat 0 then is -1, as pycocotools'
 * literal maxDets=100), a crowd RLE absorbing detections. Also bad ground truth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertClose, REPO_ROOT } from '../../helpers.js';
import {
  CocoFormatError,
  CocoGroundTruth,
  type ImageId,
} from '../../../src/evaluation/coco/dataset.js';
import { CocoEval } from '../../../src/evaluation/coco/cocoeval.js';

const fx = JSON.parse(
  readFileSync(`${REPO_ROOT}/test/evaluation/coco/fixtures/edge_cases.json`, 'utf8'),
) as {
  gt: unknown;
  dt: unknown[];
  cases: {
    iouType: 'bbox' | 'segm';
    imgIds: ImageId[] | null;
    maxDets: number[];
    stats: number[];
    recall: number[];
  }[];
};

for (const c of fx.cases) {
  test(`edge cases ${c.iouType} imgIds=${JSON.stringify(c.imgIds)} maxDets=${c.maxDets}`, () => {
    const gt = new CocoGroundTruth(structuredClone(fx.gt), 'edge gt');
    const dt = gt.loadResults(structuredClone(fx.dt), 'edge dt');
    const ev = new CocoEval(gt, dt, c.iouType, {
      maxDets: c.maxDets,
      ...(c.imgIds ? { imgIds: c.imgIds } : {}),
    });
    const stats = ev.run();
    assertClose(stats, c.stats, { rtol: 0, atol: 1e-12, msg: 'stats' });
    assertClose(ev.recall, c.recall, { rtol: 0, atol: 1e-12, msg: 'recall' });
  });
}

test('bad ground truth is rejected with the entry named', () => {
  const base = () =>
    structuredClone(fx.gt) as {
      images: Record<string, unknown>[];
      annotations: Record<string, unknown>[];
    };
  const g1 = base();
  g1.annotations[1].id = 0;
  assert.throws(() => new CocoGroundTruth(g1, 'gt.json'), /gt.json: annotation id 0 appears twice/);
  const g2 = base();
  g2.annotations[0].image_id = 99;
  assert.throws(
    () => new CocoGroundTruth(g2, 'gt.json'),
    /annotation id 0: image_id 99 is not in images/,
  );
  const g3 = base();
  delete g3.annotations[2].area;
  assert.throws(
    () => new CocoGroundTruth(g3, 'gt.json'),
    /annotation id 5: 'area' must be a number/,
  );
  const g4 = base();
  delete g4.images[0].height;
  assert.throws(() => new CocoGroundTruth(g4, 'gt.json'), CocoFormatError);
  assert.throws(() => new CocoGroundTruth([], 'gt.json'), /expected a JSON object/);
  const gt = new CocoGroundTruth(base(), 'gt');
  assert.throws(
    () => new CocoEval(gt, gt.loadResults([], 'r'), 'bbox', { imgIds: [12345] }),
    /image id 12345 is not in the ground truth/,
  );
  // A result without bbox in the segm branch needs a segmentation; box-branch entries need boxes.
  assert.throws(
    () =>
      gt.loadResults(
        [
          { image_id: 7, category_id: 1, bbox: [0, 0, 1, 1], score: 1 },
          { image_id: 7, category_id: 1, score: 1 },
        ],
        'r.json',
      ),
    /r.json\[1\]: 'bbox' must be 4 numbers/,
  );
});
