/**
 * The instance heads of Mask R-CNN (Model Garden `official/vision/modeling/heads/
 * instance_heads.py`):
 *
 * - {@link DetectionHead} (Fast R-CNN box head): RoI features [B, N, h, w, C] → `numConvs` ×
 *   (3×3 conv, BN, activation) on each RoI → flattened to [B, N, h·w·F] → `numFcs` × (dense,
 *   BN, activation) → class logits [B, N, numClasses] (`detection-scores`) and box codes
 *   [B, N, 4·numClasses] or, class-agnostic, [B, N, 4] (`detection-boxes`);
 * - {@link MaskHead}: RoI features [B, N, h, w, C] → `numConvs` × (3×3 conv, BN, activation) →
 *   transposed conv (kernel = stride = `upsampleFactor`, `mask-upsampling`), BN, activation → 1×1
 *   conv to one logit map per class (`mask-logits`) → the map of each RoI's class:
 *   [B, N, h·u, w·u] (class-agnostic: the single map).
 *
 * Sub-layers sit under Model Garden's attributes (`_convs/<i>`, `_conv_norms/<i>`, `_fcs/<i>`,
 * `_fc_norms/<i>`, `_classifier`, `_box_regressor`; `_deconv`, `_deconv_bn`, `_mask_regressor`)
 * with its Keras names, so TF checkpoints map by rule.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { randomNormal, varianceScaling, zeros } from '../../core/initializers.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, SeparableConv2D } from '../layers/conv.js';
import { Conv2DTranspose } from '../layers/conv_transpose.js';
import { Dense } from '../layers/dense.js';
import { BatchNormalization } from '../layers/normalization.js';

/** Options shared by both heads (MG's constructor arguments). */
interface InstanceHeadCommon {
  numClasses: number;
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

export interface DetectionHeadOptions extends InstanceHeadCommon {
  /** Default 0 (MG's layer default; the config's is 4). */
  numConvs?: number;
  /** Default 2 (the config's is 1). */
  numFcs?: number;
  /** Default 1024. */
  fcDims?: number;
  /** One box per RoI instead of one per class; default false. */
  classAgnosticBboxPred?: boolean;
}

export interface MaskHeadOptions extends InstanceHeadCommon {
  /** Default 4. */
  numConvs?: number;
  /** Default 2. */
  upsampleFactor?: number;
  /** One mask per RoI shared by all classes; default false. */
  classAgnostic?: boolean;
}

type HeadConv = Conv2D | SeparableConv2D;

function checkInt(head: string, value: number, min: number, field: string): number {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${head}: ${field} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/** MG's conv initializer for both heads: VarianceScaling(2, fan_out, untruncated normal). */
const headConvInit = () =>
  varianceScaling({ scale: 2, mode: 'fan_out', distribution: 'untruncated_normal' });

function headConv(separable: boolean, name: string, filters: number, kernelSize: number): HeadConv {
  const padding = kernelSize === 1 ? 'valid' : 'same';
  return separable
    ? new SeparableConv2D({
        name,
        filters,
        kernelSize,
        padding,
        depthwiseInitializer: headConvInit(),
        pointwiseInitializer: headConvInit(),
        biasInitializer: zeros,
      })
    : new Conv2D({
        name,
        filters,
        kernelSize,
        padding,
        kernelInitializer: headConvInit(),
        biasInitializer: zeros,
      });
}

/** [B, N, h, w, C] → [B·N, h, w, C], checking the rank. */
function flattenRois(x: tf.Tensor, head: string): tf.Tensor4D {
  if (x.rank !== 5) {
    throw new Error(`${head}: RoI features must be [B, N, h, w, C], got [${x.shape}]`);
  }
  const [, , h, w, c] = x.shape as number[];
  return tf.reshape(x, [-1, h, w, c]) as tf.Tensor4D;
}

export class DetectionHead extends Layer<tf.Tensor, { classes: tf.Tensor; boxes: tf.Tensor }> {
  readonly numClasses: number;
  readonly classAgnosticBboxPred: boolean;
  private readonly activationFn: ActivationFn;
  private readonly convs: HeadConv[] = [];
  private readonly convNorms: BatchNormalization[] = [];
  private readonly fcs: Dense[] = [];
  private readonly fcNorms: BatchNormalization[] = [];
  private readonly classifier: Dense;
  private readonly boxRegressor: Dense;

  constructor(opts: DetectionHeadOptions) {
    super({ name: opts.name ?? 'detection_head' });
    const h = 'detection head';
    this.numClasses = checkInt(h, opts.numClasses, 1, 'num_classes');
    const numConvs = checkInt(h, opts.numConvs ?? 0, 0, 'num_convs');
    const numFilters = checkInt(h, opts.numFilters ?? 256, 1, 'num_filters');
    const numFcs = checkInt(h, opts.numFcs ?? 2, 0, 'num_fcs');
    const fcDims = checkInt(h, opts.fcDims ?? 1024, 1, 'fc_dims');
    this.classAgnosticBboxPred = opts.classAgnosticBboxPred ?? false;
    this.activationFn = getActivation(opts.activation ?? 'relu');
    const bn = { momentum: opts.normMomentum ?? 0.99, epsilon: opts.normEpsilon ?? 0.001 };
    const separable = opts.useSeparableConv ?? false;
    for (let i = 0; i < numConvs; i++) {
      this.convs.push(
        this.add(`_convs/${i}`, headConv(separable, `detection-conv_${i}`, numFilters, 3)),
      );
      this.convNorms.push(
        this.add(
          `_conv_norms/${i}`,
          new BatchNormalization({ name: `detection-conv-bn_${i}`, ...bn }),
        ),
      );
    }
    for (let i = 0; i < numFcs; i++) {
      this.fcs.push(
        this.add(
          `_fcs/${i}`,
          new Dense({
            name: `detection-fc_${i}`,
            units: fcDims,
            kernelInitializer: varianceScaling({
              scale: 1 / 3,
              mode: 'fan_out',
              distribution: 'uniform',
            }),
          }),
        ),
      );
      this.fcNorms.push(
        this.add(`_fc_norms/${i}`, new BatchNormalization({ name: `detection-fc-bn_${i}`, ...bn })),
      );
    }
    this.classifier = this.add(
      '_classifier',
      new Dense({
        name: 'detection-scores',
        units: this.numClasses,
        kernelInitializer: randomNormal({ stddev: 0.01 }),
      }),
    );
    this.boxRegressor = this.add(
      '_box_regressor',
      new Dense({
        name: 'detection-boxes',
        units: this.classAgnosticBboxPred ? 4 : 4 * this.numClasses,
        kernelInitializer: randomNormal({ stddev: 0.001 }),
      }),
    );
  }

  protected call(x: tf.Tensor, args: CallArgs): { classes: tf.Tensor; boxes: tf.Tensor } {
    const [b, n, rh, rw] = x.shape as number[];
    return tf.tidy(() => {
      let y: tf.Tensor = flattenRois(x, 'detection head');
      this.convs.forEach((c, i) => {
        y = this.activationFn(this.convNorms[i].apply(c.apply(y, args), args));
      });
      y = tf.reshape(y, [b, n, rh * rw * (y.shape[3] as number)]);
      this.fcs.forEach((fc, i) => {
        y = this.activationFn(this.fcNorms[i].apply(fc.apply(y, args), args));
      });
      return { classes: this.classifier.apply(y, args), boxes: this.boxRegressor.apply(y, args) };
    });
  }
}

export interface MaskHeadInputs {
  /** [B, N, h, w, C] RoI features. */
  features: tf.Tensor;
  /** [B, N] int32 class of each RoI (0-based logit index; 0 is the background). */
  classes: tf.Tensor;
}

export class MaskHead extends Layer<MaskHeadInputs, tf.Tensor> {
  readonly numClasses: number;
  readonly upsampleFactor: number;
  readonly classAgnostic: boolean;
  private readonly activationFn: ActivationFn;
  private readonly convs: HeadConv[] = [];
  private readonly convNorms: BatchNormalization[] = [];
  private readonly deconv: Conv2DTranspose;
  private readonly deconvBn: BatchNormalization;
  private readonly maskRegressor: HeadConv;

  constructor(opts: MaskHeadOptions) {
    super({ name: opts.name ?? 'mask_head' });
    const h = 'mask head';
    this.numClasses = checkInt(h, opts.numClasses, 1, 'num_classes');
    const numConvs = checkInt(h, opts.numConvs ?? 4, 0, 'num_convs');
    const numFilters = checkInt(h, opts.numFilters ?? 256, 1, 'num_filters');
    this.upsampleFactor = checkInt(h, opts.upsampleFactor ?? 2, 1, 'upsample_factor');
    this.classAgnostic = opts.classAgnostic ?? false;
    this.activationFn = getActivation(opts.activation ?? 'relu');
    const bn = { momentum: opts.normMomentum ?? 0.99, epsilon: opts.normEpsilon ?? 0.001 };
    const separable = opts.useSeparableConv ?? false;
    for (let i = 0; i < numConvs; i++) {
      this.convs.push(
        this.add(`_convs/${i}`, headConv(separable, `mask-conv_${i}`, numFilters, 3)),
      );
      this.convNorms.push(
        this.add(`_conv_norms/${i}`, new BatchNormalization({ name: `mask-conv-bn_${i}`, ...bn })),
      );
    }
    this.deconv = this.add(
      '_deconv',
      new Conv2DTranspose({
        name: 'mask-upsampling',
        filters: numFilters,
        kernelSize: this.upsampleFactor,
        strides: this.upsampleFactor,
        padding: 'valid',
        kernelInitializer: headConvInit(),
      }),
    );
    this.deconvBn = this.add(
      '_deconv_bn',
      new BatchNormalization({ name: 'mask-deconv-bn', ...bn }),
    );
    this.maskRegressor = this.add(
      '_mask_regressor',
      headConv(separable, 'mask-logits', this.classAgnostic ? 1 : this.numClasses, 1),
    );
  }

  protected call(inputs: MaskHeadInputs, args: CallArgs): tf.Tensor {
    const { features, classes } = inputs;
    const [b, n] = features.shape as number[];
    if (classes.rank !== 2 || classes.shape[0] !== b || classes.shape[1] !== n) {
      throw new Error(`mask head: RoI classes must be [${b}, ${n}], got [${classes.shape}]`);
    }
    return tf.tidy(() => {
      let y: tf.Tensor = flattenRois(features, 'mask head');
      this.convs.forEach((c, i) => {
        y = this.activationFn(this.convNorms[i].apply(c.apply(y, args), args));
      });
      y = this.activationFn(this.deconvBn.apply(this.deconv.apply(y, args), args));
      const logits = this.maskRegressor.apply(y, args); // [B·N, mh, mw, K]
      const [, mh, mw, k] = logits.shape as number[];
      if (this.classAgnostic) return tf.reshape(logits, [b, n, mh, mw]);
      // Each RoI's class map: one gather over the [B·N·K, mh·mw] maps (row i·K + class_i).
      const maps = tf.reshape(tf.transpose(logits, [0, 3, 1, 2]), [b * n * k, mh * mw]);
      const rows = tf.add(
        tf.mul(tf.range(0, b * n, 1, 'int32'), tf.scalar(k, 'int32')),
        tf.reshape(tf.cast(classes, 'int32'), [-1]),
      );
      return tf.reshape(tf.gather(maps, rows), [b, n, mh, mw]);
    });
  }
}
