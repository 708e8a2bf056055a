import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { CompactResNet } from '../../../src/modeling/backbones/compact_resnet.js';
import { ClassificationModel } from '../../../src/modeling/models/classification_model.js';

await initBackend('cpu');

test('compact ResNet xs: endpoints per level and a hand-counted parameter total', () => {
  const backbone = new CompactResNet({ modelId: 'xs' });
  const model = new ClassificationModel({ backbone, numClasses: 8 });
  const endpoints = tf.tidy(() => {
    const e = backbone.apply(tf.zeros([2, 32, 32, 3]), {});
    return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v.shape]));
  });
  assert.deepEqual(endpoints, { '0': [2, 32, 32, 16], '1': [2, 16, 16, 32], '2': [2, 8, 8, 64] });
  tf.tidy(() => {
    const logits = model.apply(tf.zeros([2, 32, 32, 3]), {});
    assert.deepEqual(logits.shape, [2, 8]);
  });
  // stem: 3*3*3*16 + BN 4*16 = 496
  // group 0 (16→16, projection): 16*16+64 + 9*16*16+64 + 9*16*16+64 = 5,056
  // group 1 (16→32, s2): 16*32+128 + 9*16*32+128 + 9*32*32+128 = 14,720
  // group 2 (32→64, s2): 32*64+256 + 9*32*64+256 + 9*64*64+256 = 58,112
  // head: 64*8 + 8 = 520
  assert.equal(model.countParams(), 496 + 5056 + 14720 + 58112 + 520);
  // Non-trainable: moving mean and variance of the 10 batch norms (2 * channels each).
  assert.equal(
    model.countParams() - model.countTrainableParams(),
    2 * (16 + 3 * 16 + 3 * 32 + 3 * 64),
  );
  model.dispose();
});

test('compact ResNet: unknown model_id lists the valid ones', () => {
  assert.throws(() => new CompactResNet({ modelId: 'xl' }), /unknown model_id 'xl'.*xs/);
});
