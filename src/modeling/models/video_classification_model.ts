/**
 * Video classifier, Model Garden's `modeling/video_classification_model.py`: a 3-D backbone on
 * [batch, t, h, w, c], then global average pooling over (t, h, w) of the last endpoint (or of the
 * `require_endpoints`, or of every endpoint with `aggregate_endpoints`, concatenated), dropout and
 * a dense layer to logits (random_uniform kernel).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';
import { normActivationConfig } from '../../core/config/vision_common.js';
import { Dense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import { GlobalAveragePooling3D } from '../layers/pooling.js';
import type { Backbone } from '../backbones/contract.js';
import { buildBackbone3D } from '../backbones/factory.js';
import {
  videoClassificationModelConfig,
  type VideoClassificationModelConfig,
} from './video_classification_config.js';

export interface VideoClassificationModelOptions {
  backbone: Backbone;
  numClasses: number;
  dropoutRate?: number;
  /** Pool and concatenate every endpoint; default false. */
  aggregateEndpoints?: boolean;
  /** Endpoints to pool and concatenate; default (null or empty): the last one. */
  requireEndpoints?: readonly string[] | null;
  /** Initializer of the logits layer; default 'random_uniform' (Model Garden). */
  kernelInitializer?: string;
  name?: string;
}

export class VideoClassificationModel extends Layer<tf.Tensor, tf.Tensor> {
  readonly backbone: Backbone;
  readonly numClasses: number;
  /** The endpoints pooled into the head, in concatenation order. */
  readonly endpoints: readonly string[];
  private readonly pool: GlobalAveragePooling3D;
  private readonly dropout: Dropout | null = null;
  private readonly logits: Dense;
  /**
   * Model Garden's model is a Keras functional model: a checkpoint tracks the backbone and the
   * dense layer as `layer_with_weights-0/1`.
   */
  readonly kerasFunctional = true;

  constructor(opts: VideoClassificationModelOptions) {
    super({ name: opts.name ?? 'video_classification_model' });
    if (!(Number.isInteger(opts.numClasses) && opts.numClasses > 0)) {
      throw new Error(
        `video classification model: num_classes must be > 0, got ${opts.numClasses}`,
      );
    }
    this.numClasses = opts.numClasses;
    this.backbone = this.add('_backbone', opts.backbone);
    const specs = opts.backbone.outputSpecs;
    const names = Object.keys(specs);
    if (opts.aggregateEndpoints) {
      this.endpoints = names;
    } else if (opts.requireEndpoints?.length) {
      for (const n of opts.requireEndpoints) {
        if (!(n in specs)) {
          throw new Error(
            `task.model.require_endpoints: the backbone has no endpoint '${n}' (it has: ${names.join(', ')})`,
          );
        }
      }
      this.endpoints = [...opts.requireEndpoints];
    } else {
      // MG takes endpoints[max(endpoints.keys())]: the largest key as a string.
      this.endpoints = [[...names].sort().at(-1)!];
    }
    this.pool = this.add('_pool', new GlobalAveragePooling3D({}));
    if ((opts.dropoutRate ?? 0) > 0) {
      this.dropout = this.add('_dropout', new Dropout({ rate: opts.dropoutRate ?? 0 }));
    }
    this.logits = this.add(
      '_logits',
      new Dense({
        units: opts.numClasses,
        kernelInitializer: getInitializer(opts.kernelInitializer ?? 'random_uniform'),
      }),
    );
  }

  /** x: [batch, t, h, w, c] → logits [batch, numClasses]. */
  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    if (x.rank !== 5) {
      throw new Error(
        `${this.fullPath()}: expected a video batch [batch, t, h, w, c], got shape [${x.shape}]`,
      );
    }
    const endpoints = this.backbone.apply(x, args);
    const pooled = this.endpoints.map((n) => this.pool.apply(endpoints[n], args));
    let y = pooled.length === 1 ? pooled[0] : tf.concat(pooled, 1);
    if (this.dropout) y = this.dropout.apply(y, args);
    return this.logits.apply(y, args);
  }
}

/**
 * Model Garden `factory_3d.build_video_classification_model`: the model of a task's snake_case
 * `task.model` section (parsed here, so a raw YAML mapping works) with `numClasses` from the
 * task's data config (MG passes `train_data.num_classes`).
 */
export function buildVideoClassificationModel(
  modelCfg: VideoClassificationModelConfig | Record<string, unknown>,
  numClasses: number,
): VideoClassificationModel {
  const parsed = videoClassificationModelConfig.safeParse(modelCfg);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = ['task', 'model', ...issue.path.map(String)].join('.');
    throw new Error(`${where}: ${issue.message}`);
  }
  const cfg = parsed.data;
  if (cfg.model_type !== 'video_classification') {
    throw new Error(
      `task.model.model_type: '${cfg.model_type}' is not built here (only 'video_classification')`,
    );
  }
  const na = normActivationConfig.parse(cfg.norm_activation);
  return new VideoClassificationModel({
    backbone: buildBackbone3D(cfg.backbone, na),
    numClasses,
    dropoutRate: cfg.dropout_rate,
    aggregateEndpoints: cfg.aggregate_endpoints,
    requireEndpoints: cfg.require_endpoints,
  });
}
