/**
 * Image classification task (Model Garden `tasks/image_classification.py`): builds the classifier,
 * the inputs, the losses (softmax cross-entropy with label smoothing, sparse or one-hot, or sigmoid
 * for multi-label; l2 weight decay) and the metrics (top-1, top-k) from its config.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CallArgs } from '../../core/layer.js';
import type {
  ForwardResult,
  ImageSummary,
  InputOptions,
  InputPipeline,
  Losses,
  Metric,
  Task,
} from '../../core/task.js';
import { loadBuiltinSource } from '../../data/builtin_sources.js';
import {
  InMemoryImageClassification,
  MEAN_RGB,
  STDDEV_RGB,
  type ImageClassificationBatch,
} from '../../data/in_memory.js';
import { TopKAccuracy } from '../../evaluation/classification.js';
import { l2Regularization } from '../../losses/l2.js';
import {
  sigmoidCrossEntropy,
  softmaxCrossEntropy,
  sparseSoftmaxCrossEntropy,
} from '../../losses/classification.js';
import { buildBackbone } from '../../modeling/backbones/factory.js';
import { ClassificationModel } from '../../modeling/models/classification_model.js';
import type { ImageClassificationTaskConfig } from './config.js';

export interface ClassificationOutputs {
  /** [B, num_classes] */
  logits: tf.Tensor2D;
}

type Batch = ImageClassificationBatch;

/** Adapts a TopKAccuracy to the task metric interface. */
class AccuracyMetric implements Metric<ClassificationOutputs, Batch> {
  readonly name: string;
  constructor(private readonly acc: TopKAccuracy) {
    this.name = acc.name;
  }
  update(outputs: ClassificationOutputs, batch: Batch): Promise<void> {
    return this.acc.updateFrom(outputs.logits, batch.label);
  }
  result(): Record<string, number> {
    return this.acc.result();
  }
  reset(): void {
    this.acc.reset();
  }
}

export class ImageClassificationTask implements Task<
  ClassificationModel,
  Batch,
  ClassificationOutputs
> {
  readonly type = 'image_classification';
  readonly defaultEvalMetric = 'accuracy';
  /** Class names of the last loaded source, for prediction output. */
  classNames: readonly string[] | null = null;

  constructor(readonly config: ImageClassificationTaskConfig) {
    const size = config.model.input_size;
    if (size.length !== 3) {
      throw new Error(
        `task.model.input_size must be [height, width, channels], got [${size.join(', ')}]`,
      );
    }
    if (!(config.model.num_classes > 0))
      throw new Error(`task.model.num_classes must be > 0, got ${config.model.num_classes}`);
  }

  buildModel(): ClassificationModel {
    const m = this.config.model;
    return new ClassificationModel({
      backbone: buildBackbone(m.backbone, m.norm_activation),
      numClasses: m.num_classes,
      dropoutRate: m.dropout_rate,
      addHeadBatchNorm: m.add_head_batch_norm,
      normMomentum: m.norm_activation.norm_momentum,
      normEpsilon: m.norm_activation.norm_epsilon,
      kernelInitializer: m.kernel_initializer,
    });
  }

  dummyBatch(batchSize: number): Batch {
    const [h, w, c] = this.config.model.input_size;
    return {
      image: tf.zeros([batchSize, h, w, c]) as tf.Tensor4D,
      label: tf.zeros([batchSize], 'int32') as tf.Tensor1D,
    };
  }

  async buildInputs(
    which: 'train' | 'validation',
    opts: InputOptions,
  ): Promise<InputPipeline<Batch>> {
    const key = which === 'train' ? 'train_data' : 'validation_data';
    const dc = this.config[key];
    if (typeof dc.tfds_name !== 'string') {
      throw new Error(
        `task.${key}.tfds_name: a mapping of dataset names is not supported here; give one name`,
      );
    }
    if (!dc.tfds_name) {
      throw new Error(
        `task.${key}: set tfds_name to a built-in dataset (fashion_mnist, mnist, vg_shapes); ` +
          `reading TFRecord files from input_path ('${dc.input_path}') is not available in this task yet`,
      );
    }
    if (!(dc.global_batch_size > 0))
      throw new Error(`task.${key}.global_batch_size must be > 0, got ${dc.global_batch_size}`);
    const src = await loadBuiltinSource(
      dc.tfds_name,
      dc.tfds_split || (which === 'train' ? 'train' : 'test'),
      dc.tfds_data_dir,
    );
    this.classNames = src.classNames;
    const [, h, w, c] = src.shape;
    const [mh, mw, mc] = this.config.model.input_size;
    if (h !== mh || w !== mw || (c !== mc && !(c === 1 && mc === 3))) {
      throw new Error(
        `task.${key}: ${dc.tfds_name} images are ${h}x${w}x${c} but task.model.input_size is [${mh}, ${mw}, ${mc}]`,
      );
    }
    const maxLabel = src.labels.reduce((a, b) => Math.max(a, b), 0);
    if (maxLabel >= this.config.model.num_classes) {
      throw new Error(
        `task.${key}: label ${maxLabel} found but task.model.num_classes is ${this.config.model.num_classes}`,
      );
    }
    const gray = mc === 1;
    const grayMean = MEAN_RGB.reduce((a, b) => a + b, 0) / 3;
    const grayStd = STDDEV_RGB.reduce((a, b) => a + b, 0) / 3;
    return new InMemoryImageClassification({
      images: src.images,
      shape: src.shape,
      labels: src.labels,
      batchSize: dc.global_batch_size,
      isTraining: opts.training,
      seed: dc.seed ?? opts.seed,
      shuffle: opts.training,
      repeat: opts.training,
      dropRemainder: opts.training && dc.drop_remainder,
      augment: { randomFlip: opts.training && dc.aug_rand_hflip },
      mean: gray ? [grayMean] : MEAN_RGB,
      stddev: gray ? [grayStd] : STDDEV_RGB,
      outputChannels: mc,
    });
  }

  forward(
    model: ClassificationModel,
    batch: Batch,
    args: CallArgs,
  ): ForwardResult<ClassificationOutputs> {
    const lc = this.config.losses;
    const logits = model.apply(batch.image, args) as tf.Tensor2D;
    const numClasses = logits.shape[1];
    let perExample: tf.Tensor1D;
    if (this.config.train_data.is_multilabel || lc.use_binary_cross_entropy) {
      const targets =
        batch.label.rank === 2 ? batch.label : tf.oneHot(tf.cast(batch.label, 'int32'), numClasses);
      perExample = sigmoidCrossEntropy(logits, targets, lc.label_smoothing);
    } else if (lc.one_hot || lc.soft_labels || batch.label.rank === 2) {
      const targets =
        batch.label.rank === 2 ? batch.label : tf.oneHot(tf.cast(batch.label, 'int32'), numClasses);
      perExample = softmaxCrossEntropy(logits, targets, lc.label_smoothing);
    } else {
      perExample = sparseSoftmaxCrossEntropy(logits, batch.label, 0);
    }
    const classification = tf.mul(tf.mean(perExample), lc.loss_weight) as tf.Scalar;
    const l2 = l2Regularization(
      model
        .trainableWeights()
        .filter((w) => w.regularize)
        .map((w) => w.variable),
      lc.l2_weight_decay,
    );
    const losses: Losses = {
      total_loss: tf.add(classification, l2) as tf.Scalar,
      classification_loss: classification,
      l2_regularization_loss: l2,
    };
    return { losses, outputs: { logits } };
  }

  buildMetrics(_training: boolean): Metric<ClassificationOutputs, Batch>[] {
    const k = this.config.evaluation.top_k;
    const metrics: Metric<ClassificationOutputs, Batch>[] = [
      new AccuracyMetric(new TopKAccuracy(1)),
    ];
    if (k > 1 && k < this.config.model.num_classes)
      metrics.push(new AccuracyMetric(new TopKAccuracy(k)));
    return metrics;
  }

  /** Up to 3 de-normalised input images when `allow_image_summary` is set (Model Garden field). */
  async summaryImages(batch: Batch): Promise<ImageSummary[]> {
    if (!this.config.allow_image_summary) return [];
    const [b, h, w, c] = batch.image.shape;
    const n = Math.min(3, b);
    const gray = c === 1;
    const mean = gray ? [MEAN_RGB.reduce((x, y) => x + y, 0) / 3] : MEAN_RGB;
    const std = gray ? [STDDEV_RGB.reduce((x, y) => x + y, 0) / 3] : STDDEV_RGB;
    const first = tf.slice(batch.image, [0, 0, 0, 0], [n, h, w, c]);
    const pixels = (await first.data()) as Float32Array;
    first.dispose();
    const out: ImageSummary[] = [];
    for (let i = 0; i < n; i++) {
      const data = new Uint8Array(h * w * c);
      for (let j = 0; j < data.length; j++) {
        const v = pixels[i * h * w * c + j] * std[j % c] + mean[j % c];
        data[j] = Math.max(0, Math.min(255, Math.round(v)));
      }
      out.push({ tag: `input_image/${i}`, data, height: h, width: w, channels: c });
    }
    return out;
  }

  /** Softmax probabilities for a batch of normalised images [B, H, W, C]. */
  predict(model: ClassificationModel, images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(model.apply(images, { training: false }) as tf.Tensor2D));
  }
}
