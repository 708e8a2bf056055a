/**
 * convert-checkpoint round trip on Model Garden's own checkpoints: TF → ours (`--from tf`) →
 * TF (`--to tf`). The TF checkpoint written back must list exactly the variables Model Garden's
 * checkpoint lists (`variables.json`: names, shapes, dtypes — i.e. Model Garden's object paths),
 * and every value must be bit-identical to the original's; both are read with the TensorBundle
 * reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/tasks/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import { Command } from 'commander';
import { convertCheckpoint, registerConvertCheckpoint } from '../../src/cli/convert_checkpoint.js';
import { openTensorBundle } from '../../src/interop/tf/bundle_reader.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

await initBackend('cpu');

const CASES = [
  ['resnet_rs', 'resnet_rs_imagenet', 'imagenet_resnetrs50_i160.yaml'],
  ['vit', 'deit_imagenet_pretrain', 'imagenet_vitti16_i224_tpu.yaml'],
] as const;

for (const [name, experiment, yaml] of CASES) {
  test(`convert-checkpoint: ${name} TF → ours → TF gives Model Garden's checkpoint back`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `vg-convert-${name}-`));
    const spec = {
      experiment,
      configFiles: [
        join(REPO_ROOT, 'configs/experiments/image_classification', yaml),
        join(REPO_ROOT, 'test/fixtures/model_garden_reference', `${name}.yaml`),
      ],
    };
    const original = sharedData('model-garden-reference', name, 'ckpt');
    try {
      const ours = await convertCheckpoint({
        ...spec,
        to: 'vg',
        checkpoint: original,
        out: join(dir, 'vg'),
      });
      assert.match(ours, /ckpt-0\.vgckpt$/);
      const prefix = await convertCheckpoint({
        ...spec,
        to: 'tf',
        checkpoint: join(dir, 'vg'),
        out: join(dir, 'tf'),
      });
      const recorded = JSON.parse(
        readFileSync(sharedData('model-garden-reference', name, 'variables.json'), 'utf8'),
      ) as { name: string; shape: number[]; dtype: string }[];
      const a = openTensorBundle(prefix);
      const b = openTensorBundle(original);
      try {
        assert.deepEqual(
          a.variables().map((v) => [v.name, v.shape, v.dtype]),
          recorded.map((v) => [v.name, v.shape, v.dtype]),
        );
        for (const v of recorded) {
          if (v.name === '_CHECKPOINTABLE_OBJECT_GRAPH') continue;
          assert.deepEqual(a.read(v.name).values, b.read(v.name).values, v.name);
        }
      } finally {
        a.close();
        b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('convert-checkpoint refuses a checkpoint of another model, naming the problems', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-convert-bad-'));
  try {
    await assert.rejects(
      convertCheckpoint({
        experiment: 'resnet_rs_imagenet',
        configFiles: [
          join(REPO_ROOT, 'configs/experiments/image_classification/imagenet_resnetrs50_i160.yaml'),
          join(REPO_ROOT, 'test/fixtures/model_garden_reference/resnet_rs.yaml'),
        ],
        paramsOverrides: ['task.model.num_classes=5'],
        to: 'vg',
        checkpoint: sharedData('model-garden-reference', 'resnet_rs', 'ckpt'),
        out: join(dir, 'vg'),
      }),
      /cannot load [\s\S]* 2 shape\/dtype mismatched/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('convert-checkpoint: --from names the file’s format (tf or keras), refused before any work', async () => {
  const run = (...args: string[]) => {
    const program = new Command().exitOverride();
    registerConvertCheckpoint(program);
    return program.parseAsync(
      [
        'convert-checkpoint',
        ...args,
        '--experiment',
        'resnet_rs_imagenet',
        '--out',
        '/nonexistent',
      ],
      { from: 'user' },
    );
  };
  await assert.rejects(
    run('m.weights.h5', '--from', 'tf'),
    /^Error: convert-checkpoint: --from tf does not fit m\.weights\.h5 \(--from keras takes a \.weights\.h5 file/,
  );
  await assert.rejects(run('ckpt-1', '--from', 'keras'), /--from keras does not fit ckpt-1 /);
  await assert.rejects(
    run('m.weights.h5', '--to', 'keras'),
    /convert-checkpoint: --to 'keras' is not supported \(only 'tf'\)/,
  );
  await assert.rejects(
    run('ckpt-1', '--from', 'onnx'),
    /--from 'onnx' is not supported \(only 'tf' or 'keras'\)/,
  );
});
