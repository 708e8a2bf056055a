/**
 * MoViNet's convolution block (official/projects/movinet/modeling/movinet_layers.py `ConvBlock`,
 * `StreamConvBlock`, `MobileConv2D`): conv → batch norm → activation, split in (2+1)D per the
 * convolution type:
 * '3d' (one Conv3D), '3d_2plus1d' (a (1, k, k) Conv3D, then a (kt, 1, 1) Conv3D, each with its
 * own batch norm and activation), '2plus1d' (the same split as Conv2D / DepthwiseConv2D on frames
 * reshaped to 4-D). Causal convolutions pad all kt − 1 frames in front (or take them from the
 * stream buffer); spatial padding is TF's SAME.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, Conv3D, DepthwiseConv2D, tfPadding } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import { shape5, streamBuffer, type Streamed } from '../layers/stream_layers.js';

export const CONV_TYPES = ['3d', '2plus1d', '3d_2plus1d'] as const;
export type ConvType = (typeof CONV_TYPES)[number];
export const SE_TYPES = ['3d', '2d', '2plus3d', 'none'] as const;
export type SeType = (typeof SE_TYPES)[number];

type Triple = [number, number, number];

/** Options shared by MoViNet's convolution blocks (MG argument names in camelCase). */
export interface MovinetConvCommon {
  convType: ConvType;
  kernelInitializer: string;
  normMomentum: number;
  normEpsilon: number;
}

export interface ConvBlockOptions extends MovinetConvCommon, LayerOptions {
  filters: number;
  kernelSize: Triple;
  strides?: Triple;
  depthwise?: boolean;
  causal?: boolean;
  useBias?: boolean;
  useBatchNorm?: boolean;
  activation?: string | null;
  /** Serialised initializer for the kernels; overrides `kernelInitializer`. */
  kernelInitializerConfig?: { class_name: string; config: Record<string, unknown> };
  /** Set for a `StreamConvBlock`: its buffer state is `<statePrefix>_stream_buffer`. */
  statePrefix?: string;
}

/** [before, after] of TF SAME padding for each of `sizes` (kernel k, stride s). */
function samePads(sizes: number[], kernel: number[], strides: number[]): [number, number][] {
  return sizes.map((n, i) => {
    const p = tfPadding(n, kernel[i], strides[i], 1, 'same');
    return [p.before, p.after];
  });
}

/**
 * Conv2D on video frames (MG `MobileConv2D`): [B, T, H, W, C] is reshaped to [B·T, H, W, C]
 * (spatial) or [B, T, H·W, C] (temporal, kernel (kt, 1)), convolved and reshaped back.
 */
class MobileConv2D extends Layer {
  private readonly temporal: boolean;
  private readonly kernel: [number, number];
  private readonly strides: [number, number];
  private readonly causal: boolean;

  constructor(
    opts: LayerOptions & {
      filters: number;
      kernelSize: [number, number];
      strides: [number, number];
      depthwise: boolean;
      useBias: boolean;
      temporal: boolean;
      causal: boolean;
      kernelInitializer: string | ConvBlockOptions['kernelInitializerConfig'];
    },
  ) {
    super(opts);
    this.temporal = opts.temporal;
    this.kernel = opts.kernelSize;
    this.strides = opts.strides;
    this.causal = opts.causal;
    const common = { kernelSize: opts.kernelSize, strides: opts.strides, useBias: opts.useBias };
    this.add(
      '_conv',
      opts.depthwise
        ? new DepthwiseConv2D({ ...common, depthwiseInitializer: opts.kernelInitializer })
        : new Conv2D({
            ...common,
            filters: opts.filters,
            kernelInitializer: opts.kernelInitializer,
          }),
    );
  }

  /** `x` [B, T, H, W, C]; `buffered`: time already holds the kt − 1 causal frames. */
  run(x: tf.Tensor, args: CallArgs, buffered: boolean): tf.Tensor {
    const [b, t, h, w, c] = shape5(x, `MobileConv2D '${this.fullPath()}'`);
    const x4 = this.temporal ? tf.reshape(x, [b, t, h * w, c]) : tf.reshape(x, [b * t, h, w, c]);
    const pads = samePads(x4.shape.slice(1, 3), this.kernel, this.strides);
    if (this.temporal && this.causal) pads[0] = buffered ? [0, 0] : [this.kernel[0] - 1, 0];
    const padded = tf.pad(x4, [[0, 0], ...pads, [0, 0]]);
    const y = this.child('_conv').apply(padded, args) as tf.Tensor;
    const [n, yh, yw, yc] = y.shape as [number, number, number, number];
    return this.temporal ? tf.reshape(y, [b, yh, h, w, yc]) : tf.reshape(y, [b, n / b, yh, yw, yc]);
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    return this.run(x, args, false);
  }
}

/**
 * Conv → BN → activation, split in (2+1)D per `convType` (MG `ConvBlock`); with `statePrefix`,
 * MG's `StreamConvBlock`: a causal block with kt > 1 keeps the last kt − 1 frames of its temporal
 * convolution's input as state (before the whole 3-D conv, or before the temporal one only).
 */
export class ConvBlock extends Layer<Streamed, Streamed> {
  readonly filters: number;
  readonly kernelSize: Triple;
  readonly strides: Triple;
  readonly convType: ConvType;
  private readonly opts: ConvBlockOptions;
  private readonly act: ActivationFn | null;
  private readonly bufferName: string | null;
  private split = false;

  constructor(opts: ConvBlockOptions) {
    super(opts);
    this.opts = opts;
    this.filters = opts.filters;
    this.kernelSize = opts.kernelSize;
    this.strides = opts.strides ?? [1, 1, 1];
    this.convType = opts.convType;
    this.act = opts.activation ? getActivation(opts.activation) : null;
    const useBuffer =
      opts.statePrefix !== undefined && opts.causal === true && this.kernelSize[0] > 1;
    this.bufferName = useBuffer ? `${opts.statePrefix}_stream_buffer` : null;
  }

  protected override build(input: Streamed): void {
    const o = this.opts;
    const [kt, kh, kw] = this.kernelSize;
    const [st, sh, sw] = this.strides;
    const groups = o.depthwise ? shape5(input.x, `ConvBlock '${this.fullPath()}'`)[4] : 1;
    const init = o.kernelInitializerConfig ?? o.kernelInitializer;
    const useBias = o.useBias ?? false;
    const causal = o.causal ?? false;
    const bn = (name: string) =>
      new BatchNormalization({ name, momentum: o.normMomentum, epsilon: o.normEpsilon });
    if (o.useBatchNorm ?? true) {
      this.add('_batch_norm', bn('bn'));
      if (this.convType !== '3d' && kt > 1) this.add('_batch_norm_temporal', bn('bn_temporal'));
    }
    const conv3d = (name: string, kernel: Triple, strides: Triple) =>
      new Conv3D({
        name,
        filters: this.filters,
        kernelSize: kernel,
        strides,
        padding: 'valid',
        groups,
        useBias,
        kernelInitializer: init,
      });
    if (this.convType === '2plus1d') {
      const mobile = (
        name: string,
        kernel: [number, number],
        strides: [number, number],
        temporal: boolean,
      ) =>
        new MobileConv2D({
          name,
          filters: this.filters,
          kernelSize: kernel,
          strides,
          depthwise: o.depthwise ?? false,
          useBias,
          temporal,
          causal: temporal && causal,
          kernelInitializer: init,
        });
      this.add('_conv', mobile('conv2d', [kh, kw], [sh, sw], false));
      if (kt > 1) this.add('_conv_temporal', mobile('conv2d_temporal', [kt, 1], [st, 1], true));
      this.split = kt > 1;
    } else if (this.convType === '3d_2plus1d' && kt > 1) {
      this.add('_conv', conv3d('conv3d', [1, kh, kw], [1, sh, sw]));
      this.add('_conv_temporal', conv3d('conv3d_temporal', [kt, 1, 1], [st, 1, 1]));
      this.split = true;
    } else {
      this.add('_conv', conv3d('conv3d', this.kernelSize, this.strides));
    }
  }

  /** Pads [B, T, H, W, C] for a 'valid' Conv3D of `kernel`: causal time (unless buffered), SAME. */
  private pad3d(x: tf.Tensor, kernel: Triple, strides: Triple, buffered: boolean): tf.Tensor {
    const pads = samePads(x.shape.slice(1, 4), kernel, strides);
    if (this.opts.causal) pads[0] = buffered ? [0, 0] : [kernel[0] - 1, 0];
    return tf.pad(x, [[0, 0], ...pads, [0, 0]]);
  }

  private conv(attr: string, x: tf.Tensor, args: CallArgs, buffered: boolean): tf.Tensor {
    const layer = this.child(attr);
    if (layer instanceof MobileConv2D) return layer.run(x, args, buffered);
    const c = layer as Conv3D;
    return c.apply(this.pad3d(x, c.kernelSize as Triple, c.strides as Triple, buffered), args);
  }

  private normAct(attr: string, x: tf.Tensor, args: CallArgs): tf.Tensor {
    const y = this.layers().some((l) => l.attr === attr)
      ? (this.child(attr) as BatchNormalization).apply(x, args)
      : x;
    return this.act ? this.act(y) : y;
  }

  protected call(input: Streamed, args: CallArgs): Streamed {
    let { x, states } = input;
    const buffer = this.bufferName;
    if (!this.split && buffer) {
      ({ x, states } = streamBuffer(x, states, buffer, this.kernelSize[0] - 1));
    }
    x = this.normAct('_batch_norm', this.conv('_conv', x, args, buffer !== null), args);
    if (this.split) {
      if (buffer) ({ x, states } = streamBuffer(x, states, buffer, this.kernelSize[0] - 1));
      x = this.normAct(
        '_batch_norm_temporal',
        this.conv('_conv_temporal', x, args, buffer !== null),
        args,
      );
    }
    return { x, states };
  }
}

/** A ConvBlock on a plain tensor (no state): pointwise convolutions. */
export function pointwise(block: ConvBlock, x: tf.Tensor, args: CallArgs): tf.Tensor {
  return block.apply({ x, states: {} }, args).x;
}
