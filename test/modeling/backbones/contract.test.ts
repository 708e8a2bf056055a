import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { pyramidLevels, type Backbone } from '../../../src/modeling/backbones/contract.js';
import { CompactResNet } from '../../../src/modeling/backbones/compact_resnet.js';
import { MobileNet } from '../../../src/modeling/backbones/mobilenet.js';
import { ResNet } from '../../../src/modeling/backbones/resnet.js';
import { VisionTransformer } from '../../../src/modeling/backbones/vit.js';

await initBackend('cpu');

/** Runs `backbone` on a zero image and checks each endpoint against its declared spec. */
function assertSpecsMatchOutputs(backbone: Backbone, size: number): void {
  tf.tidy(() => {
    const endpoints = backbone.apply(tf.zeros([1, size, size, 3]));
    // Every declared endpoint is returned (a backbone may return more: MobileNet's final map).
    for (const [key, spec] of Object.entries(backbone.outputSpecs)) {
      const t = endpoints[key];
      assert.ok(t, `endpoint ${key} is returned`);
      assert.equal(t.shape[t.rank - 1], spec.channels, `channels of endpoint ${key}`);
      if (spec.stride !== null) {
        assert.equal(t.rank, 4, `endpoint ${key} is a spatial map`);
        assert.equal(size / (t.shape[1] as number), spec.stride, `stride of endpoint ${key}`);
        assert.equal(size / (t.shape[2] as number), spec.stride, `stride of endpoint ${key}`);
      }
    }
  });
  backbone.dispose();
}

test('declared outputSpecs match the endpoints every backbone returns', () => {
  assertSpecsMatchOutputs(new CompactResNet({ modelId: 'xs' }), 32);
  assertSpecsMatchOutputs(new ResNet({ modelId: 18 }), 64);
  assertSpecsMatchOutputs(new MobileNet({ modelId: 'MobileNetV3Small' }), 64);
  assertSpecsMatchOutputs(new VisionTransformer({ modelName: 'vit-xs4' }), 28);
  assertSpecsMatchOutputs(new VisionTransformer({ modelName: 'vit-xs4', pooler: 'none' }), 28);
});

test('ResNet-50 declares levels 2..5 with strides 4..32 and 256..2048 channels', () => {
  const r = new ResNet({ modelId: 50 });
  assert.deepEqual(r.outputSpecs, {
    '2': { channels: 256, stride: 4 },
    '3': { channels: 512, stride: 8 },
    '4': { channels: 1024, stride: 16 },
    '5': { channels: 2048, stride: 32 },
  });
  assert.deepEqual(pyramidLevels(r.outputSpecs, 'fpn'), [2, 3, 4, 5]);
});

test('pyramidLevels rejects a backbone without pyramid levels, naming the caller', () => {
  const vit = new VisionTransformer({ modelName: 'vit-xs4' });
  assert.throws(() => pyramidLevels(vit.outputSpecs, 'fpn'), /fpn: .*pre_logits/);
});
