/**
 * `createModel` with a TensorFlow checkpoint: Model Garden's ResNet-RS reference case
 * (../shared/data/model-garden-reference/resnet_rs: its config, TF checkpoint, input and logits)
 * built through the library reproduces MG's logits as probabilities, eagerly and compiled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { createModel, createModelConfig } from '../../src/index.js';
import { tasks } from '../../src/core/registry.js';
import type { AnyTask } from '../../src/core/task.js';
import { initBackend } from '../../src/core/backend/index.js';
import { readNpy, readNpz } from '../../src/interop/numpy.js';
import { REPO_ROOT, sharedData } from '../helpers.js';

await initBackend('cpu');

const MG = (...p: string[]) => sharedData('model-garden-reference', 'resnet_rs', ...p);

test("createModel loads a TF checkpoint: Model Garden's ResNet-RS logits, as probabilities", async () => {
  const input = readNpy(MG('input.npy'));
  const logits = readNpz(MG('outputs.npz')).get('logits')!;
  const want = tf.tidy(() =>
    tf.softmax(tf.tensor2d(logits.data as Float32Array, logits.shape as [number, number])),
  );
  const expected = await want.data();
  want.dispose();
  for (const compiled of [false, true]) {
    const vm = await createModel(
      {
        experiment: 'resnet_rs_imagenet',
        configFiles: [
          `${REPO_ROOT}/configs/experiments/image_classification/imagenet_resnetrs50_i160.yaml`,
          `${REPO_ROOT}/test/fixtures/model_garden_reference/resnet_rs.yaml`,
        ],
      },
      { checkpoint: MG('ckpt'), compiled, fallback: 'error' },
    );
    assert.equal(vm.info.weightsSource.includes('resnet_rs'), true, vm.info.weightsSource);
    const image = tf.tensor4d(
      input.data as Float32Array,
      input.shape as [number, number, number, number],
    );
    const shape = tf.tensor2d([[64, 64]], [1, 2]);
    const out = await vm.run({ image, image_shape: shape });
    const got = await out.probabilities.data();
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) {
      assert.ok(
        Math.abs(got[i] - expected[i]) <= 1e-5,
        `compiled ${compiled} [${i}]: ${got[i]} vs ${expected[i]}`,
      );
    }
    tf.dispose([image, shape, ...Object.values(out)]);
    await vm.dispose();
  }
});

test("a COCO RetinaNet names its classes by COCO category id (coco128's categories)", () => {
  const annotations = JSON.parse(
    readFileSync(sharedData('coco128', 'annotations', 'instances_train2017.json'), 'utf8'),
  ) as { categories: { id: number; name: string }[] };
  const config = createModelConfig('retinanet_resnetfpn_coco');
  assert.equal((config.task.model as { num_classes: number }).num_classes, 91);
  const task = tasks.get('retinanet').create(config.task) as AnyTask;
  const { labels, labelSource } = task.inference!();
  assert.equal(labelSource, 'COCO category names');
  const named = labels!.flatMap((name, id) => (name === null ? [] : [{ id, name }]));
  assert.deepEqual(
    named,
    [...annotations.categories].sort((a, b) => a.id - b.id).map(({ id, name }) => ({ id, name })),
  );
});
