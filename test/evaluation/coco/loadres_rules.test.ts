/**
 * The loadRes / COCOeval rules of docs/coco_evaluation.md against pycocotools 2.0.11
 * (fixtures/loadres_cases.json and nonfinite_results*.json, made by
 * fixtures/make_loadres_fixture.py): results of categories outside the ground truth are ignored;
 * NaN / Infinity / -Infinity scores and box coordinates, written by Python's json.dump as bare
 * literals, are read and ranked as pycocotools ranks them. Also the JSON reader and writer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { assertClose, REPO_ROOT } from '../../helpers.js';
import { registerEvaluateCoco } from '../../../src/cli/evaluate_coco.js';
import { CocoGroundTruth } from '../../../src/evaluation/coco/dataset.js';
import { CocoEval } from '../../../src/evaluation/coco/cocoeval.js';
import { CocoStreamingEvaluator } from '../../../src/evaluation/coco/streaming.js';
import { parsePythonJson, stringifyPythonJson } from '../../../src/evaluation/coco/python_json.js';

const FIXTURES = join(REPO_ROOT, 'test', 'evaluation', 'coco', 'fixtures');
const gtJson = (
  JSON.parse(readFileSync(join(FIXTURES, 'edge_cases.json'), 'utf8')) as { gt: unknown }
).gt;
const fx = parsePythonJson(readFileSync(join(FIXTURES, 'loadres_cases.json'), 'utf8')) as {
  tool: string;
  dts: Record<string, unknown[]>;
  cases: {
    name: string;
    iouType: 'bbox' | 'segm';
    maxDets: number[];
    stats: number[];
    recall: number[];
    precision_sum: number;
  }[];
};

test('the fixture was made by pycocotools 2.0.11 and holds non-finite values', () => {
  assert.equal(fx.tool, 'pycocotools 2.0.11');
  const scores = fx.dts.nonfinite_scores.map((d) => (d as { score: number }).score);
  assert.ok(scores.some(Number.isNaN));
  assert.ok(scores.includes(Infinity) && scores.includes(-Infinity));
});

for (const c of fx.cases) {
  test(`${c.name} ${c.iouType} maxDets=${c.maxDets}: as pycocotools`, () => {
    const gt = new CocoGroundTruth(structuredClone(gtJson), 'gt');
    const dt = gt.loadResults(structuredClone(fx.dts[c.name]), c.name);
    const ev = new CocoEval(gt, dt, c.iouType, { maxDets: c.maxDets });
    assertClose(ev.run(), c.stats, { rtol: 0, atol: 1e-12, msg: 'stats' });
    assertClose(ev.recall, c.recall, { rtol: 0, atol: 1e-12, msg: 'recall' });
    const precisionSum = ev.precision.reduce((a, b) => a + b, 0);
    assertClose([precisionSum], [c.precision_sum], { rtol: 1e-12, atol: 1e-9, msg: 'precision' });
  });
}

test('results of unknown categories are dropped; the others keep their loadRes ids', () => {
  const gt = new CocoGroundTruth(structuredClone(gtJson), 'gt');
  const all = fx.dts.unknown_category as { category_id: number }[];
  const dt = gt.loadResults(structuredClone(all), 'r');
  const known = all.map((d, i) => [d.category_id, i + 1]).filter(([c]) => [1, 2, 5].includes(c));
  assert.deepEqual(
    Array.from(dt.id),
    known.map(([, id]) => id),
  );
  assert.equal(dt.describe(0), 'r[1]');
});

test('evaluate-coco reads a json.dump results file with NaN / Infinity literals', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-loadres-'));
  const gtPath = join(dir, 'gt.json');
  writeFileSync(gtPath, JSON.stringify(gtJson));
  const resultsPath = join(FIXTURES, 'nonfinite_results.json');
  assert.match(readFileSync(resultsPath, 'utf8'), /"score": NaN/);
  const out: string[] = [];
  const program = new Command('vision-garden').exitOverride();
  registerEvaluateCoco(program, (t) => out.push(t));
  await program.parseAsync(['evaluate-coco', '--gt', gtPath, '--results', resultsPath, '--json'], {
    from: 'user',
  });
  const expected = JSON.parse(
    readFileSync(join(FIXTURES, 'nonfinite_results_expected.json'), 'utf8'),
  ) as { tool: string; stats: number[] };
  assert.equal(expected.tool, 'pycocotools 2.0.11');
  const report = JSON.parse(out.join('')) as { stats: number[] };
  assertClose(report.stats, expected.stats, { rtol: 0, atol: 1e-12, msg: 'stats' });
});

test('Python JSON: literals outside strings only; writing gives them back', () => {
  const text =
    '{"a": NaN, "b": [Infinity, -Infinity, -1.5e3], "NaN": "NaN -Infinity", "c": "\\"NaN"}';
  const v = parsePythonJson(text) as Record<string, unknown>;
  assert.ok(Number.isNaN(v.a));
  assert.deepEqual(v.b, [Infinity, -Infinity, -1500]);
  assert.equal(v.NaN, 'NaN -Infinity');
  assert.equal(v.c, '"NaN');
  assert.equal(
    stringifyPythonJson(v),
    '{"a":NaN,"b":[Infinity,-Infinity,-1500],"NaN":"NaN -Infinity","c":"\\"NaN"}',
  );
  assert.deepEqual(parsePythonJson(stringifyPythonJson(v)), v);
  // Standard JSON is read as JSON.parse reads it, errors included.
  assert.deepEqual(parsePythonJson('[1, 1e999]'), [1, Infinity]);
  assert.throws(() => parsePythonJson('[nan]'), SyntaxError);
});

test('the streaming evaluator writes NaN / Infinity scores as Python does', () => {
  const gt = new CocoGroundTruth(structuredClone(gtJson), 'gt');
  const ev = new CocoStreamingEvaluator({ groundTruth: gt, rescaleBoxes: false });
  ev.update({
    sourceIds: [7, 7, 7],
    boxes: [5, 5, 15, 25, 5, 6, 15, 26, 11, 30, 30, 40],
    classes: [1, 1, 77],
    scores: [NaN, Infinity, 0.5],
  });
  const path = join(mkdtempSync(join(tmpdir(), 'vg-stream-json-')), 'results.json');
  ev.writeResults(path);
  const text = readFileSync(path, 'utf8');
  assert.match(text, /"score":NaN/);
  assert.match(text, /"score":Infinity/);
  const back = parsePythonJson(text) as { category_id: number; score: number }[];
  assert.deepEqual(
    back.map((r) => r.category_id),
    [1, 1],
  );
});
