/**
 * Small models and tasks for the engine's equality tests, built from the library's layers:
 * a ResNet bottleneck block, an SE + depthwise (MobileNet-style) block, a ViT encoder block and a
 * Conv3D block, each followed by global pooling, a classifier and softmax cross-entropy + l2.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../src/core/layer.js';
import { Rng } from '../../src/core/random.js';
import type { Batch, ForwardResult, InputPipeline, Task } from '../../src/core/task.js';
import { softmaxCrossEntropy } from '../../src/losses/classification.js';
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
class FixedPipeline implements InputPipeline<ClsBatch> {
  private served = 0;
  constructor(private readonly batch: () => ClsBatch) {}
  async next(): Promise<ClsBatch> {
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
