/**
 * Errors that used to say the wrong thing, on real files: file-system failures name the file
 * and the real cause; a YAML alias bomb names the file and key; a non-YAML override file is not
 * echoed; a 1e999 score is Infinity; a checkpoint header with a negative or fractional step is
 * rejected at load; `evaluate` does not create model_dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import '../../src/tasks/index.js';
import { ConfigError } from '../../src/core/config/errors.js';
import { fileError } from '../../src/core/fs_errors.js';
import { cocoToTfRecord } from '../../src/data/converters/coco.js';
import { registerEvaluateCoco } from '../../src/cli/evaluate_coco.js';
import { writeCheckpointFile } from '../../src/train/checkpoint_format.js';
import { resolveExperiment, runExperiment } from '../../src/train/run_experiment.js';
import { REPO_ROOT } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-errors-'));

test('model_dir that is a file, or under a file: the path and the real cause', async () => {
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, 'x');
  for (const [modelDir, cause] of [
    [file, /cannot create model_dir '.*not-a-dir': a file of that name already exists \(EEXIST\)/],
    [
      join(file, 'sub'),
      /not-a-dir\/sub': a part of the path is a file, not a directory \(ENOTDIR\)/,
    ],
  ] as const) {
    await assert.rejects(
      runExperiment({ mode: 'train', experiment: 'compact_resnet_shapes', modelDir }),
      cause,
    );
  }
});

test('a converter output folder that is a file: the folder and the cause', async () => {
  const file = join(dir, 'out-file');
  writeFileSync(file, 'x');
  const annotations = join(dir, 'empty.json');
  writeFileSync(annotations, '{"images": [], "annotations": [], "categories": []}');
  await assert.rejects(
    cocoToTfRecord({
      annotationsPath: annotations,
      imagesDir: dir,
      outputPrefix: join(file, 'coco'),
    }),
    /cannot create the output folder '.*out-file': a file of that name already exists \(EEXIST\)/,
  );
});

test('ENOSPC (a real one, from /dev/full) reads as the file and "no space left"', () => {
  let err: unknown;
  try {
    writeFileSync('/dev/full', 'x');
  } catch (e) {
    err = e;
  }
  assert.ok(err, '/dev/full accepts no writes');
  assert.equal(
    fileError(err, 'write', '/dev/full').message,
    "cannot write '/dev/full': no space left on the device (ENOSPC)",
  );
});

test('evaluate on a missing model_dir says so and does not create it', async () => {
  const modelDir = join(dir, 'never-trained');
  await assert.rejects(
    runExperiment({ mode: 'eval', experiment: 'compact_resnet_shapes', modelDir, backend: 'cpu' }),
    /model_dir '.*never-trained' does not exist: nothing to evaluate/,
  );
  assert.equal(existsSync(modelDir), false);
});

test('a YAML alias bomb names the file and the key', () => {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  lines.push('task: {name: *a8}');
  const bomb = join(dir, 'bomb.yaml');
  writeFileSync(bomb, lines.join('\n'));
  assert.throws(
    () => resolveExperiment({ experiment: 'compact_resnet_shapes', configFiles: [bomb] }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /bomb\.yaml: YAML aliases expand too much .* at key 'a1'/);
      return true;
    },
  );
});

test('--params_override with a file that is not YAML does not echo its contents', () => {
  const binary = join(dir, 'weights.bin');
  const secret = 'SECRET-TOKEN-0123456789';
  writeFileSync(binary, `\u0000\u0001${secret}\u0002 not yaml at all`);
  assert.throws(
    () => resolveExperiment({ experiment: 'compact_resnet_shapes', paramsOverrides: [binary] }),
    (err: Error) => {
      assert.match(
        err.message,
        /weights\.bin: the top level must be a mapping .*got a string of \d+ characters/,
      );
      assert.ok(!err.message.includes(secret), err.message);
      return true;
    },
  );
});

test('a 1e999 score is Infinity (ranked first), not null', async () => {
  const fixtures = join(REPO_ROOT, 'test', 'evaluation', 'coco', 'fixtures');
  const gt = (JSON.parse(readFileSync(join(fixtures, 'edge_cases.json'), 'utf8')) as { gt: object })
    .gt;
  const gtPath = join(dir, 'gt.json');
  writeFileSync(gtPath, JSON.stringify(gt));
  // Two detections on one GT box: the 1e999 one must rank first and take the match.
  const results = (score: string) =>
    `[{"image_id": 7, "category_id": 1, "bbox": [0, 0, 3, 3], "score": 0.9},` +
    ` {"image_id": 7, "category_id": 1, "bbox": [30, 10, 10, 20], "score": ${score}}]`;
  const stats = async (score: string): Promise<number[]> => {
    const path = join(dir, `results-${score}.json`);
    writeFileSync(path, results(score));
    const out: string[] = [];
    const program = new Command('vision-garden').exitOverride();
    registerEvaluateCoco(program, (t) => out.push(t));
    await program.parseAsync(['evaluate-coco', '--gt', gtPath, '--results', path, '--json'], {
      from: 'user',
    });
    return (JSON.parse(out.join('')) as { stats: number[] }).stats;
  };
  const huge = await stats('1e999');
  assert.deepEqual(huge, await stats('Infinity'));
  assert.deepEqual(huge, await stats('0.95'));
  assert.notDeepEqual(huge, await stats('0.5'));
});

test('a checkpoint header with a negative or fractional step is rejected at load', async () => {
  for (const step of [-3, 2.5]) {
    const modelDir = mkdtempSync(join(dir, 'ckpt-'));
    const path = join(modelDir, 'ckpt-5.vgckpt');
    await writeCheckpointFile(path, { tensors: [], meta: { step } });
    await assert.rejects(
      runExperiment({
        mode: 'eval',
        experiment: 'compact_resnet_shapes',
        modelDir,
        backend: 'cpu',
      }),
      new RegExp(`ckpt-5\\.vgckpt: header step must be a non-negative integer, got ${step}`),
    );
  }
});
