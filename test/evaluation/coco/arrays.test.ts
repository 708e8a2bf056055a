/**
 * Full recall and (area all, maxDets 100) precision / score arrays against pycocotools 2.0.11
 * (fixtures/case1_arrays.json, made by fixtures/make_arrays_fixture.py), plus the numpy
 * numerics the evaluator relies on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertClose, REPO_ROOT, sharedData } from '../../helpers.js';
import { CocoGroundTruth } from '../../../src/evaluation/coco/dataset.js';
import { CocoEval, pairwiseSum } from '../../../src/evaluation/coco/cocoeval.js';
import { defaultParams, linspace } from '../../../src/evaluation/coco/params.js';

const fixture = JSON.parse(
  readFileSync(`${REPO_ROOT}/test/evaluation/coco/fixtures/case1_arrays.json`, 'utf8'),
) as Record<string, Record<string, number[]>>;

for (const iouType of ['bbox', 'segm'] as const) {
  test(`case1 ${iouType}: recall [T,K,A,M] and precision/scores [T,R,K] equal pycocotools`, () => {
    const dir = sharedData('coco-eval-golden', 'case1');
    const gt = CocoGroundTruth.fromFile(`${dir}/gt.json`);
    const ev = new CocoEval(gt, gt.loadResultsFile(`${dir}/${iouType}/dt.json`), iouType);
    ev.evaluate();
    ev.accumulate();
    const { T, R, K, A, M } = ev;
    assertClose(ev.recall, fixture[iouType].recall_TKAM, { rtol: 0, atol: 1e-12, msg: 'recall' });
    const prec: number[] = [];
    const sc: number[] = [];
    for (let t = 0; t < T; t++)
      for (let r = 0; r < R; r++)
        for (let k = 0; k < K; k++) {
          const idx = (((t * R + r) * K + k) * A + 0) * M + 2;
          prec.push(ev.precision[idx]);
          sc.push(ev.scores[idx]);
        }
    assertClose(prec, fixture[iouType].precision_TRK_all_100, {
      rtol: 0,
      atol: 1e-12,
      msg: 'precision',
    });
    assertClose(sc, fixture[iouType].scores_TRK_all_100, { rtol: 0, atol: 1e-12, msg: 'scores' });
  });
}

test('linspace thresholds are the exact doubles numpy produces', () => {
  const p = defaultParams('bbox');
  // float.hex() of np.linspace(.5, .95, 10) printed by numpy 2.4.
  const hex = [
    '0x1.0000000000000p-1',
    '0x1.199999999999ap-1',
    '0x1.3333333333333p-1',
    '0x1.4cccccccccccdp-1',
    '0x1.6666666666666p-1',
    '0x1.8000000000000p-1',
    '0x1.999999999999ap-1',
    '0x1.b333333333333p-1',
    '0x1.cccccccccccccp-1',
    '0x1.e666666666666p-1',
  ];
  const fromHex = (h: string) => {
    const m = /^0x1\.([0-9a-f]{13})p(-?\d+)$/.exec(h)!;
    return (1 + parseInt(m[1], 16) / 2 ** 52) * 2 ** Number(m[2]);
  };
  assert.deepEqual(Array.from(p.iouThrs), hex.map(fromHex));
  // np.linspace(0, 1, 101)[i] = i * 0.01 (not i / 100: they differ for 10 of the 101 values).
  assert.deepEqual(
    Array.from(p.recThrs.subarray(0, 100)),
    Array.from({ length: 100 }, (_, i) => i * 0.01),
  );
  assert.equal(p.recThrs[100], 1);
  assert.deepEqual(Array.from(linspace(0, 1, 3)), [0, 0.5, 1]);
});

test('pairwiseSum follows numpy blocking (8 accumulators, halves above 128)', () => {
  // A reference written from numpy's loops_utils pairwise_sum description.
  const ref = (a: number[]): number => {
    if (a.length < 8) return a.reduce((s, x) => s + x, 0);
    if (a.length <= 128) {
      const r = a.slice(0, 8);
      let i = 8;
      for (; i + 8 <= a.length; i += 8) for (let j = 0; j < 8; j++) r[j] += a[i + j];
      let s = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
      for (; i < a.length; i++) s += a[i];
      return s;
    }
    let n2 = Math.floor(a.length / 2);
    n2 -= n2 % 8;
    return ref(a.slice(0, n2)) + ref(a.slice(n2));
  };
  const vals = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 7) - 3));
  for (const n of [1, 7, 8, 9, 17, 128, 129, 300, 1000]) {
    assert.equal(pairwiseSum(vals.slice(0, n)), ref(vals.slice(0, n)), `n=${n}`);
  }
  // Naive left-to-right summation differs here, so the blocking is what is being tested.
  const naive = vals.reduce((s, x) => s + x, 0);
  assert.notEqual(pairwiseSum(vals), naive);
});
