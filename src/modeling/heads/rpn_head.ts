/**
 * Region proposal network head (Model Garden `official/vision/modeling/heads/
 * dense_prediction_heads.py` `RPNHead`; Ren et al. 2015): `numConvs` 3×3 convolutions shared by
 * all levels, each followed by its own batch norm per level (`rpn-conv-norm_<level>_<i>`) and the
 * activation, then a 1×1 objectness classifier (`rpn-scores`, A outputs) and a 1×1 box regressor
 * (`rpn-boxes`, 4·A outputs), both shared by the levels.
 *
 * Outputs per level '<min>'..'<max>': scores [B, H, W, A] (logits) and boxes [B, H, W, 4·A].
 * Sub-layers sit under Model Garden's attributes (`_convs/<i>`, `_norms/<level index>/<i>`,
 * `_classifier`, `_box_regressor`) with its Keras names, so TF checkpoints map by rule.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { randomNormal, zeros } from '../../core/initializers.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, SeparableConv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import type { LevelFeatures } from './dense_prediction_heads.js';

export interface RPNHeadOptions {
  minLevel: number;
  maxLevel: number;
  numAnchorsPerLocation: number;
  /** Default 1. */
  numConvs?: number;
  /** Default 256. */
  numFilters?: number;
  /** Default false. */
  useSeparableConv?: boolean;
  /** Default 'relu'. */
  activation?: string;
  /** Synchronised BN equals plain BN on one replica (accepted). */
  useSyncBn?: boolean;
  normMomentum?: number;
  normEpsilon?: number;
  name?: string;
}

export interface RPNHeadOutputs {
  /** Objectness logits per level, [B, H, W, A]. */
  scores: LevelFeatures;
  /** Box codes per level, [B, H, W, 4·A]. */
  boxes: LevelFeatures;
}

type HeadConv = Conv2D | SeparableConv2D;

function checkInt(value: number, min: number, field: string): number {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`rpn head: ${field} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

export class RPNHead extends Layer<LevelFeatures, RPNHeadOutputs> {
  readonly minLevel: number;
  readonly maxLevel: number;
  readonly numAnchorsPerLocation: number;
  private readonly activationFn: ActivationFn;
  private readonly convs: HeadConv[] = [];
  private readonly norms: BatchNormalization[][] = [];
  private readonly classifier: HeadConv;
  private readonly boxRegressor: HeadConv;

  constructor(opts: RPNHeadOptions) {
    super({ name: opts.name ?? 'rpn_head' });
    this.minLevel = checkInt(opts.minLevel, 0, 'min_level');
    this.maxLevel = checkInt(opts.maxLevel, this.minLevel, 'max_level');
    this.numAnchorsPerLocation = checkInt(
      opts.numAnchorsPerLocation,
      1,
      'num_anchors_per_location',
    );
    const numConvs = checkInt(opts.numConvs ?? 1, 0, 'num_convs');
    const numFilters = checkInt(opts.numFilters ?? 256, 1, 'num_filters');
    const separable = opts.useSeparableConv ?? false;
    this.activationFn = getActivation(opts.activation ?? 'relu');
    const bn = { momentum: opts.normMomentum ?? 0.99, epsilon: opts.normEpsilon ?? 0.001 };
    // MG: plain convs draw RandomNormal(0.01) (tower) and RandomNormal(1e-5) (predictors);
    // separable ones keep Keras' defaults.
    const conv = (name: string, filters: number, kernelSize: number, stddev: number): HeadConv =>
      separable
        ? new SeparableConv2D({
            name,
            filters,
            kernelSize,
            padding: kernelSize === 1 ? 'valid' : 'same',
            biasInitializer: zeros,
          })
        : new Conv2D({
            name,
            filters,
            kernelSize,
            padding: kernelSize === 1 ? 'valid' : 'same',
            biasInitializer: zeros,
            kernelInitializer: randomNormal({ stddev }),
          });
    // Creation order as MG's build: per level, the shared convs (first level only), that
    // level's norms; then the two predictors.
    for (let level = this.minLevel; level <= this.maxLevel; level++) {
      const li = level - this.minLevel;
      const levelNorms: BatchNormalization[] = [];
      for (let i = 0; i < numConvs; i++) {
        if (li === 0) {
          this.convs.push(this.add(`_convs/${i}`, conv(`rpn-conv_${i}`, numFilters, 3, 0.01)));
        }
        levelNorms.push(
          this.add(
            `_norms/${li}/${i}`,
            new BatchNormalization({ name: `rpn-conv-norm_${level}_${i}`, ...bn }),
          ),
        );
      }
      this.norms.push(levelNorms);
    }
    const a = this.numAnchorsPerLocation;
    this.classifier = this.add('_classifier', conv('rpn-scores', a, 1, 1e-5));
    this.boxRegressor = this.add('_box_regressor', conv('rpn-boxes', 4 * a, 1, 1e-5));
  }

  protected call(features: LevelFeatures, args: CallArgs): RPNHeadOutputs {
    for (let level = this.minLevel; level <= this.maxLevel; level++) {
      if (!features[String(level)]) {
        throw new Error(
          `rpn head: no feature map for level ${level} (have levels ${Object.keys(features).join(', ')})`,
        );
      }
    }
    return tf.tidy(() => {
      const scores: LevelFeatures = {};
      const boxes: LevelFeatures = {};
      for (let level = this.minLevel; level <= this.maxLevel; level++) {
        let x = features[String(level)];
        const norms = this.norms[level - this.minLevel];
        this.convs.forEach((c, i) => {
          x = this.activationFn(norms[i].apply(c.apply(x, args), args));
        });
        scores[String(level)] = this.classifier.apply(x, args);
        boxes[String(level)] = this.boxRegressor.apply(x, args);
      }
      return { scores, boxes };
    });
  }
}
