/**
 * Pooling layers with Keras semantics (NHWC / NDHWC). Strides default to the pool size and padding
 * to 'valid'; 'same' uses TF's padding (extra on bottom/right) and average pooling counts only
 * real (unpadded) inputs, as TF does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import { checkPadding, setKerasDefaultName, toTuple, type Padding } from './layer_utils.js';

export interface PoolingOptions extends LayerOptions {
  /** Window size; default 2 per spatial dim (Keras). */
  poolSize?: number | number[];
  /** Default: the pool size (Keras strides=None). */
  strides?: number | number[];
  /** Default 'valid'. */
  padding?: Padding;
}

abstract class Pooling extends Layer {
  readonly poolSize: number[];
  readonly strides: number[];
  readonly padding: Padding;
  protected readonly rank: number;

  constructor(opts: PoolingOptions, rank: number, kerasName: string, className: string) {
    super(opts);
    setKerasDefaultName(this, opts, kerasName);
    const what = `${className} '${this.name}'`;
    this.rank = rank;
    this.poolSize = toTuple(opts.poolSize ?? 2, rank, `${what}: poolSize`);
    this.strides = toTuple(opts.strides ?? this.poolSize, rank, `${what}: strides`);
    this.padding = checkPadding(opts.padding ?? 'valid', `${what}: padding`);
  }

  protected checkInput(x: tf.Tensor): void {
    if (x.rank !== this.rank + 2) {
      throw new Error(
        `${this.constructor.name} '${this.fullPath()}': expected a rank-${this.rank + 2} input, got shape [${x.shape}]`,
      );
    }
  }
}

type Pair = [number, number];
type Triple = [number, number, number];

/** Keras `MaxPooling2D` on [batch, h, w, c]. */
export class MaxPool2D extends Pooling {
  constructor(opts: PoolingOptions = {}) {
    super(opts, 2, 'max_pooling2d', 'MaxPool2D');
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    this.checkInput(x);
    return tf.maxPool(x as tf.Tensor4D, this.poolSize as Pair, this.strides as Pair, this.padding);
  }
}

/** Keras `AveragePooling2D` on [batch, h, w, c]. */
export class AvgPool2D extends Pooling {
  constructor(opts: PoolingOptions = {}) {
    super(opts, 2, 'average_pooling2d', 'AvgPool2D');
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    this.checkInput(x);
    return tf.avgPool(x as tf.Tensor4D, this.poolSize as Pair, this.strides as Pair, this.padding);
  }
}

/** Keras `MaxPooling3D` on [batch, d, h, w, c]. */
export class MaxPool3D extends Pooling {
  constructor(opts: PoolingOptions = {}) {
    super(opts, 3, 'max_pooling3d', 'MaxPool3D');
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    this.checkInput(x);
    return tf.maxPool3d(
      x as tf.Tensor5D,
      this.poolSize as Triple,
      this.strides as Triple,
      this.padding,
    );
  }
}

/** Keras `AveragePooling3D` on [batch, d, h, w, c]. */
export class AvgPool3D extends Pooling {
  constructor(opts: PoolingOptions = {}) {
    super(opts, 3, 'average_pooling3d', 'AvgPool3D');
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    this.checkInput(x);
    return tf.avgPool3d(
      x as tf.Tensor5D,
      this.poolSize as Triple,
      this.strides as Triple,
      this.padding,
    );
  }
}

export interface GlobalPoolingOptions extends LayerOptions {
  /** Keep the spatial dims as size 1; default false (Keras). */
  keepdims?: boolean;
}

abstract class GlobalAveragePooling extends Layer {
  readonly keepdims: boolean;
  private readonly spatialRank: number;

  constructor(opts: GlobalPoolingOptions, spatialRank: number, kerasName: string) {
    super(opts);
    setKerasDefaultName(this, opts, kerasName);
    this.keepdims = opts.keepdims ?? false;
    this.spatialRank = spatialRank;
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    if (x.rank !== this.spatialRank + 2) {
      throw new Error(
        `${this.constructor.name} '${this.fullPath()}': expected a rank-${this.spatialRank + 2} input, got shape [${x.shape}]`,
      );
    }
    const axes = Array.from({ length: this.spatialRank }, (_, i) => i + 1);
    return tf.mean(x, axes, this.keepdims);
  }
}

/** Mean over h, w of [batch, h, w, c] → [batch, c] (or [batch, 1, 1, c] with keepdims). */
export class GlobalAveragePooling2D extends GlobalAveragePooling {
  constructor(opts: GlobalPoolingOptions = {}) {
    super(opts, 2, 'global_average_pooling2d');
  }
}

/** Mean over d, h, w of [batch, d, h, w, c] → [batch, c] (or [batch, 1, 1, 1, c]). */
export class GlobalAveragePooling3D extends GlobalAveragePooling {
  constructor(opts: GlobalPoolingOptions = {}) {
    super(opts, 3, 'global_average_pooling3d');
  }
}
