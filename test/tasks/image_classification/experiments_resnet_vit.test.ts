import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { experiments } from '../../../src/core/registry.js';
import { summarizeExperiment } from '../../../src/cli/summary.js';

await initBackend('cpu');

test('Model Garden ImageNet experiments are registered with its defaults', () => {
  const rn = experiments.get('resnet_imagenet').factory() as never as {
    task: { model: { num_classes: number; norm_activation: { norm_momentum: number } } };
    trainer: {
      train_steps: number;
      optimizer_config: { learning_rate: { stepwise: { values: number[] } } };
    };
  };
  // steps per epoch = 1281167 // 4096 = 312; 90 epochs.
  assert.equal(rn.trainer.train_steps, 90 * 312);
  assert.equal(rn.task.model.num_classes, 1001);
  assert.equal(rn.task.model.norm_activation.norm_momentum, 0.9);
  assert.deepEqual(
    rn.trainer.optimizer_config.learning_rate.stepwise.values,
    [1.6, 0.16, 0.016, 0.0016],
  );
  const rs = experiments.get('resnet_rs_imagenet').factory() as never as {
    task: {
      model: {
        backbone: { resnet: { se_ratio: number; stem_type: string } };
        dropout_rate: number;
      };
    };
    trainer: { train_steps: number; optimizer_config: { ema: { average_decay: number } } };
  };
  assert.equal(rs.task.model.backbone.resnet.se_ratio, 0.25);
  assert.equal(rs.task.model.backbone.resnet.stem_type, 'v1');
  assert.equal(rs.trainer.train_steps, 350 * 312);
  assert.equal(rs.trainer.optimizer_config.ema.average_decay, 0.9999);
  const deit = experiments.get('deit_imagenet_pretrain').factory() as never as {
    task: {
      model: { backbone: { vit: { original_init: boolean; init_stochastic_depth_rate: number } } };
    };
    trainer: { optimizer_config: { learning_rate: { cosine: { initial_learning_rate: number } } } };
  };
  assert.equal(deit.task.model.backbone.vit.original_init, false);
  assert.equal(deit.task.model.backbone.vit.init_stochastic_depth_rate, 0.1);
  assert.equal(deit.trainer.optimizer_config.learning_rate.cosine.initial_learning_rate, 0.004);
});

test('summary counts resnet_imagenet: ResNet-50 with a 1001-class head', async () => {
  const s = await summarizeExperiment({
    experiment: 'resnet_imagenet',
    paramsOverrides: ['task.model.input_size=[32,32,3]'],
    depth: 1,
  });
  // Backbone 23,561,152 + logits 2048·1001 + 1001.
  assert.equal(s.params, 23_561_152 + 2048 * 1001 + 1001);
  // Moving mean/variance of the 53 batch norms are the non-trainable part: 2·(26,560) = 53,120.
  assert.equal(s.params - s.trainable_params, 53_120);
  assert.ok(s.flops > 0 && s.table.includes('Total params'));
});
