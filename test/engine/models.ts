/**
 * Small models and tasks for the engine's equality tests, built from the library's layers:
 * a ResNet bottleneck block, an SE + depthwise (MobileNet-style) block, a ViT encoder block and a
 * Conv3D block, each followed by global pooling, a classifier and softmax cross-entropy + l2;
 * and a RetinaNet-style two-level head with focal + Huber losses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type Initializer } from '../../src/core/layer.js';
import { constant } from '../../src/core/initializers.js';
import { Rng } from '../../src/core/random.js';
import type { Batch, ForwardResult, InputPipeline, Task } from '../../src/core/task.js';
import { softmaxCrossEntropy } from '../../src/losses/classification.js';
import { focalLoss } from '../../src/losses/focal.js';
import { huberLoss } from '../../src/losses/huber.js';
import { modelL2Regularization } from '../../src/losses/l2.js';
import { getActivation } from '../../src/modeling/layers/activations.js';
import { MultiHeadAttention } from '../../src/modeling/layers/attention.js';
import { Conv2D, Conv3D, DepthwiseConv2D } from '../../src/modeling/layers/conv.js';
import { Dense } from '../../src/modeling/layers/dense.js';
import { Dropout } from '../../src/modeling/layers/dropout.js';
import { BatchNormalization, LayerNormalization } from '../../src/modeling/layers/normalization.js';
import { SqueezeExcitation } from '../../src/modeling/layers/squeeze_excitation.js';

export type ClsBatch = Batch & { images: tf.Tensor; labels: tf.Tensor };
export type ClsOutputs = { logits: tf.Tensor };

const bn = () => new BatchNormalization({ momentum: 0.9, epsilon: 1e-3 });

/** conv1x1 → 3x3 (stride 2) → 1x1 with BN + relu, projection shortcut (MG BottleneckBlock). */
export class Bottleneck extends Layer {
  private readonly c1 = this.add(
    '_conv1',
    new Conv2D({ filters: 4, kernelSize: 1, useBias: false }),
  );
  private readonly n1 = this.add('_norm1', bn());
  private readonly c2 = this.add(
    '_conv2',
    new Conv2D({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false }),
  );
  private readonly n2 = this.add('_norm2', bn());
  private readonly c3 = this.add(
    '_conv3',
    new Conv2D({ filters: 12, kernelSize: 1, useBias: false }),
  );
  private readonly n3 = this.add('_norm3', bn());
  private readonly sc = this.add(
    '_shortcut',
    new Conv2D({ filters: 12, kernelSize: 1, strides: 2, useBias: false }),
  );
  private readonly n0 = this.add('_norm0', bn());

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const shortcut = this.n0.apply(this.sc.apply(x, args), args);
    let y = tf.relu(this.n1.apply(this.c1.apply(x, args), args));
    y = tf.relu(this.n2.apply(this.c2.apply(y, args), args));
    y = this.n3.apply(this.c3.apply(y, args), args);
    return tf.relu(tf.add(y, shortcut));
  }
}

/** Expand 1x1 → depthwise 3x3 → SE → project 1x1, swish, residual (MG InvertedBottleneckBlock). */
export class SeDepthwise extends Layer {
  private readonly expand = this.add(
    '_conv0',
    new Conv2D({ filters: 8, kernelSize: 1, useBias: false }),
  );
  private readonly n0 = this.add('_norm0', bn());
  private readonly dw = this.add(
    '_depthwise_conv1',
    new DepthwiseConv2D({ kernelSize: 3, padding: 'same', useBias: false }),
  );
  private readonly n1 = this.add('_norm1', bn());
  private readonly se = this.add(
    '_squeeze_excitation',
    new SqueezeExcitation({ inFilters: 8, outFilters: 8, seRatio: 0.25, activation: 'relu' }),
  );
  private readonly project = this.add(
    '_conv2',
    new Conv2D({ filters: 4, kernelSize: 1, useBias: false }),
  );
  private readonly n2 = this.add('_norm2', bn());
  private readonly act = getActivation('swish');

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = this.act(this.n0.apply(this.expand.apply(x, args), args));
    y = this.act(this.n1.apply(this.dw.apply(y, args), args));
    y = this.se.apply(y, args);
    y = this.n2.apply(this.project.apply(y, args), args);
    return tf.add(x, y);
  }
}

/** Pre-norm transformer encoder block (MG TransformerEncoderBlock as ViT uses it). */
export class VitEncoder extends Layer {
  private readonly ln1 = this.add(
    '_attention_layer_norm',
    new LayerNormalization({ epsilon: 1e-6 }),
  );
  private readonly mha = this.add(
    '_attention_layer',
    new MultiHeadAttention({ numHeads: 2, keyDim: 4, dropout: 0.1 }),
  );
  private readonly drop = this.add('_attention_dropout', new Dropout({ rate: 0.1 }));
  private readonly ln2 = this.add('_output_layer_norm', new LayerNormalization({ epsilon: 1e-6 }));
  private readonly inner = this.add(
    '_intermediate_dense',
    new Dense({ units: 16, activation: 'gelu' }),
  );
  private readonly outer = this.add('_output_dense', new Dense({ units: 8 }));

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const h = this.ln1.apply(x, args);
    const a = this.drop.apply(this.mha.apply({ query: h, value: h }, args), args);
    const x1 = tf.add(x, a);
    const m = this.outer.apply(this.inner.apply(this.ln2.apply(x1, args), args), args);
    return tf.add(x1, m);
  }
}

/** Conv3D (3x3x3, same) + BN + relu, then a strided Conv3D (MG 3-D video blocks). */
export class Conv3dBlock extends Layer {
  private readonly c1 = this.add(
    '_conv1',
    new Conv3D({ filters: 6, kernelSize: 3, padding: 'same', useBias: false }),
  );
  private readonly n1 = this.add('_norm1', bn());
  private readonly c2 = this.add(
    '_conv2',
    new Conv3D({ filters: 8, kernelSize: [1, 3, 3], strides: [1, 2, 2], padding: 'same' }),
  );

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = tf.relu(this.n1.apply(this.c1.apply(x, args), args));
    return tf.relu(this.c2.apply(y, args));
  }
}

/** A block followed by global average pooling, dropout and a dense classifier. */
export class Classifier extends Layer {
  private readonly body: Layer;
  private readonly drop: Dropout;
  private readonly head: Dense;

  constructor(body: Layer, numClasses: number, dropout = 0.2) {
    super({ name: 'classifier' });
    this.body = this.add('_backbone', body);
    this.drop = this.add('_dropout', new Dropout({ rate: dropout }));
    this.head = this.add('_classifier', new Dense({ units: numClasses }));
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = this.body.apply(x, args);
    const pooled = tf.mean(
      y,
      [...Array(y.rank - 2).keys()].map((a) => a + 1),
    );
    return this.head.apply(this.drop.apply(pooled, args), args);
  }
}

export type ModelKind = 'bottleneck' | 'se_depthwise' | 'vit' | 'conv3d';

const INPUT_SHAPES: Record<ModelKind, number[]> = {
  bottleneck: [6, 6, 5],
  se_depthwise: [6, 6, 4],
  vit: [5, 8],
  conv3d: [3, 6, 6, 2],
};

function body(kind: ModelKind): Layer {
  switch (kind) {
    case 'bottleneck':
      return new Bottleneck({ name: 'bottleneck_block' });
    case 'se_depthwise':
      return new SeDepthwise({ name: 'inverted_bottleneck_block' });
    case 'vit':
      return new VitEncoder({ name: 'transformer_encoder_block' });
    case 'conv3d':
      return new Conv3dBlock({ name: 'conv3d_block' });
  }
}

/** Repeats one fixed batch (the tests drive steps directly; the trainer is not involved). */
class FixedPipeline<B extends Batch> implements InputPipeline<B> {
  private served = 0;
  constructor(private readonly batch: () => B) {}
  async next(): Promise<B> {
    this.served++;
    return this.batch();
  }
  getState(): Record<string, unknown> {
    return { served: this.served };
  }
  setState(state: Record<string, unknown>): void {
    this.served = Number(state.served);
  }
}

/** A classification task over one of the blocks: softmax CE (label smoothing 0.1) + l2. */
export class BlockTask implements Task<Classifier, ClsBatch, ClsOutputs> {
  readonly type = 'engine_test_block';
  readonly numClasses = 5;

  constructor(
    readonly kind: ModelKind,
    readonly l2 = 1e-3,
  ) {}

  buildModel(): Classifier {
    return new Classifier(body(this.kind), this.numClasses);
  }

  /** A deterministic batch: images ~ N(0, 1) from `seed`, one-hot labels. */
  batch(batchSize: number, seed = 1): ClsBatch {
    const rng = new Rng(seed);
    const shape = [batchSize, ...INPUT_SHAPES[this.kind]];
    const n = shape.reduce((a, b) => a * b, 1);
    const images = tf.tensor(
      Float32Array.from({ length: n }, () => rng.normal()),
      shape,
    );
    const labels = tf.oneHot(
      Int32Array.from({ length: batchSize }, () => rng.int(this.numClasses)),
      this.numClasses,
    );
    return { images, labels: tf.cast(labels, 'float32') };
  }

  dummyBatch(batchSize: number): ClsBatch {
    return this.batch(batchSize);
  }

  async buildInputs(): Promise<InputPipeline<ClsBatch>> {
    return new FixedPipeline(() => this.batch(4));
  }

  forward(model: Classifier, batch: ClsBatch, args: CallArgs): ForwardResult<ClsOutputs> {
    const logits = model.apply(batch.images, args);
    const cls = tf.mean(softmaxCrossEntropy(logits, batch.labels, 0.1)) as tf.Scalar;
    const l2 = modelL2Regularization(model.weights(), this.l2);
    return {
      losses: { total_loss: tf.add(cls, l2) as tf.Scalar, cls_loss: cls, l2_loss: l2 },
      outputs: { logits },
    };
  }

  buildMetrics(): [] {
    return [];
  }
}

/** Feature levels of the RetinaNet-style head test: level → spatial size (16 channels each). */
export const HEAD_LEVELS: Readonly<Record<string, number>> = { '3': 8, '4': 4 };
const HEAD_CHANNELS = 16;

export interface RetinaNetHeadOptions {
  numClasses: number;
  numAnchorsPerLocation: number;
  numConvs: number;
  numFilters: number;
  activation: string;
}

/**
 * Model Garden's RetinaNetHead layout (official/vision/modeling/heads/dense_prediction_heads.py):
 * a class tower and a box tower of `numConvs` 3x3 'same' convs whose weights are SHARED across
 * levels (`classnet-conv_i`, `boxnet-conv_i`), each followed by a batch norm OWNED by its level
 * (`classnet-conv-norm_{level}_{i}`) and the activation; then one shared `scores` conv
 * (anchors·classes outputs, bias −log((1 − 0.01)/0.01) as MG) and one `boxes` conv (anchors·4).
 * Kernels use glorot_uniform instead of MG's RandomNormal(0.01 / 1e-5) so that every gradient
 * of the equality test is well above rounding noise.
 */
export class RetinaNetStyleHead extends Layer<
  Record<string, tf.Tensor>,
  { cls: Record<string, tf.Tensor>; box: Record<string, tf.Tensor> }
> {
  private readonly clsConvs: Conv2D[] = [];
  private readonly boxConvs: Conv2D[] = [];
  private readonly clsNorms: Record<string, BatchNormalization[]> = {};
  private readonly boxNorms: Record<string, BatchNormalization[]> = {};
  private readonly classifier: Conv2D;
  private readonly boxRegressor: Conv2D;
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  constructor(
    readonly opts: RetinaNetHeadOptions,
    readonly levels: string[],
  ) {
    super({ name: 'retina_net_head' });
    const conv = (name: string, filters: number, biasInitializer?: Initializer) =>
      new Conv2D({ name, filters, kernelSize: 3, padding: 'same', biasInitializer });
    const norm = (name: string) => new BatchNormalization({ name, momentum: 0.99, epsilon: 1e-3 });
    for (const tower of ['classnet', 'boxnet'] as const) {
      const convs = tower === 'classnet' ? this.clsConvs : this.boxConvs;
      const norms = tower === 'classnet' ? this.clsNorms : this.boxNorms;
      for (let i = 0; i < opts.numConvs; i++) {
        convs.push(this.add(`_${tower}_conv${i}`, conv(`${tower}-conv_${i}`, opts.numFilters)));
      }
      for (const level of levels) {
        norms[level] = [];
        for (let i = 0; i < opts.numConvs; i++) {
          norms[level].push(
            this.add(`_${tower}_norm${level}_${i}`, norm(`${tower}-conv-norm_${level}_${i}`)),
          );
        }
      }
    }
    // dense_prediction_heads.py: the classifier bias starts at the logit of a 0.01 prior.
    this.classifier = this.add(
      '_classifier',
      conv(
        'scores',
        opts.numClasses * opts.numAnchorsPerLocation,
        constant(-Math.log(0.99 / 0.01)),
      ),
    );
    this.boxRegressor = this.add('_box_regressor', conv('boxes', 4 * opts.numAnchorsPerLocation));
    this.act = getActivation(opts.activation);
  }

  private tower(x: tf.Tensor, convs: Conv2D[], norms: BatchNormalization[], args: CallArgs) {
    let y = x;
    convs.forEach((c, i) => (y = this.act(norms[i].apply(c.apply(y, args), args))));
    return y;
  }

  protected call(features: Record<string, tf.Tensor>, args: CallArgs) {
    const cls: Record<string, tf.Tensor> = {};
    const box: Record<string, tf.Tensor> = {};
    for (const level of this.levels) {
      const x = features[level];
      if (!x) throw new Error(`retina_net_head: no features for level ${level}`);
      cls[level] = this.classifier.apply(
        this.tower(x, this.clsConvs, this.clsNorms[level], args),
        args,
      );
      box[level] = this.boxRegressor.apply(
        this.tower(x, this.boxConvs, this.boxNorms[level], args),
        args,
      );
    }
    return { cls, box };
  }
}

export type HeadBatch = Batch & {
  [feature: `features_${string}`]: tf.Tensor;
  /** [B, anchors] int32: class index, −1 background (one-hot all zero), −2 ignored. */
  cls_targets: tf.Tensor;
  /** [B, anchors, 4] encoded box targets. */
  box_targets: tf.Tensor;
  /** [B, anchors]: 0 for ignored anchors, else 1. */
  cls_weights: tf.Tensor;
  /** [B, anchors]: 1 for positive anchors, else 0. */
  box_weights: tf.Tensor;
};
export type HeadOutputs = { cls_outputs: tf.Tensor; box_outputs: tf.Tensor };

/** [B, H, W, A·D] per level → [B, ΣH·W·A, D] (MG loss_utils.multi_level_flatten). */
export function multiLevelFlatten(
  levels: Record<string, tf.Tensor>,
  order: string[],
  lastDim: number,
): tf.Tensor {
  const flat = order.map((l) => tf.reshape(levels[l], [levels[l].shape[0], -1, lastDim]));
  return flat.length === 1 ? flat[0] : tf.concat(flat, 1);
}

/**
 * A RetinaNet-style detection task over {@link RetinaNetStyleHead} with Model Garden's
 * RetinaNet losses (official/vision/tasks/retinanet.py `build_losses`, defaults from
 * official/vision/configs/retinanet.py `Losses`): focal loss (α 0.25, γ 1.5, SUM) and Huber
 * (δ 0.1, SUM), both with weights divided by (Σ box_weights + 1); model_loss = cls_loss + 50 ·
 * box_loss; total_loss = model_loss + l2.
 */
export class HeadTask implements Task<RetinaNetStyleHead, HeadBatch, HeadOutputs> {
  readonly type = 'engine_test_retinanet_head';
  readonly levels = Object.keys(HEAD_LEVELS).sort();
  readonly head: RetinaNetHeadOptions = {
    numClasses: 4,
    numAnchorsPerLocation: 3,
    numConvs: 2,
    numFilters: 16,
    activation: 'swish',
  };
  readonly boxLossWeight = 50;

  constructor(readonly l2 = 1e-4) {}

  get numAnchors(): number {
    return (
      this.levels.reduce((n, l) => n + HEAD_LEVELS[l] ** 2, 0) * this.head.numAnchorsPerLocation
    );
  }

  buildModel(): RetinaNetStyleHead {
    return new RetinaNetStyleHead(this.head, this.levels);
  }

  /**
   * Features ~ N(0, 1) and fixed random targets from `seed`: per anchor 20 % positive (random
   * class), 15 % ignored (−2), the rest background (−1); box targets ~ N(0, 0.2) so that both
   * Huber branches (|e| ≤ 0.1 and beyond) occur.
   */
  batch(batchSize: number, seed = 1): HeadBatch {
    const rng = new Rng(seed);
    const normal = (shape: number[], scale = 1) =>
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()),
        shape,
      );
    const out: Record<string, tf.Tensor> = {};
    for (const l of this.levels) {
      out[`features_${l}`] = normal([batchSize, HEAD_LEVELS[l], HEAD_LEVELS[l], HEAD_CHANNELS]);
    }
    const n = batchSize * this.numAnchors;
    const cls = new Int32Array(n);
    const clsW = new Float32Array(n);
    const boxW = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      cls[i] = u < 0.2 ? rng.int(this.head.numClasses) : u < 0.35 ? -2 : -1;
      clsW[i] = cls[i] === -2 ? 0 : 1;
      boxW[i] = cls[i] >= 0 ? 1 : 0;
    }
    const shape = [batchSize, this.numAnchors];
    out.cls_targets = tf.tensor(cls, shape, 'int32');
    out.cls_weights = tf.tensor(clsW, shape);
    out.box_weights = tf.tensor(boxW, shape);
    out.box_targets = normal([batchSize, this.numAnchors, 4], 0.2);
    return out as HeadBatch;
  }

  dummyBatch(batchSize: number): HeadBatch {
    return this.batch(batchSize);
  }

  async buildInputs(): Promise<InputPipeline<HeadBatch>> {
    return new FixedPipeline(() => this.batch(2));
  }

  forward(model: RetinaNetStyleHead, batch: HeadBatch, args: CallArgs): ForwardResult<HeadOutputs> {
    const features: Record<string, tf.Tensor> = {};
    for (const l of this.levels) features[l] = batch[`features_${l}`];
    const { cls, box } = model.apply(features, args);
    const k = this.head.numClasses;
    const clsOutputs = multiLevelFlatten(cls, this.levels, k);
    const boxOutputs = multiLevelFlatten(box, this.levels, 4);
    const numPositives = tf.add(tf.sum(batch.box_weights), 1);
    const clsLoss = focalLoss(tf.oneHot(batch.cls_targets, k), clsOutputs, {
      alpha: 0.25,
      gamma: 1.5,
      sampleWeight: tf.div(batch.cls_weights, numPositives),
      reduction: 'sum',
    }) as tf.Scalar;
    const boxLoss = huberLoss(batch.box_targets, boxOutputs, {
      delta: 0.1,
      sampleWeight: tf.div(batch.box_weights, numPositives),
      reduction: 'sum',
    }) as tf.Scalar;
    const modelLoss = tf.add(clsLoss, tf.mul(this.boxLossWeight, boxLoss)) as tf.Scalar;
    const l2 = modelL2Regularization(model.weights(), this.l2);
    return {
      losses: {
        total_loss: tf.add(modelLoss, l2) as tf.Scalar,
        cls_loss: clsLoss,
        box_loss: boxLoss,
        model_loss: modelLoss,
        l2_loss: l2,
      },
      outputs: { cls_outputs: clsOutputs, box_outputs: boxOutputs },
    };
  }

  buildMetrics(): [] {
    return [];
  }
}
