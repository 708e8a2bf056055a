/**
 * The video classification model and its config (Model Garden video_classification_model.py,
 * configs/video_classification.py and backbones_3d.py): defaults, the head over the last,
 * required or all endpoints, and clear errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/index.js';
import { videoClassificationModelConfig } from '../../../src/modeling/models/video_classification_config.js';
import {
  buildVideoClassificationModel,
  VideoClassificationModel,
} from '../../../src/modeling/models/video_classification_model.js';
import { assertClose } from '../../helpers.js';

await initBackend('cpu');

test("the model config's defaults are Model Garden's (VideoClassificationModel, ResNet3D50, ResNet3DRS)", () => {
  const cfg = videoClassificationModelConfig.parse({});
  assert.equal(cfg.model_type, 'video_classification');
  assert.equal(cfg.dropout_rate, 0.2);
  assert.equal(cfg.aggregate_endpoints, false);
  assert.equal(cfg.require_endpoints, null);
  assert.deepEqual(cfg.norm_activation, {
    activation: 'relu',
    use_sync_bn: false,
    norm_momentum: 0.99,
    norm_epsilon: 0.001,
  });
  assert.equal(cfg.backbone.type, 'resnet_3d');
  const r = cfg.backbone.resnet_3d;
  assert.deepEqual(
    [r.model_id, r.stem_type, r.stem_conv_temporal_kernel_size, r.stem_conv_temporal_stride],
    [50, 'v0', 5, 2],
  );
  assert.deepEqual(
    [r.stem_pool_temporal_stride, r.stochastic_depth_drop_rate, r.se_ratio],
    [2, 0, 0],
  );
  assert.deepEqual(
    r.block_specs.map((b) => [b.temporal_strides, b.temporal_kernel_sizes, b.use_self_gating]),
    [
      [1, [3, 3, 3], true],
      [1, [3, 1, 3, 1], true],
      [1, [3, 1, 3, 1, 3, 1], true],
      [1, [1, 3, 1], true],
    ],
  );
  const rs = cfg.backbone.resnet_3d_rs;
  assert.deepEqual(
    [rs.stem_type, rs.stem_pool_temporal_stride, rs.stochastic_depth_drop_rate, rs.se_ratio],
    ['v1', 2, 0.1, 0.2],
  );
  assert.deepEqual(
    rs.block_specs.map((b) => b.temporal_kernel_sizes),
    [[1], [1], [3], [3]],
  );
  // A YAML that names only the branch keeps type resnet_3d (MG's model default).
  assert.equal(
    videoClassificationModelConfig.parse({ backbone: { resnet_3d: { model_id: 101 } } }).backbone
      .type,
    'resnet_3d',
  );
});

const small = {
  backbone: {
    type: 'resnet_3d',
    resnet_3d: {
      stem_conv_temporal_kernel_size: 1,
      stem_conv_temporal_stride: 1,
      stem_pool_temporal_stride: 1,
      block_filters: [2, 3, 4, 5],
    },
  },
  dropout_rate: 0.5,
};

test('head: GAP3D of the last endpoint → dense; Keras-functional names; logits = dense(mean)', () => {
  const model = buildVideoClassificationModel(small, 7);
  assert.ok(model instanceof VideoClassificationModel);
  const x = tf.randomNormal([2, 2, 16, 16, 3], 0, 1, 'float32', 4);
  const logits = model.apply(x, { training: false });
  assert.deepEqual(logits.shape, [2, 7]);
  const dense = model.weights().filter((w) => w.objectPath.startsWith('_logits/'));
  assert.deepEqual(
    dense.map((w) => [w.path, w.variable.shape]),
    [
      ['video_classification_model/dense/kernel', [20, 7]],
      ['video_classification_model/dense/bias', [7]],
    ],
  );
  // Independently: the mean over (t, h, w) of endpoint '5' times the dense weights.
  const want = tf.tidy(() => {
    const e5 = model.backbone.apply(x, { training: false })['5'];
    return tf.add(tf.matMul(tf.mean(e5, [1, 2, 3]), dense[0].variable), dense[1].variable);
  });
  assertClose(logits.dataSync(), want.dataSync(), { rtol: 1e-5, atol: 1e-6 });
  tf.dispose([x, logits, want]);
  model.dispose();
});

test('aggregate_endpoints and require_endpoints concatenate pooled endpoints', () => {
  const all = buildVideoClassificationModel({ ...small, aggregate_endpoints: true }, 3);
  const x = tf.randomNormal([1, 2, 16, 16, 3], 0, 1, 'float32', 5);
  all.apply(x).dispose();
  const kernel = all.weights().find((w) => w.objectPath === '_logits/kernel')!;
  assert.deepEqual(kernel.variable.shape, [8 + 12 + 16 + 20, 3]);
  all.dispose();
  const some = buildVideoClassificationModel({ ...small, require_endpoints: ['3', '2'] }, 3);
  some.apply(x).dispose();
  assert.deepEqual(some.endpoints, ['3', '2']);
  assert.deepEqual(some.weights().find((w) => w.objectPath === '_logits/kernel')!.variable.shape, [
    12 + 8,
    3,
  ]);
  some.dispose();
  x.dispose();
});

test('bad model configs and inputs are rejected naming the field', () => {
  assert.throws(
    () => buildVideoClassificationModel({ ...small, require_endpoints: ['6'] }, 3),
    /task\.model\.require_endpoints: the backbone has no endpoint '6'/,
  );
  assert.throws(
    () => buildVideoClassificationModel({ model_type: 'movinet' }, 3),
    /task\.model\.model_type: 'movinet' is not built here/,
  );
  assert.throws(
    () => buildVideoClassificationModel({ dropout: 0.5 }, 3),
    /^Error: task\.model: Unrecognized key: "dropout"/,
  );
  assert.throws(
    () => buildVideoClassificationModel({ backbone: { resnet_3d: { model_id: '50' } } }, 3),
    /task\.model\.backbone\.resnet_3d\.model_id: /,
  );
  assert.throws(() => buildVideoClassificationModel(small, 0), /num_classes must be > 0/);
  const model = buildVideoClassificationModel(small, 3);
  assert.throws(() => model.apply(tf.zeros([1, 8, 8, 3])), /expected a video batch/);
  model.dispose();
});
