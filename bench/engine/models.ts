/**
 * Models and the training task of the engine benchmark (bench/engine/run.ts).
 *
 * - {@link CifarResNet18}: the CIFAR-style ResNet-18 built from the library's layers: a 3×3/1 stem
 *   conv (64, no bias) + BN + relu, no max-pool, then Model Garden's ResNet-18 block groups
 *   (RESNET_SPECS[18]: 2 basic residual blocks each of 64, 128, 256, 512 filters, strides 1, 2, 2,
 *   2; a 1×1 projection shortcut only where the stride or width changes). With the classifier
 *   (global average pool → dense) this is torchvision's resnet18 with conv1 = 3×3/1 and
 *   maxpool = Identity: 11,173,962 trainable parameters for 10 classes.
 * - {@link ClassifierTrainTask}: a task with softmax cross-entropy (mean over the batch) and no
 *   regularisation, the loss the PyTorch peer (bench/engine/peer.py) uses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../src/core/layer.js';
import { Rng } from '../../src/core/random.js';
import type { Batch, ForwardResult, InputPipeline, Task } from '../../src/core/task.js';
import { sparseSoftmaxCrossEntropy } from '../../src/losses/classification.js';
import type { Backbone, BackboneOutputSpecs } from '../../src/modeling/backbones/contract.js';
import { RESNET_SPECS } from '../../src/modeling/backbones/resnet.js';
import { ConvNormAct } from '../../src/modeling/blocks/conv_norm_act.js';
import { ResidualBlock } from '../../src/modeling/blocks/residual_block.js';
import { ClassificationModel } from '../../src/modeling/models/classification_model.js';
import { getActivation } from '../../src/modeling/layers/activations.js';
import { Conv2D, Conv3D, DepthwiseConv2D } from '../../src/modeling/layers/conv.js';
import { BatchNormalization } from '../../src/modeling/layers/normalization.js';

/** The CIFAR ResNet-18 backbone; endpoints keyed by level (log2 of the cumulative stride). */
export class CifarResNet18 extends Layer<tf.Tensor, Record<string, tf.Tensor>> implements Backbone {
  private readonly stem = this.add(
    '_stem',
    new ConvNormAct({
      filters: 64,
      kernelSize: 3,
      strides: 1,
      normMomentum: 0.9,
      normEpsilon: 1e-5,
    }),
  );
  private readonly blocks: { block: ResidualBlock; level: number }[] = [];
  readonly outputSpecs: BackboneOutputSpecs = {};

  constructor() {
    super({ name: 'cifar_resnet18' });
    let channels = 64;
    let level = 0;
    RESNET_SPECS[18].forEach(([, filters, repeats], g) => {
      const stride = g === 0 ? 1 : 2;
      if (stride === 2) level++;
      for (let b = 0; b < repeats; b++) {
        const s = b === 0 ? stride : 1;
        const block = new ResidualBlock({
          filters,
          strides: s,
          useProjection: s !== 1 || channels !== filters,
          normMomentum: 0.9,
          normEpsilon: 1e-5,
        });
        this.blocks.push({ block: this.add(`_block_group${g}_block${b}`, block), level });
        channels = filters;
      }
      this.outputSpecs[String(level)] = { channels: filters, stride: 2 ** level };
    });
  }

  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    let y = this.stem.apply(x, args);
    const endpoints: Record<string, tf.Tensor> = {};
    for (const { block, level } of this.blocks) {
      y = block.apply(y, args);
      endpoints[String(level)] = y;
    }
    return endpoints;
  }
}

/** CIFAR ResNet-18 classifier: backbone → global average pool → dense (10 classes). */
export function buildCifarResNet18(numClasses = 10): ClassificationModel {
  return new ClassificationModel({ backbone: new CifarResNet18(), numClasses });
}

export type ImageBatch = Batch & { image: tf.Tensor; label: tf.Tensor };

/** A deterministic batch: images ~ N(0, 1) [n, size, size, 3], int32 labels in [0, classes). */
export function randomImageBatch(
  n: number,
  size: number,
  classes: number,
  seed = 1,
  frames: number | null = null,
): ImageBatch {
  const rng = new Rng(seed);
  const shape = frames === null ? [n, size, size, 3] : [n, frames, size, size, 3];
  const count = shape.reduce((a, b) => a * b, 1);
  const image = tf.tensor(
    Float32Array.from({ length: count }, () => rng.normal()),
    shape,
  );
  const label = tf.tensor(
    Int32Array.from({ length: n }, () => rng.int(classes)),
    [n],
    'int32',
  );
  return { image, label };
}

/**
 * MobileNetV2 inverted-bottleneck stack of row (g): (expansion t, filters c, repeats n, stride s)
 * after a 3×3/2 stem of 32 filters, as MobileNetV2's first five groups (Sandler et al. 2018,
 * table 2; Model Garden `modeling/backbones/mobilenet.py` MNV2_BLOCK_SPECS). The peer
 * (peer.py MBV2_STACK) uses the same spec.
 */
export const MBV2_STACK: readonly [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
];

/** Any convolution (no bias) → batch norm (momentum 0.9, epsilon 1e-5 as PyTorch) → activation. */
class ConvBnAct extends Layer<tf.Tensor, tf.Tensor> {
  private readonly conv: Conv2D | DepthwiseConv2D | Conv3D;
  private readonly bn = this.add('_bn', new BatchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
  private readonly act: ((x: tf.Tensor) => tf.Tensor) | null;

  constructor(name: string, conv: Conv2D | DepthwiseConv2D | Conv3D, activation: string | null) {
    super({ name });
    this.conv = this.add('_conv', conv);
    this.act = activation === null ? null : getActivation(activation);
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = this.bn.apply(this.conv.apply(x, args), args);
    return this.act ? this.act(y) : y;
  }
}

/** One inverted bottleneck: 1×1 expand (t > 1) → 3×3 depthwise → 1×1 project (+ identity). */
class InvertedBottleneck extends Layer<tf.Tensor, tf.Tensor> {
  private readonly parts: ConvBnAct[] = [];
  private readonly residual: boolean;

  constructor(cin: number, t: number, cout: number, stride: number, name: string) {
    super({ name });
    const conv = (filters: number, kernelSize: number) =>
      new Conv2D({ filters, kernelSize, padding: 'same', useBias: false });
    const part = (n: string, c: Conv2D | DepthwiseConv2D, act: string | null) =>
      this.parts.push(this.add(n, new ConvBnAct(n, c, act)));
    if (t > 1) part('_expand', conv(cin * t, 1), 'relu6');
    const dw = new DepthwiseConv2D({
      kernelSize: 3,
      strides: stride,
      padding: 'same',
      useBias: false,
    });
    part('_depthwise', dw, 'relu6');
    part('_project', conv(cout, 1), null);
    this.residual = stride === 1 && cin === cout;
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = this.parts.reduce((h, p) => p.apply(h, args), x);
    return this.residual ? tf.add(x, y) : y;
  }
}

/** Row (g)'s backbone: stem + {@link MBV2_STACK}; endpoint '0' is the last block's output. */
class MobileNetV2Stack extends Layer<tf.Tensor, Record<string, tf.Tensor>> {
  private readonly stem = this.add(
    '_stem',
    new ConvBnAct(
      '_stem',
      new Conv2D({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', useBias: false }),
      'relu6',
    ),
  );
  private readonly blocks: InvertedBottleneck[] = [];
  readonly outputSpecs: BackboneOutputSpecs;

  constructor() {
    super({ name: 'mbv2_stack' });
    let cin = 32;
    let stride = 2;
    MBV2_STACK.forEach(([t, c, n, s], g) => {
      for (let b = 0; b < n; b++) {
        const name = `_group${g}_block${b}`;
        this.blocks.push(this.add(name, new InvertedBottleneck(cin, t, c, b === 0 ? s : 1, name)));
        cin = c;
      }
      stride *= s;
    });
    this.outputSpecs = { '0': { channels: cin, stride } };
  }

  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    return { '0': this.blocks.reduce((h, b) => b.apply(h, args), this.stem.apply(x, args)) };
  }
}

export function buildMobileNetV2Stack(numClasses = 10): ClassificationModel {
  return new ClassificationModel({ backbone: new MobileNetV2Stack(), numClasses });
}

/**
 * Conv3D blocks of row (h): (filters, strides [t, h, w]) of 3×3×3 conv (no bias) + BN + relu;
 * the peer (peer.py CONV3D_BLOCKS) uses the same spec.
 */
export const CONV3D_BLOCKS: readonly [number, [number, number, number]][] = [
  [32, [1, 2, 2]],
  [64, [2, 2, 2]],
  [64, [1, 1, 1]],
  [128, [2, 2, 2]],
  [128, [1, 1, 1]],
];

/** Row (h)'s backbone on [batch, frames, h, w, 3] clips; endpoint '0' is averaged over time. */
class Conv3DNet extends Layer<tf.Tensor, Record<string, tf.Tensor>> {
  private readonly blocks: ConvBnAct[] = [];
  /** Spatial stride 2^4 (the time axis is averaged away). */
  readonly outputSpecs: BackboneOutputSpecs = {
    '0': { channels: CONV3D_BLOCKS[CONV3D_BLOCKS.length - 1][0], stride: 16 },
  };

  constructor() {
    super({ name: 'conv3d_net' });
    CONV3D_BLOCKS.forEach(([filters, strides], i) => {
      const conv = new Conv3D({ filters, kernelSize: 3, strides, padding: 'same', useBias: false });
      this.blocks.push(this.add(`_block${i}`, new ConvBnAct(`_block${i}`, conv, 'relu')));
    });
  }

  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    return {
      '0': tf.mean(
        this.blocks.reduce((h, b) => b.apply(h, args), x),
        1,
      ),
    };
  }
}

export function buildConv3DNet(numClasses = 10): ClassificationModel {
  return new ClassificationModel({ backbone: new Conv3DNet(), numClasses });
}

/** Softmax cross-entropy training over any image classifier (the peer's loss). */
export class ClassifierTrainTask implements Task<
  ClassificationModel,
  ImageBatch,
  { logits: tf.Tensor }
> {
  readonly type = 'bench_classifier';

  constructor(
    private readonly build: () => ClassificationModel,
    readonly imageSize: number,
    readonly numClasses: number,
    /** Clip length of video rows ([batch, frames, size, size, 3] inputs); null for images. */
    readonly frames: number | null = null,
  ) {}

  /** A zero input of `n` examples, to build the model's weights. */
  zeros(n: number): tf.Tensor {
    const s = this.imageSize;
    return tf.zeros(this.frames === null ? [n, s, s, 3] : [n, this.frames, s, s, 3]);
  }

  buildModel(): ClassificationModel {
    return this.build();
  }

  dummyBatch(n: number): ImageBatch {
    return randomImageBatch(n, this.imageSize, this.numClasses, 1, this.frames);
  }

  async buildInputs(): Promise<InputPipeline<ImageBatch>> {
    throw new Error('bench_classifier: the benchmark feeds batches to the step runner directly');
  }

  forward(
    model: ClassificationModel,
    batch: ImageBatch,
    args: CallArgs,
  ): ForwardResult<{ logits: tf.Tensor }> {
    const logits = model.apply(batch.image, args);
    const loss = tf.mean(sparseSoftmaxCrossEntropy(logits, batch.label)) as tf.Scalar;
    return { losses: { total_loss: loss }, outputs: { logits } };
  }

  buildMetrics(): [] {
    return [];
  }
}
