/**
 * Package and CLI hygiene (issue 24, item 6): `--version`, `experiments --json`, `config --json`,
 * Model Garden's train.py `--mode` flag, the one-line refusal of `gs://` paths and Model Garden's
 * string-valued `include_in_weight_decay`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import '../../src/tasks/index.js';
import { translateModeFlag } from '../../src/cli/main.js';
import { resolveFilePattern } from '../../src/data/tfrecord/file_patterns.js';
import { openCheckpointSource } from '../../src/train/open_checkpoint.js';
import { disposeRun, resolveExperiment, runExperiment } from '../../src/train/run_experiment.js';
import { readEventFile } from '../../src/train/summary.js';
import { REPO_ROOT } from '../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'vision-garden.js');

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, CI: 'true' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('--version prints the version of package.json', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const r = cli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('experiments --json lists the same experiments as the table', () => {
  const table = cli(['experiments']);
  const json = cli(['experiments', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const list = JSON.parse(json.stdout) as { name: string; task: string; description: string }[];
  const rows = table.stdout.trim().split('\n').slice(1);
  assert.equal(list.length, rows.length);
  for (const [i, row] of rows.entries()) {
    assert.match(row, new RegExp(`^${list[i].name}\\s+${list[i].task}\\s+`));
  }
  assert.equal(list.find((e) => e.name === 'retinanet_resnetfpn_coco')?.task, 'retinanet');
  assert.equal(list.find((e) => e.name === 'compact_resnet_shapes')?.task, 'image_classification');
});

test('config --json is the same resolved config as the YAML', () => {
  const args = ['config', '--experiment', 'compact_resnet_shapes', '--params_override'];
  const yaml = cli([...args, 'trainer.train_steps=7']);
  const json = cli([...args, 'trainer.train_steps=7', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const fromJson = JSON.parse(json.stdout) as { trainer: { train_steps: number } };
  assert.equal(fromJson.trainer.train_steps, 7);
  assert.deepEqual(fromJson, parse(yaml.stdout));
});

test("Model Garden's --mode flag becomes the mode's command", () => {
  const rest = ['--experiment=x', '--model_dir', 'd'];
  assert.deepEqual(translateModeFlag(['--mode=train', ...rest]), ['train', ...rest]);
  assert.deepEqual(translateModeFlag(['--mode', 'eval', ...rest]), ['evaluate', ...rest]);
  assert.deepEqual(translateModeFlag([...rest, '--mode=train_and_eval']), [
    'train_and_eval',
    ...rest,
  ]);
  assert.deepEqual(translateModeFlag(['--mode=continuous_eval']), ['continuous_eval']);
  assert.deepEqual(translateModeFlag(['train', ...rest]), ['train', ...rest]);
  assert.throws(() => translateModeFlag(['--mode=predict']), /--mode: unknown mode 'predict'/);
  // Through the CLI: eval mode reaches `evaluate`, which refuses a missing model_dir.
  const missing = join(mkdtempSync(join(tmpdir(), 'vg-mode-')), 'nothing');
  const r = cli(['--mode=eval', '--experiment=compact_resnet_shapes', `--model_dir=${missing}`]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    `vision-garden: model_dir '${missing}' does not exist: nothing to evaluate`,
  );
});

test('gs:// paths are refused in one line that says how to copy them locally', async () => {
  const expected = (what: string, path: string) =>
    `${what}: '${path}' is a Google Cloud Storage path and vision-garden reads local files only; ` +
    `copy it first (gcloud storage cp -r '${path}' ./data/) and give the local path instead`;
  await assert.rejects(resolveFilePattern('gs://bucket/coco/train-*'), {
    message: expected('input_path', 'gs://bucket/coco/train-*'),
  });
  await assert.rejects(openCheckpointSource('gs://cloud-tpu-checkpoints/r50/ckpt-1'), {
    message: expected('checkpoint', 'gs://cloud-tpu-checkpoints/r50/ckpt-1'),
  });
  const r = cli(['train', '--experiment', 'compact_resnet_shapes', '--model_dir', 'gs://b/run']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `vision-garden: ${expected('model_dir', 'gs://b/run')}`);
  const c = cli([
    'config',
    '--experiment',
    'compact_resnet_shapes',
    '--config_file',
    'gs://b/x.yaml',
  ]);
  assert.equal(c.stderr.trim(), `vision-garden: ${expected('config file', 'gs://b/x.yaml')}`);
});

test("include_in_weight_decay as Model Garden's bare string is kept as written", () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-adamw-'));
  const file = join(dir, 'adamw.yaml');
  // The form of Model Garden's imagenet_vit*_tpu.yaml files.
  writeFileSync(
    file,
    'trainer:\n  optimizer_config:\n    optimizer:\n      type: adamw\n      adamw:\n' +
      "        include_in_weight_decay: '.*(kernel|weight):0$'\n",
  );
  const r = resolveExperiment({ experiment: 'deit_imagenet_pretrain', configFiles: [file] });
  const adamw = r.config.trainer.optimizer_config.optimizer.adamw as {
    include_in_weight_decay: string | string[] | null;
  };
  // As Model Garden's config stores it (what the optimizer does with it: adamw.test.ts).
  assert.equal(adamw.include_in_weight_decay, '.*(kernel|weight):0$');
  assert.throws(
    () =>
      resolveExperiment({
        experiment: 'deit_imagenet_pretrain',
        paramsOverrides: ['trainer.optimizer_config.optimizer.adamw.include_in_weight_decay=3'],
      }),
    /include_in_weight_decay/,
  );
});

test('the resolved config is the text summary `config` at step 0, as params.yaml holds it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-config-summary-'));
  const run = await runExperiment({
    mode: 'train',
    experiment: 'compact_resnet_shapes',
    modelDir: dir,
    backend: 'wasm',
    paramsOverrides: [
      'task.train_data.tfds_split=train/64,task.train_data.global_batch_size=8,' +
        'trainer.train_steps=1,trainer.steps_per_loop=1,trainer.checkpoint_interval=1',
    ],
  });
  disposeRun(run);
  const trainDir = join(dir, 'train');
  const file = readdirSync(trainDir).find((f) => f.startsWith('events.out.tfevents'))!;
  const events = await readEventFile(join(trainDir, file));
  const texts = events.filter((e) => e.summary?.value.some((v) => v.tag === 'config'));
  assert.equal(texts.length, 1);
  assert.equal(texts[0].step, 0);
  const value = texts[0].summary!.value.find((v) => v.tag === 'config')!;
  assert.equal(value.metadata?.pluginData?.pluginName, 'text');
  const body = new TextDecoder().decode(value.tensor!.stringVal![0]);
  const yaml = body.replace(/^ {4}/gm, '');
  assert.deepEqual(parse(yaml), parse(readFileSync(join(dir, 'params.yaml'), 'utf8')));
});
