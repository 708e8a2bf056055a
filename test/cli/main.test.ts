/**
 * The CLI as a user runs it: `bin/vision-garden.js` in a child process (needs `npm run build`,
 * which `npm test` does first).
 */
import { parse as parseYaml } from 'yaml';
import '../../src/tasks/index.js';
import { configExtensions } from '../../src/core/config/extensions.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEventFile } from '../../src/train/summary.js';
import { REPO_ROOT } from '../helpers.js';

const BIN = join(REPO_ROOT, 'bin', 'vision-garden.js');

function cli(
  args: string[],
  timeoutMs = 240_000,
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, CI: 'true' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('experiments lists the registered experiments with their task', () => {
  const r = cli(['experiments']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^compact_resnet_shapes\s+image_classification\s+\S/m);
  assert.match(r.stdout, /^compact_resnet_fashion_mnist\s+image_classification\s+\S/m);
});

test('config prints the resolved YAML, and feeding it back reproduces it', () => {
  const r = cli([
    'config',
    '--experiment',
    'compact_resnet_shapes',
    '--params_override',
    'trainer.train_steps=7',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /train_steps: 7/);
  const dir = mkdtempSync(join(tmpdir(), 'vg-cli-'));
  const file = join(dir, 'resolved.yaml');
  writeFileSync(file, r.stdout);
  const again = cli(['config', '--experiment', 'compact_resnet_shapes', '--config_file', file]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, r.stdout);
});

test('config --model_garden refuses vision-garden extensions in use, and leaves them out', () => {
  const vit = [
    'config',
    '--experiment',
    'deit_imagenet_pretrain',
    '--config_file',
    'configs/experiments/image_classification/imagenet_vitti16_i224_tpu.yaml',
  ];
  const plain = cli(vit);
  const mg = cli([...vit, '--model_garden']);
  assert.equal(mg.code, 0, mg.stderr);
  // The same YAML without our extension fields (vit.spec_from_config, spinenet.scaling), which
  // Model Garden's strict parser would reject.
  assert.match(plain.stdout, /^ {8}spec_from_config: false\n/m);
  assert.match(plain.stdout, /^ {8}scaling: null\n/m);
  // Every registered extension field (at its default here) is left out, nothing else changes.
  const extensionKeys = new Set(configExtensions().map((e) => e.key));
  const stripExtensions = (node: unknown, section: string): unknown => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (!extensionKeys.has(`${section}.${k}`)) out[k] = stripExtensions(v, k);
    }
    return out;
  };
  assert.deepEqual(parseYaml(mg.stdout), stripExtensions(parseYaml(plain.stdout), ''));
  assert.doesNotMatch(mg.stdout, /spec_from_config|block_specs/);
  const ext = cli([
    ...vit,
    '--config_file',
    'test/fixtures/model_garden_reference/vit.yaml',
    '--model_garden',
  ]);
  assert.equal(ext.code, 1);
  assert.match(
    ext.stderr,
    /task\.model\.backbone\.vit\.spec_from_config is a vision-garden extension/,
  );
});

test('a misspelt override key is one clear line with the path and the closest key, no stack', () => {
  const r = cli([
    'config',
    '--experiment',
    'compact_resnet_shapes',
    '--params_override',
    'trainer.train_stepz=3',
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /trainer\.train_stepz/);
  assert.match(r.stderr, /did you mean 'train_steps'/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace without --verbose');
});

test('an unknown experiment names the closest registered one', () => {
  const r = cli(['config', '--experiment', 'compact_resnet_shape']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /compact_resnet_shapes/);
});

test('train then evaluate a few steps from the command line; params.yaml is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-cli-train-'));
  const override =
    'trainer.train_steps=4,trainer.checkpoint_interval=2,trainer.summary_interval=2,' +
    'task.train_data.global_batch_size=8,task.validation_data.tfds_split=test/32,' +
    'task.validation_data.global_batch_size=16';
  const tr = cli([
    'train',
    '--experiment',
    'compact_resnet_shapes',
    '--model_dir',
    dir,
    '--params_override',
    override,
  ]);
  assert.equal(tr.code, 0, tr.stderr);
  assert.match(tr.stderr, /step 4\/4 loss \d/);
  assert.ok(existsSync(join(dir, 'params.yaml')));
  assert.ok(readdirSync(dir).includes('ckpt-4.vgckpt'));
  const eventFile = readdirSync(join(dir, 'train')).find((f) =>
    f.startsWith('events.out.tfevents.'),
  );
  assert.ok(eventFile, 'train/ has a TensorBoard event file');
  const values = (await readEventFile(join(dir, 'train', eventFile))).flatMap(
    (e) => e.summary?.value ?? [],
  );
  const image = values.find((v) => v.tag === 'input_image/0')?.image;
  assert.ok(image, 'allow_image_summary writes input images');
  assert.deepEqual([image.height, image.width], [32, 32]);
  assert.ok(values.some((v) => v.tag === 'total_loss'));
  const ev = cli([
    'evaluate',
    '--experiment',
    'compact_resnet_shapes',
    '--model_dir',
    dir,
    '--params_override',
    override,
  ]);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /final eval @ step 4: .*accuracy=/);
  // The written params.yaml is a complete config: training resumes from it alone.
  const again = cli([
    'train',
    '--experiment',
    'compact_resnet_shapes',
    '--model_dir',
    dir,
    '--config_file',
    join(dir, 'params.yaml'),
    '--params_override',
    'trainer.train_steps=6',
  ]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /training steps 4→6, resumed from .*ckpt-4\.vgckpt/);
});

test('a backend that is not installed gives a clear message', () => {
  const r = cli([
    'train',
    '--experiment',
    'compact_resnet_shapes',
    '--model_dir',
    join(tmpdir(), 'vg-x'),
    '--backend',
    'tensorflow',
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /@tensorflow\/tfjs-node/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
