/**
 * Every YAML under configs/experiments/image_classification (one per row of the seed's
 * classification tables) parses through the strict config on top of its registered experiment,
 * carries Model Garden's values, and builds a model with the seed's parameter count.
 *
 * Expected values are transcribed from Model Garden's YAML files
 * (official/vision/configs/experiments/image_classification/*.yaml). Parameter counts are Model
 * Garden's own, exact: `param_counts.json` of ../shared/data/model-garden-reference (its builder's
 * `model.count_params()` on the same YAML, 1001 classes) for every row it lists; the one row it
 * does not list (ResNet-50 200 epochs, the ResNet-50 architecture) uses the issue's backbone count
 * plus the 1001-class head.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../../src/tasks/index.js';
import { initBackend } from '../../../src/core/backend/index.js';
import { withShapeOnlyBuild } from '../../../src/core/layer.js';
import { setGlobalSeed } from '../../../src/core/random.js';
import { resolveExperiment } from '../../../src/train/run_experiment.js';
import { ImageClassificationTask } from '../../../src/tasks/image_classification/task.js';
import type { ImageClassificationExperimentConfig } from '../../../src/tasks/image_classification/config.js';
import { REPO_ROOT, sharedData } from '../../helpers.js';

await initBackend('cpu');

const DIR = join(REPO_ROOT, 'configs', 'experiments', 'image_classification');

/** Model Garden's counts by YAML file name (rows built from a YAML without extra overrides). */
const MG_COUNTS: ReadonlyMap<string, number> = (() => {
  const json = JSON.parse(
    readFileSync(sharedData('model-garden-reference', 'param_counts.json'), 'utf8'),
  ) as { rows: { yaml: string | null; overrides: unknown; params_total: number }[] };
  const out = new Map<string, number>();
  for (const r of json.rows) {
    if (r.yaml && r.overrides === null) out.set(r.yaml.split('/').pop()!, r.params_total);
  }
  return out;
})();

/** What a row of the seed tables fixes, as Model Garden's YAML gives it. */
interface Row {
  experiment: 'resnet_imagenet' | 'resnet_rs_imagenet' | 'deit_imagenet_pretrain';
  modelId: number | string;
  resolution: number;
  epochs: number;
  /** Exact parameter count with the 1001-class head, or [millions, relative tolerance]. */
  params: number | [number, number];
  activation?: string;
  randaug?: number;
  stochasticDepth?: number;
  dropout?: number;
  labelSmoothing: number;
  l2?: number;
  lr: 'stepwise' | 'cosine';
}

// Backbone counts from the issue (MG's ResNet with BN statistics); head = 2048·1001 + 1001.
const RESNET_HEAD_1001 = 2048 * 1001 + 1001;
const RS_TOLERANCE = 0.005;

const ROWS: Record<string, Row> = {
  'imagenet_resnet50_tpu.yaml': {
    experiment: 'resnet_imagenet',
    modelId: 50,
    resolution: 224,
    epochs: 90,
    params: 23_561_152 + RESNET_HEAD_1001,
    activation: 'relu',
    labelSmoothing: 0.1,
    l2: 1e-4,
    lr: 'stepwise',
  },
  'imagenet_resnet50_200ep_tpu.yaml': {
    experiment: 'resnet_imagenet',
    modelId: 50,
    resolution: 224,
    epochs: 200,
    params: 23_561_152 + RESNET_HEAD_1001,
    activation: 'relu',
    labelSmoothing: 0.1,
    l2: 1e-4,
    lr: 'cosine',
  },
  'imagenet_resnet101_tpu.yaml': {
    experiment: 'resnet_imagenet',
    modelId: 101,
    resolution: 224,
    epochs: 200,
    params: 42_605_504 + RESNET_HEAD_1001,
    activation: 'swish',
    labelSmoothing: 0.1,
    l2: 1e-4,
    lr: 'cosine',
  },
  'imagenet_resnet152_tpu.yaml': {
    experiment: 'resnet_imagenet',
    modelId: 152,
    resolution: 224,
    epochs: 200,
    params: 58_295_232 + RESNET_HEAD_1001,
    activation: 'swish',
    labelSmoothing: 0.1,
    l2: 1e-4,
    lr: 'cosine',
  },
};

const rs = (
  depth: number,
  res: number,
  millions: number,
  randaug: number,
  sd: number,
  dropout: number,
): Row => ({
  experiment: 'resnet_rs_imagenet',
  modelId: depth,
  resolution: res,
  epochs: 350,
  params: [millions, RS_TOLERANCE],
  activation: 'swish',
  randaug,
  stochasticDepth: sd,
  dropout,
  labelSmoothing: 0.1,
  l2: 4e-5,
  lr: 'cosine',
});
Object.assign(ROWS, {
  'imagenet_resnetrs50_i160.yaml': rs(50, 160, 35.7, 10, 0, 0.25),
  'imagenet_resnetrs101_i160.yaml': rs(101, 160, 63.7, 15, 0, 0.25),
  'imagenet_resnetrs101_i192.yaml': rs(101, 192, 63.7, 15, 0, 0.25),
  'imagenet_resnetrs152_i192.yaml': rs(152, 192, 86.8, 15, 0, 0.25),
  'imagenet_resnetrs152_i224.yaml': rs(152, 224, 86.8, 15, 0, 0.25),
  'imagenet_resnetrs152_i256.yaml': rs(152, 256, 86.8, 15, 0, 0.25),
  'imagenet_resnetrs200_i256.yaml': rs(200, 256, 93.4, 15, 0.1, 0.25),
  'imagenet_resnetrs270_i256.yaml': rs(270, 256, 130.1, 15, 0.1, 0.25),
  'imagenet_resnetrs350_i256.yaml': rs(350, 256, 164.3, 15, 0.1, 0.25),
  'imagenet_resnetrs350_i320.yaml': rs(350, 320, 164.3, 15, 0.1, 0.4),
});

const vit = (name: string, params: number, epochs: number): Row => ({
  experiment: 'deit_imagenet_pretrain',
  modelId: name,
  resolution: 224,
  epochs,
  params,
  randaug: 9,
  stochasticDepth: 0.1,
  dropout: 0,
  labelSmoothing: 0.1,
  l2: 0,
  lr: 'cosine',
});
Object.assign(ROWS, {
  // MG trains ViT-Ti/16 for 1000 epochs (312,000 steps), the others for 300.
  // Counts: MG's builder on its YAML, 1001 classes, with the 768-wide pre-logits layer.
  'imagenet_vitti16_i224_tpu.yaml': vit('vit-ti16', 6_442_409, 1000),
  'imagenet_vits16_i224_tpu.yaml': vit('vit-s16', 22_731_113, 300),
  'imagenet_vitb16_i224_tpu.yaml': vit('vit-b16', 87_159_017, 300),
  'imagenet_vitl16_i224_tpu.yaml': vit('vit-l16', 304_858_601, 300),
});

const STEPS_PER_EPOCH = Math.floor(1281167 / 4096); // 312

function resolveRow(file: string, row: Row, overrides: string[] = []) {
  return resolveExperiment({
    experiment: row.experiment,
    configFiles: [join(DIR, file)],
    paramsOverrides: overrides,
  }).config as unknown as ImageClassificationExperimentConfig;
}

test('the directory holds exactly one imagenet_*.yaml per seed classification row', () => {
  // The other YAMLs there (fashion_mnist_*) are vision-garden's own runs: fashion_mnist.test.ts;
  // imagenet_mobilenet* are Model Garden's MobileNet files: mobilenet_yamls.test.ts;
  // imagenet_resnet*_deeplab_* pretrain DeepLab's dilated backbone: deeplab_yamls.test.ts.
  const files = readdirSync(DIR)
    .filter(
      (f) =>
        f.startsWith('imagenet_') &&
        !f.startsWith('imagenet_mobilenet') &&
        !f.includes('_deeplab_') &&
        f.endsWith('.yaml'),
    )
    .sort();
  assert.deepEqual(files, Object.keys(ROWS).sort());
  assert.equal(files.length, 4 + 10 + 4);
});

test("every YAML parses strictly on its experiment and carries Model Garden's values", () => {
  for (const [file, row] of Object.entries(ROWS)) {
    const c = resolveRow(file, row);
    const m = c.task.model;
    const where = file;
    assert.deepEqual(m.input_size, [row.resolution, row.resolution, 3], where);
    assert.equal(m.num_classes, 1001, where);
    assert.equal(c.task.train_data.global_batch_size, 4096, where);
    assert.equal(c.task.validation_data.global_batch_size, 4096, where);
    assert.equal(c.trainer.train_steps, row.epochs * STEPS_PER_EPOCH, where);
    assert.equal(c.task.losses.label_smoothing, row.labelSmoothing, where);
    assert.equal(c.task.losses.l2_weight_decay, row.l2, where);
    const oc = c.trainer.optimizer_config;
    assert.equal(oc.learning_rate.type, row.lr, where);
    assert.equal(oc.warmup.type, 'linear', where);
    assert.equal(oc.warmup.linear.warmup_steps, 5 * STEPS_PER_EPOCH, where);
    if (row.lr === 'cosine') {
      assert.equal(oc.learning_rate.cosine.decay_steps, c.trainer.train_steps, where);
    } else {
      assert.deepEqual(
        oc.learning_rate.stepwise.boundaries,
        [30, 60, 80].map((e) => e * STEPS_PER_EPOCH),
        where,
      );
      assert.deepEqual(oc.learning_rate.stepwise.values, [1.6, 0.16, 0.016, 0.0016], where);
    }
    const aug = c.task.train_data.aug_type;
    if (row.randaug === undefined) assert.equal(aug, null, where);
    else {
      assert.equal(aug?.type, 'randaug', where);
      assert.equal(aug?.randaug.magnitude, row.randaug, where);
    }
    if (row.experiment === 'deit_imagenet_pretrain') {
      const v = m.backbone.vit;
      assert.equal(m.backbone.type, 'vit', where);
      assert.equal(v.model_name, row.modelId, where);
      assert.equal(v.init_stochastic_depth_rate, row.stochasticDepth, where);
      // MG's YAMLs leave deit_imagenet_pretrain's 768-wide pre-logits layer in place.
      assert.equal(v.representation_size, 768, where);
      assert.equal(v.original_init, false, where);
      assert.equal(m.kernel_initializer, 'zeros', where);
      assert.deepEqual(aug?.randaug.exclude_ops, ['Cutout'], where);
      const mix = c.task.train_data.mixup_and_cutmix;
      assert.deepEqual(
        mix && [mix.mixup_alpha, mix.cutmix_alpha, mix.label_smoothing],
        [0.8, 1.0, 0.1],
        where,
      );
      assert.equal(c.task.losses.soft_labels, true, where);
      assert.equal(oc.optimizer.type, 'adamw', where);
      assert.equal(oc.optimizer.adamw.weight_decay_rate, 0.05, where);
      // MG's bare string, kept as written (see src/train/optimizers/adamw.ts for its effect).
      assert.equal(oc.optimizer.adamw.include_in_weight_decay, '.*(kernel|weight):0$', where);
      assert.equal(oc.learning_rate.cosine.initial_learning_rate, 0.004, where);
      assert.equal(oc.ema, null, where);
    } else {
      const r = m.backbone.resnet;
      assert.equal(m.backbone.type, 'resnet', where);
      assert.equal(r.model_id, row.modelId, where);
      assert.equal(m.norm_activation.activation, row.activation, where);
      assert.equal(oc.optimizer.type, 'sgd', where);
      assert.equal(oc.optimizer.sgd.momentum, 0.9, where);
      if (row.lr === 'cosine') assert.equal(oc.learning_rate.cosine.initial_learning_rate, 1.6);
      const isRs = row.experiment === 'resnet_rs_imagenet';
      assert.equal(r.stem_type, isRs ? 'v1' : 'v0', where);
      assert.equal(r.resnetd_shortcut, isRs, where);
      assert.equal(r.replace_stem_max_pool, isRs, where);
      assert.equal(r.se_ratio, isRs ? 0.25 : 0, where);
      assert.equal(r.stochastic_depth_drop_rate, row.stochasticDepth ?? 0, where);
      assert.equal(m.dropout_rate, row.dropout ?? 0, where);
      assert.equal(oc.ema?.average_decay ?? null, isRs ? 0.9999 : null, where);
      assert.equal(m.norm_activation.norm_momentum, isRs ? 0.0 : 0.9, where);
    }
  }
});

/**
 * Parameter-free fields (input size for a ResNet, dropout, stochastic depth) do not change the
 * variables, so rows that differ only there share one build: ResNet-RS-152 at 192/224/256 is
 * one architecture. ViT builds keep the input size (it sets the position-embedding grid).
 */
function architectureKey(c: ImageClassificationExperimentConfig): string {
  const m = structuredClone(c.task.model);
  m.dropout_rate = 0;
  m.backbone.resnet.stochastic_depth_drop_rate = 0;
  m.backbone.vit.init_stochastic_depth_rate = 0;
  if (m.backbone.type === 'resnet') m.input_size = [];
  return JSON.stringify(m);
}

test("every row's model builds (shape only) with the seed's parameter count", () => {
  const counted = new Map<string, number>();
  let checkedAgainstMg = 0;
  for (const [file, row] of Object.entries(ROWS)) {
    const isVit = row.experiment === 'deit_imagenet_pretrain';
    // The counting pass runs on a tiny image: ResNet variables do not depend on the spatial size;
    // for ViT the position embedding is pinned to the 224/16 = 14x14 grid the row's input implies
    // (pos_embed_shape) and interpolated to the tiny image's grid, so the variables are the row's.
    const grid = row.resolution / 16;
    const c = resolveRow(
      file,
      row,
      isVit ? [`task.model.backbone.vit.pos_embed_shape=[${grid},${grid}]`] : [],
    );
    const key = architectureKey(c);
    let n = counted.get(key);
    if (n === undefined) {
      setGlobalSeed(0);
      const task = new ImageClassificationTask(c.task);
      const model = task.buildModel();
      const side = isVit ? 16 : 4;
      withShapeOnlyBuild(() => tf.tidy(() => void model.apply(tf.zeros([1, side, side, 3]))));
      n = model.countParams();
      model.dispose();
      counted.set(key, n);
    }
    const mg = MG_COUNTS.get(file);
    if (mg !== undefined) {
      assert.equal(n, mg, `${file}: ${n} parameters, Model Garden builds ${mg}`);
      checkedAgainstMg++;
    } else if (typeof row.params === 'number') {
      assert.equal(n, row.params, `${file}: ${n} parameters`);
    } else {
      const [millions, tol] = row.params;
      const rel = Math.abs(n / 1e6 - millions) / millions;
      assert.ok(rel <= tol, `${file}: ${n} parameters vs the seed's ${millions}M (${rel})`);
    }
  }
  // 18 rows, 13 distinct architectures (ResNet-50 x2, RS-101 x2, RS-152 x3, RS-350 x2 shared).
  assert.equal(counted.size, 13);
  // Every row but ResNet-50 200 epochs is in param_counts.json.
  assert.equal(checkedAgainstMg, 17);
});

test('vit_imagenet_pretrain and vit_imagenet_finetune have Model Garden defaults', () => {
  const pre = resolveExperiment({ experiment: 'vit_imagenet_pretrain' })
    .config as unknown as ImageClassificationExperimentConfig;
  assert.equal(pre.task.model.backbone.vit.model_name, 'vit-b16');
  assert.equal(pre.task.model.backbone.vit.representation_size, 768);
  assert.equal(pre.task.model.kernel_initializer, 'zeros');
  assert.deepEqual(pre.task.model.input_size, [224, 224, 3]);
  assert.equal(pre.trainer.train_steps, 300 * STEPS_PER_EPOCH);
  const po = pre.trainer.optimizer_config;
  assert.equal(po.optimizer.adamw.weight_decay_rate, 0.3);
  assert.equal(po.optimizer.adamw.gradient_clip_norm, 0);
  assert.equal(po.learning_rate.cosine.initial_learning_rate, 0.003); // 0.003 · 4096/4096
  assert.equal(po.warmup.linear.warmup_steps, 10000);

  const ft = resolveExperiment({ experiment: 'vit_imagenet_finetune' })
    .config as unknown as ImageClassificationExperimentConfig;
  assert.deepEqual(ft.task.model.input_size, [384, 384, 3]);
  assert.equal(ft.task.model.backbone.vit.representation_size, 0);
  assert.equal(ft.task.model.kernel_initializer, 'random_uniform');
  assert.equal(ft.task.train_data.global_batch_size, 512);
  assert.equal(ft.trainer.train_steps, 20000);
  assert.equal(ft.trainer.steps_per_loop, Math.floor(1281167 / 512)); // 2502
  assert.equal(ft.trainer.validation_steps, Math.floor(50000 / 512)); // 97
  const fo = ft.trainer.optimizer_config;
  assert.equal(fo.optimizer.type, 'sgd');
  assert.equal(fo.optimizer.sgd.momentum, 0.9);
  assert.equal(fo.optimizer.sgd.global_clipnorm, 1.0);
  assert.equal(fo.learning_rate.cosine.decay_steps, 20000);
  assert.equal(fo.warmup.type, null);
});
