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

/** Trainable parameters of torchvision's CIFAR-style resnet18(num_classes=10). */
export const TORCH_CIFAR_RESNET18_PARAMS = 11_173_962;

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
export function randomImageBatch(n: number, size: number, classes: number, seed = 1): ImageBatch {
  const rng = new Rng(seed);
  const count = n * size * size * 3;
  const image = tf.tensor(
    Float32Array.from({ length: count }, () => rng.normal()),
    [n, size, size, 3],
  );
  const label = tf.tensor(
    Int32Array.from({ length: n }, () => rng.int(classes)),
    [n],
    'int32',
  );
  return { image, label };
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
  ) {}

  buildModel(): ClassificationModel {
    return this.build();
  }

  dummyBatch(n: number): ImageBatch {
    return randomImageBatch(n, this.imageSize, this.numClasses);
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
