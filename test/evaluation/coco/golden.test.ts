/**
 * COCOeval against the pycocotools 2.0.11 goldens in ../shared/data/coco-eval-golden: all 12
 * statistics, both per-category AP tables and the printed summary, for every case and iouType.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sharedData } from '../../helpers.js';
import { CocoGroundTruth } from '../../../src/evaluation/coco/dataset.js';
import { CocoEval } from '../../../src/evaluation/coco/cocoeval.js';
import { cocoReport } from '../../../src/evaluation/coco/summary.js';

interface Expected {
  stats: number[];
  'per_category_AP_0.50:0.95_all_100': Record<string, number>;
  'per_category_AP_0.50_all_100': Record<string, number>;
  summarize_output: string[];
}

for (const c of ['case1', 'case2']) {
  for (const iouType of ['bbox', 'segm'] as const) {
    test(`coco-eval-golden ${c} ${iouType}: stats, per-category AP and summary equal pycocotools`, () => {
      const dir = sharedData('coco-eval-golden', c);
      const gt = CocoGroundTruth.fromFile(`${dir}/gt.json`);
      const dt = gt.loadResultsFile(`${dir}/${iouType}/dt.json`);
      const ev = new CocoEval(gt, dt, iouType);
      const stats = ev.run();
      const exp = JSON.parse(readFileSync(`${dir}/${iouType}/expected.json`, 'utf8')) as Expected;
      assert.equal(stats.length, 12);
      stats.forEach((s, i) =>
        assert.ok(Math.abs(s - exp.stats[i]) <= 1e-12, `stat ${i}: ${s} vs ${exp.stats[i]}`),
      );
      const rep = cocoReport(ev);
      for (const key of [
        'per_category_AP_0.50:0.95_all_100',
        'per_category_AP_0.50_all_100',
      ] as const) {
        assert.deepEqual(Object.keys(rep[key]).sort(), Object.keys(exp[key]).sort(), key);
        for (const [cat, v] of Object.entries(exp[key])) {
          assert.ok(
            Math.abs(rep[key][cat] - v) <= 1e-12,
            `${key} cat ${cat}: ${rep[key][cat]} vs ${v}`,
          );
        }
      }
      assert.deepEqual(rep.summarize_output, exp.summarize_output);
    });
  }
}
