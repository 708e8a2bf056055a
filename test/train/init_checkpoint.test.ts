/**
 * init_checkpoint (Model Garden's Task.initialize): a run fine-tunes ResNet-RS from Model Garden's
 * resnet_rs TF checkpoint to another number of classes. At step 0 every backbone weight equals the
 * checkpoint's value and the 8-class head keeps its initial values (with a note); two steps then
 * train. A resumed run does not re-initialise; our own `.vgckpt` works as a source; a missing path
 * is one clear error. (wasm backend: the cpu backend's convolution gradients take a minute here.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/tasks/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import { openTensorBundle } from '../../src/interop/tf/bundle_reader.js';
import { tfCheckpointSource } from '../../src/interop/checkpoint_source.js';
import { mapWeights } from '../../src/interop/weight_map.js';
import type { Layer } from '../../src/core/layer.js';
import { buildTrainer, resolveExperiment } from '../../src/train/run_experiment.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

await initBackend('wasm');

const CKPT = sharedData('model-garden-reference', 'resnet_rs', 'ckpt');

function finetune(modelDir: string, init: string, modules = 'all') {
  const resolved = resolveExperiment({
    experiment: 'resnet_rs_imagenet',
    configFiles: [
      join(REPO_ROOT, 'configs/experiments/image_classification/imagenet_resnetrs50_i160.yaml'),
      join(REPO_ROOT, 'test/fixtures/model_garden_reference/resnet_rs.yaml'),
    ],
    paramsOverrides: [
      [
        'task.model.num_classes=8',
        'task.model.input_size=[32,32,3]',
        'task.train_data.tfds_name=vg_shapes',
        'task.train_data.tfds_split=train/16',
        'task.train_data.aug_type=null',
        'task.train_data.global_batch_size=4',
        'task.validation_data.tfds_name=vg_shapes',
        'task.validation_data.tfds_split=test/8',
        'task.validation_data.global_batch_size=4',
        'trainer.train_steps=2',
        'trainer.checkpoint_interval=2',
        'trainer.summary_interval=2',
        'trainer.optimizer_config.warmup.type=null',
        `task.init_checkpoint=${init}`,
        `task.init_checkpoint_modules=${modules}`,
      ].join(','),
    ],
  });
  const messages: string[] = [];
  let atStart: Map<string, Float32Array> | null = null;
  const { trainer } = buildTrainer(
    resolved,
    modelDir,
    {
      onMessage: (m) => messages.push(m),
      onTrainStart: () => {
        atStart = new Map(
          (trainer.model as unknown as Layer<unknown, unknown>)
            .weights()
            .map((w) => [w.path, w.variable.dataSync() as Float32Array]),
        );
      },
    },
    'wasm',
  );
  const model = trainer.model as unknown as Layer<unknown, unknown>;
  return { trainer, model, messages, atStart: () => atStart };
}

test('init_checkpoint fine-tunes from a TF checkpoint with another num_classes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-init-'));
  try {
    const run = finetune(join(dir, 'a'), CKPT);
    const initial = new Map(
      run.model.weights().map((w) => [w.path, w.variable.dataSync().slice()]),
    );
    await run.trainer.train(false);
    const start = run.atStart()!;
    // The checkpoint's values, key by key (the mapping's keys, values read straight from the bundle).
    const source = tfCheckpointSource(CKPT);
    const bundle = openTensorBundle(CKPT);
    try {
      const map = mapWeights(run.model, source.root.children.get('model')!, source.variables);
      let backbone = 0;
      for (const m of map.matched) {
        if (!m.weight.path.includes('/res_net/')) continue;
        assert.deepEqual(start.get(m.weight.path), bundle.read(m.key).values, m.weight.path);
        backbone++;
      }
      assert.equal(backbone, 344);
      for (const w of run.model.weights().filter((x) => x.path.includes('/dense/'))) {
        assert.deepEqual(start.get(w.path), initial.get(w.path), `${w.path} keeps its init`);
        // ...and training moved it.
        assert.notDeepEqual(w.variable.dataSync(), initial.get(w.path), `${w.path} trained`);
      }
    } finally {
      bundle.close();
      source.close();
    }
    assert.equal(run.trainer.step, 2);
    assert.match(run.messages.join('\n'), /classifier head not restored \(num_classes differs/);
    assert.match(run.messages.join('\n'), /initialized 344 weights \(all\) from .*ckpt/);
    await run.trainer.close();
    run.trainer.dispose();

    // Our own checkpoint as init (the run directory above), backbone only; and resuming that run
    // does not initialise again.
    const ours = finetune(join(dir, 'b'), join(dir, 'a'), 'backbone');
    await ours.trainer.train(false);
    assert.match(
      ours.messages.join('\n'),
      /initialized 344 weights \(backbone\) from .*ckpt-2\.vgckpt/,
    );
    await ours.trainer.close();
    ours.trainer.dispose();
    const resumed = finetune(join(dir, 'b'), join(dir, 'a'), 'backbone');
    await resumed.trainer.train(false);
    assert.ok(
      !resumed.messages.some((m) => m.startsWith('initialized')),
      resumed.messages.join('\n'),
    );
    await resumed.trainer.close();
    resumed.trainer.dispose();

    const missing = finetune(join(dir, 'c'), join(dir, 'no_such_ckpt'));
    await assert.rejects(missing.trainer.train(false), /checkpoint .*no_such_ckpt not found/);
    await missing.trainer.close();
    missing.trainer.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('init_checkpoint_modules takes all, backbone or a list of them; others are one error', () => {
  const spec = (modules: string) =>
    resolveExperiment({
      experiment: 'resnet_rs_imagenet',
      paramsOverrides: [`task.init_checkpoint=${CKPT}`, `task.init_checkpoint_modules=${modules}`],
    });
  const make = (modules: string) => {
    const r = spec(modules);
    return r.taskEntry.create(r.config.task) as { initCheckpoint(): unknown };
  };
  assert.deepEqual(make('[backbone]').initCheckpoint(), {
    path: CKPT,
    modules: ['backbone'],
    classDependent: ['_logits'],
  });
  assert.deepEqual((make('all').initCheckpoint() as { modules: string[] }).modules, ['all']);
  assert.throws(
    () => make('decoder').initCheckpoint(),
    /task\.init_checkpoint_modules: 'decoder' is not a module of a classification model/,
  );
});
