/**
 * RetinaNet head (Model Garden `official/vision/modeling/heads/dense_prediction_heads.py`
 * `RetinaNetHead`): a class tower and a box tower of `numConvs` 3×3 convolutions, each conv shared
 * across levels but followed by its own batch norm per level (`classnet-conv-norm_<level>_<i>`),
 * then the activation; the `scores` classifier (prior-probability bias −log((1 − 0.01) / 0.01),
 * Lin et al. 2017 §4.1) and the `boxes` regressor, also shared across levels.
 *
 * Outputs per level '<min>'..'<max>': scores [B, H, W, A·numClasses] and boxes
 * [B, H, W, A·numParamsPerAnchor], A = num_anchors_per_location = num_scales · len(aspect_ratios).
 *
 * Sub-layers are held under Model Garden's attribute names (`_cls_convs/<i>`,
 * `_cls_norms/<level index>/<i>`, `_classifier`, `_box_convs/<i>`, `_box_norms/...`,
 * `_box_regressor`) with its Keras names, so TF checkpoints map by rule.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type Initializer } from '../../core/layer.js';
import { constant, randomNormal } from '../../core/initializers.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, SeparableConv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';

/** Model Garden's classifier bias: the logit of the prior probability 0.01. */
export const RETINANET_PRIOR_PROB = 0.01;

/** Multilevel feature maps keyed by level ('3'..'7'). */
export type LevelFeatures = Record<string, tf.Tensor>;

export interface RetinaNetHeadOutputs {
  /** Class logits per level, [B, H, W, A·numClasses]. */
  scores: LevelFeatures;
  /** Box codes per level, [B, H, W, A·numParamsPerAnchor]. */
  boxes: LevelFeatures;
}

/** Model Garden's `AttributeHead` config entry (rejected: not implemented here). */
export interface AttributeHeadSpec {
  name: string;
  type: string;
  size: number;
  prediction_tower_name?: string;
}

export interface RetinaNetHeadOptions {
  minLevel: number;
  maxLevel: number;
  numClasses: number;
  numAnchorsPerLocation: number;
  /** Default 4. */
  numConvs?: number;
  /** Default 256. */
  numFilters?: number;
  /** Not supported: must be empty. */
  attributeHeads?: readonly AttributeHeadSpec[] | null;
  /** Only meaningful with attribute heads; must be false. */
  shareClassificationHeads?: boolean;
  /** Default false. */
  useSeparableConv?: boolean;
  /** Default 'relu'. */
  activation?: string;
  /** Synchronised BN equals plain BN on one replica (accepted). */
  useSyncBn?: boolean;
  normMomentum?: number;
  normEpsilon?: number;
  /** Default 4. */
  numParamsPerAnchor?: number;
  /**
   * Default true: one conv per tower depth shared by all levels (`classnet-conv_<i>`) and one
   * predictor; false: per-level convs (`classnet-conv_<level>_<i>`) and predictors (`scores-<level>`).
   */
  shareLevelConvs?: boolean;
  name?: string;
}

function positiveInt(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`retinanet head: ${field} must be a positive integer, got ${value}`);
  }
  return value;
}

type HeadConv = Conv2D | SeparableConv2D;

/** One prediction tower, indexed by level index: its convs, norms and predictor per level. */
interface Tower {
  convs: HeadConv[][];
  norms: BatchNormalization[][];
  predictors: HeadConv[];
}

export class RetinaNetHead extends Layer<LevelFeatures, RetinaNetHeadOutputs> {
  readonly minLevel: number;
  readonly maxLevel: number;
  readonly numClasses: number;
  readonly numAnchorsPerLocation: number;
  readonly numParamsPerAnchor: number;
  private readonly activationFn: ActivationFn;
  private readonly cls: Tower;
  private readonly box: Tower;

  constructor(opts: RetinaNetHeadOptions) {
    super({ name: opts.name ?? 'retina_net_head' });
    if (opts.attributeHeads && opts.attributeHeads.length > 0) {
      throw new Error(
        'task.model.head.attribute_heads: attribute heads are not supported by vision-garden; leave the list empty',
      );
    }
    if (opts.shareClassificationHeads) {
      throw new Error(
        'task.model.head.share_classification_heads: only applies to attribute heads, which are not supported; leave it false',
      );
    }
    if (!Number.isInteger(opts.minLevel) || !Number.isInteger(opts.maxLevel)) {
      throw new Error(
        `retinanet head: min_level and max_level must be integers, got ${opts.minLevel}, ${opts.maxLevel}`,
      );
    }
    if (opts.maxLevel < opts.minLevel) {
      throw new Error(
        `retinanet head: max_level (${opts.maxLevel}) must be >= min_level (${opts.minLevel})`,
      );
    }
    this.minLevel = opts.minLevel;
    this.maxLevel = opts.maxLevel;
    this.numClasses = positiveInt(opts.numClasses, 'num_classes');
    this.numAnchorsPerLocation = positiveInt(
      opts.numAnchorsPerLocation,
      'num_anchors_per_location',
    );
    this.numParamsPerAnchor = positiveInt(opts.numParamsPerAnchor ?? 4, 'num_params_per_anchor');
    const numConvs = opts.numConvs ?? 4;
    if (!Number.isInteger(numConvs) || numConvs < 0) {
      throw new Error(`retinanet head: num_convs must be an integer >= 0, got ${numConvs}`);
    }
    const numFilters = positiveInt(opts.numFilters ?? 256, 'num_filters');
    this.activationFn = getActivation(opts.activation ?? 'relu');
    const separable = opts.useSeparableConv ?? false;
    const bn = { momentum: opts.normMomentum ?? 0.99, epsilon: opts.normEpsilon ?? 0.001 };

    // MG: plain convs use RandomNormal(0.01) for the towers and RandomNormal(1e-5) for the
    // predictors, with the kernel regularizer; separable convs keep Keras' defaults and none.
    const conv = (
      name: string,
      filters: number,
      stddev: number,
      biasInitializer: Initializer,
    ): HeadConv =>
      separable
        ? new SeparableConv2D({ name, filters, kernelSize: 3, padding: 'same', biasInitializer })
        : new Conv2D({
            name,
            filters,
            kernelSize: 3,
            padding: 'same',
            biasInitializer,
            kernelInitializer: randomNormal({ stddev }),
          });
    const zero = constant(0);

    const shared = opts.shareLevelConvs ?? true;
    // Creation order as MG's `_build_prediction_tower`: per level, each depth's conv (only at
    // the first level when shared) then that level's norm; the predictor(s) after.
    const tower = (
      prefix: string,
      attr: string,
      predictorName: string,
      filters: number,
      bias: Initializer,
    ): Tower => {
      const convs: HeadConv[][] = [];
      const norms: BatchNormalization[][] = [];
      const predictors: HeadConv[] = [];
      for (let level = this.minLevel; level <= this.maxLevel; level++) {
        const li = level - this.minLevel;
        const levelConvs: HeadConv[] = shared && li > 0 ? convs[0] : [];
        const levelNorms: BatchNormalization[] = [];
        for (let i = 0; i < numConvs; i++) {
          if (!shared) {
            levelConvs.push(
              this.add(
                `_${attr}_convs/${li}/${i}`,
                conv(`${prefix}-conv_${level}_${i}`, numFilters, 0.01, zero),
              ),
            );
          } else if (li === 0) {
            levelConvs.push(
              this.add(`_${attr}_convs/${i}`, conv(`${prefix}-conv_${i}`, numFilters, 0.01, zero)),
            );
          }
          levelNorms.push(
            this.add(
              `_${attr}_norms/${li}/${i}`,
              new BatchNormalization({ name: `${prefix}-conv-norm_${level}_${i}`, ...bn }),
            ),
          );
        }
        convs.push(levelConvs);
        norms.push(levelNorms);
      }
      const predictorAttr = attr === 'cls' ? '_classifier' : '_box_regressor';
      if (shared) {
        const p = this.add(predictorAttr, conv(predictorName, filters, 1e-5, bias));
        for (let level = this.minLevel; level <= this.maxLevel; level++) predictors.push(p);
      } else {
        for (let level = this.minLevel; level <= this.maxLevel; level++) {
          predictors.push(
            this.add(
              `${predictorAttr}/${level - this.minLevel}`,
              conv(`${predictorName}-${level}`, filters, 1e-5, bias),
            ),
          );
        }
      }
      return { convs, norms, predictors };
    };
    const priorBias = -Math.log((1 - RETINANET_PRIOR_PROB) / RETINANET_PRIOR_PROB);
    this.cls = tower(
      'classnet',
      'cls',
      'scores',
      this.numClasses * this.numAnchorsPerLocation,
      constant(priorBias),
    );
    this.box = tower(
      'boxnet',
      'box',
      'boxes',
      this.numParamsPerAnchor * this.numAnchorsPerLocation,
      zero,
    );
  }

  /** Tower `t` at level index `li`: (conv → norm → activation) × numConvs, then the predictor. */
  private runTower(x: tf.Tensor, t: Tower, li: number, args: CallArgs): tf.Tensor {
    let y = x;
    t.convs[li].forEach((c, i) => {
      y = this.activationFn(t.norms[li][i].apply(c.apply(y, args), args));
    });
    return t.predictors[li].apply(y, args);
  }

  protected call(features: LevelFeatures, args: CallArgs): RetinaNetHeadOutputs {
    for (let level = this.minLevel; level <= this.maxLevel; level++) {
      if (!features[String(level)]) {
        throw new Error(
          `retinanet head: no feature map for level ${level} (have levels ${Object.keys(features).join(', ')})`,
        );
      }
    }
    return tf.tidy(() => {
      const scores: LevelFeatures = {};
      const boxes: LevelFeatures = {};
      for (let level = this.minLevel; level <= this.maxLevel; level++) {
        const x = features[String(level)];
        const li = level - this.minLevel;
        scores[String(level)] = this.runTower(x, this.cls, li, args);
        boxes[String(level)] = this.runTower(x, this.box, li, args);
      }
      return { scores, boxes };
    });
  }
}
