/**
 * `evaluate-coco` in a small commander program: the printed summary and the JSON statistics
 * against the pycocotools goldens, COCO128 with a results file, and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { sharedData } from '../helpers.js';
import { registerEvaluateCoco } from '../../src/cli/evaluate_coco.js';

async function run(args: string[]): Promise<string> {
  let out = '';
  const program = new Command('vision-garden').exitOverride();
  registerEvaluateCoco(program, (t) => (out += t));
  await program.parseAsync(args, { from: 'user' });
  return out;
}

const golden = (c: string, t: string) => sharedData('coco-eval-golden', c, t);

test('prints the pycocotools summary lines (case1 segm)', async () => {
  const out = await run([
    'evaluate-coco',
    '--gt',
    golden('case1', 'gt.json'),
    '--results',
    golden('case1', 'segm/dt.json'),
    '--iou_type',
    'segm',
  ]);
  const exp = JSON.parse(readFileSync(golden('case1', 'segm/expected.json'), 'utf8'));
  assert.deepEqual(out.trimEnd().split('\n'), exp.summarize_output);
});

test('--json gives the golden keys and statistics (case2 bbox), --per_category a table', async () => {
  const rep = JSON.parse(
    await run([
      'evaluate-coco',
      '--gt',
      golden('case2', 'gt.json'),
      '--results',
      golden('case2', 'bbox/dt.json'),
      '--json',
    ]),
  );
  const exp = JSON.parse(readFileSync(golden('case2', 'bbox/expected.json'), 'utf8'));
  assert.deepEqual(rep.stats_names, exp.stats_names);
  rep.stats.forEach((s: number, i: number) => assert.ok(Math.abs(s - exp.stats[i]) <= 1e-12));
  assert.deepEqual(Object.keys(rep['per_category_AP_0.50_all_100']).length, 80);
  const text = await run([
    'evaluate-coco',
    '--gt',
    golden('case2', 'gt.json'),
    '--results',
    golden('case2', 'bbox/dt.json'),
    '--per_category',
  ]);
  assert.match(text, /^\s+1 {2}person\s+0\.\d{3}/m);
});

test('works on COCO128 with a results file: perfect detections give AP = 1', async () => {
  // Detections = the non-crowd ground truth itself (score 1): every GT matched at IoU 1.
  const gtPath = sharedData('coco128', 'annotations', 'instances_train2017.json');
  const gt = JSON.parse(readFileSync(gtPath, 'utf8')) as {
    annotations: { image_id: number; category_id: number; bbox: number[]; iscrowd: number }[];
  };
  const results = gt.annotations
    .filter((a) => !a.iscrowd)
    .map((a) => ({ image_id: a.image_id, category_id: a.category_id, bbox: a.bbox, score: 1 }));
  const dir = mkdtempSync(join(tmpdir(), 'vg-evalcoco-'));
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results));
  const rep = JSON.parse(
    await run(['evaluate-coco', '--gt', gtPath, '--results', join(dir, 'results.json'), '--json']),
  );
  assert.equal(rep.stats[0], 1);
  assert.equal(rep.stats[1], 1);
  assert.equal(rep.stats[8], 1);
});

test('bad input: unknown image id, missing or null score name the entry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-evalcoco-bad-'));
  const gtPath = golden('case1', 'gt.json');
  const cases: [unknown[], RegExp][] = [
    [
      [{ image_id: 99, category_id: 1, bbox: [0, 0, 1, 1], score: 0.5 }],
      /\[0\]: image_id 99 is not in the ground truth/,
    ],
    [
      [{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }],
      /\[0\]: 'score' must be a number, got nothing/,
    ],
    [
      [{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], score: null }],
      /\[0\]: 'score' must be a number, got null/,
    ],
    [
      [
        {
          image_id: 1,
          category_id: 1,
          segmentation: { size: [480, 640], counts: '\u007f' },
          score: 0.5,
        },
      ],
      /\[0\]: .*invalid character/,
    ],
  ];
  for (const [i, [results, re]] of cases.entries()) {
    const p = join(dir, `r${i}.json`);
    writeFileSync(p, JSON.stringify(results));
    await assert.rejects(run(['evaluate-coco', '--gt', gtPath, '--results', p]), (err: Error) => {
      assert.match(err.message, re);
      assert.ok(err.message.includes(p), 'names the file');
      return true;
    });
  }
});
