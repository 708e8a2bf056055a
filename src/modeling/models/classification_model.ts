/**
 * Image classifier: backbone → last endpoint → (head batch norm) → global average pooling →
 * dropout → dense logits, as Model Garden's `modeling/classification_model.py`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { Dense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import { BatchNormalization } from '../layers/normalization.js';
import { GlobalAveragePooling2D } from '../layers/pooling.js';
import type { Backbone } from '../backbones/contract.js';

export interface ClassificationModelOptions {
  backbone: Backbone;
  numClasses: number;
  dropoutRate?: number;
  addHeadBatchNorm?: boolean;
  normMomentum?: number;
  normEpsilon?: number;
  /** Initializer of the logits layer (Model Garden default: 'random_uniform'). */
  kernelInitializer?: string;
  name?: string;
}

export class ClassificationModel extends Layer<tf.Tensor, tf.Tensor> {
  readonly backbone: Backbone;
  private readonly headNorm: BatchNormalization | null = null;
  private readonly pool: GlobalAveragePooling2D;
  private readonly dropout: Dropout | null = null;
  private readonly logits: Dense;
  readonly numClasses: number;
  /**
   * Model Garden's ClassificationModel is a Keras functional model: its checkpoints track the
   * backbone and the logits layer as `layer_with_weights-0/1` (src/interop/export_tf.ts).
   */
  readonly kerasFunctional = true;

  constructor(opts: ClassificationModelOptions) {
    super({ name: opts.name ?? 'classification_model' });
    if (!(opts.numClasses > 0))
      throw new Error(`classification model: num_classes must be > 0, got ${opts.numClasses}`);
    this.numClasses = opts.numClasses;
    this.backbone = this.add('_backbone', opts.backbone);
    if (opts.addHeadBatchNorm) {
      this.headNorm = this.add(
        '_norm',
        new BatchNormalization({
          momentum: opts.normMomentum ?? 0.99,
          epsilon: opts.normEpsilon ?? 0.001,
        }),
      );
    }
    this.pool = this.add('_pool', new GlobalAveragePooling2D({}));
    if ((opts.dropoutRate ?? 0) > 0)
      this.dropout = this.add('_dropout', new Dropout({ rate: opts.dropoutRate ?? 0 }));
    this.logits = this.add(
      '_logits',
      new Dense({
        units: opts.numClasses,
        kernelInitializer: getInitializer(opts.kernelInitializer ?? 'random_uniform'),
      }),
    );
  }

  /**
   * The backbone's last endpoint: the deepest level when endpoints are levels ('2'..'5'),
   * otherwise the largest key (Model Garden takes `max(endpoints.keys())`; ViT's is 'pre_logits').
   */
  features(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const endpoints = this.backbone.apply(x, args);
    const keys = Object.keys(endpoints);
    const key = keys.every((k) => /^\d+$/.test(k))
      ? String(Math.max(...keys.map(Number)))
      : [...keys].sort().at(-1)!;
    return endpoints[key];
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = this.features(x, args);
    if (this.headNorm) y = this.headNorm.apply(y, args);
    y = this.pool.apply(y, args);
    if (this.dropout) y = this.dropout.apply(y, args);
    return this.logits.apply(y, args);
  }
}
