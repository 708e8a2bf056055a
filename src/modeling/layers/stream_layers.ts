/**
 * Layers of video models that carry explicit stream state between calls (Model Garden
 * official/vision/modeling/layers/nn_layers.py: `Scale`, `PositionalEncoding`,
 * `GlobalAveragePool3D`, `SpatialAveragePool3D`; official/projects/movinet/modeling/
 * movinet_layers.py: `StreamBuffer`).
 *
 * State is a plain record of tensors keyed by Model Garden's state names
 * (`state_block1_layer0_stream_buffer`, `..._pool_buffer`, `..._pool_frame_count`); a layer
 * reads its entries (zeros when absent) and returns a new record with its entries replaced, so a
 * clip run in pieces with the states fed back equals the whole clip (causal models).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import { getInitializer } from '../../core/initializers.js';

/** Stream states by Model Garden name. */
export type States = Record<string, tf.Tensor>;

/** A tensor with the states that travel alongside it. */
export interface Streamed {
  x: tf.Tensor;
  states: States;
}

/** The shape of a rank-5 video tensor [B, T, H, W, C], checked; `what` names the caller. */
export function shape5(x: tf.Tensor, what: string): [number, number, number, number, number] {
  if (x.rank !== 5) throw new Error(`${what}: expected rank 5 [B, T, H, W, C], got [${x.shape}]`);
  return x.shape as [number, number, number, number, number];
}

/** The frame count kept in `states[name]` (int32 [1]), zero when absent. */
function frameCount(states: States, name: string): tf.Tensor {
  return states[name] ?? tf.zeros([1], 'int32');
}

/**
 * Prepends the last `size` frames of the previous call (zeros on the first) to `x`
 * [B, T, H, W, C] along time and keeps the last `size` frames of the result as the new buffer
 * (MG `StreamBuffer`): a 'valid' temporal convolution of the result is the causal one.
 */
export function streamBuffer(x: tf.Tensor, states: States, name: string, size: number): Streamed {
  const [b, , h, w, c] = shape5(x, `stream buffer ${name}`);
  const buffer = states[name] ?? tf.zeros([b, size, h, w, c], x.dtype);
  const full = tf.concat([buffer, x], 1);
  const t = shape5(full, name)[1];
  const next = tf.slice(full, [0, t - size, 0, 0, 0], [-1, size, -1, -1, -1]);
  return { x: full, states: { ...states, [name]: next } };
}

/** Mean over H, W of [B, T, H, W, C], kept as [B, T, 1, 1, C] (MG `SpatialAveragePool3D`). */
export function spatialAveragePool3d(x: tf.Tensor): tf.Tensor {
  if (x.rank !== 5) throw new Error(`spatialAveragePool3d: expected rank 5, got [${x.shape}]`);
  return tf.mean(x, [2, 3], true);
}

export interface ScaleOptions extends LayerOptions {
  /** Initial value name; default 'ones' (MG); MoViNet's ReZero uses 'zeros'. */
  initializer?: string;
}

/** y = s · x with one trainable scalar `scale` (MG `Scale`; ReZero, arXiv:2003.04887). */
export class Scale extends Layer {
  private readonly initName: string;
  private scale: tf.Variable | null = null;

  constructor(opts: ScaleOptions = {}) {
    super(opts);
    this.initName = opts.initializer ?? 'ones';
  }

  protected override build(): void {
    this.scale = this.addWeight('scale', [], { initializer: getInitializer(this.initName) });
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    return tf.mul(this.scale as tf.Variable, x);
  }
}

export interface StatefulOptions extends LayerOptions {
  /** Prefix of this layer's state names (`state_block0_layer0`). */
  statePrefix: string;
}

/**
 * Sinusoidal positional encoding over frames, weighted by a ReZero scalar (initially 0) and added
 * to x [B, T, 1, 1, C] (MG `PositionalEncoding`): channels [sin of the even angles, cos of the odd
 * angles] (concatenated, not interleaved), angle_i = pos / 10000^(2⌊i/2⌋/C). The frame position
 * continues across calls through `<prefix>_pos_enc_frame_count`.
 */
export class PositionalEncoding extends Layer<Streamed, Streamed> {
  readonly countName: string;

  constructor(opts: StatefulOptions) {
    super(opts);
    this.countName = `${opts.statePrefix}_pos_enc_frame_count`;
    this.add('_rezero', new Scale({ name: 'rezero', initializer: 'zeros' }));
  }

  protected call(input: Streamed, args: CallArgs): Streamed {
    const { x, states } = input;
    const [, frames, , , channels] = shape5(x, `PositionalEncoding '${this.fullPath()}'`);
    const count = frameCount(states, this.countName);
    const angles = Array.from(
      { length: channels },
      (_, i) => 1 / Math.pow(10000, (2 * Math.floor(i / 2)) / channels),
    );
    const even = angles.filter((_, i) => i % 2 === 0);
    const odd = angles.filter((_, i) => i % 2 === 1);
    const positions = tf.reshape(
      tf.cast(tf.add(tf.range(0, frames, 1, 'int32'), count), 'float32'),
      [frames, 1],
    );
    const sin = tf.sin(tf.mul(positions, tf.tensor2d(even, [1, even.length])));
    const parts = odd.length
      ? [sin, tf.cos(tf.mul(positions, tf.tensor2d(odd, [1, odd.length])))]
      : [sin];
    const encoding = tf.reshape(tf.concat(parts, 1), [1, frames, 1, 1, channels]);
    const weighted = (this.child('_rezero') as Scale).apply(encoding, args);
    return {
      x: tf.add(x, weighted),
      states: { ...states, [this.countName]: tf.add(count, tf.scalar(frames, 'int32')) },
    };
  }
}

export interface GlobalAveragePool3DOptions extends StatefulOptions {
  /** Cumulative mean over frames (one output per frame); default false. */
  causal?: boolean;
}

/**
 * Global average pooling of [B, T, H, W, C] to [B, 1, 1, 1, C] with a running sum across calls
 * (MG `GlobalAveragePool3D`, keepdims): state `<prefix>_pool_buffer` [B, 1, 1, 1, C] holds the sum
 * of the per-frame spatial means seen so far and `<prefix>_pool_frame_count` [1] their number.
 * Causal: a cumulative mean per frame, [B, T, 1, 1, C], frame t divided by (count + t + 1).
 */
export class GlobalAveragePool3D extends Layer<Streamed, Streamed> {
  readonly causal: boolean;
  readonly bufferName: string;
  readonly countName: string;

  constructor(opts: GlobalAveragePool3DOptions) {
    super(opts);
    this.causal = opts.causal ?? false;
    this.bufferName = `${opts.statePrefix}_pool_buffer`;
    this.countName = `${opts.statePrefix}_pool_frame_count`;
  }

  protected call(input: Streamed, _args: CallArgs): Streamed {
    const { x, states } = input;
    const [b, frames, , , c] = shape5(x, `GlobalAveragePool3D '${this.fullPath()}'`);
    const buffer = states[this.bufferName] ?? tf.zeros([b, 1, 1, 1, c], x.dtype);
    const count = frameCount(states, this.countName);
    const nextCount = tf.add(count, tf.scalar(frames, 'int32'));
    if (this.causal) {
      const sums = tf.add(tf.cumsum(tf.mean(x, [2, 3], true), 1), buffer);
      const last = tf.slice(sums, [0, frames - 1, 0, 0, 0], [-1, 1, -1, -1, -1]);
      const divisors = tf.reshape(
        tf.cast(tf.add(tf.range(1, frames + 1, 1, 'int32'), count), x.dtype),
        [1, frames, 1, 1, 1],
      );
      return {
        x: tf.div(sums, divisors),
        states: { ...states, [this.bufferName]: last, [this.countName]: nextCount },
      };
    }
    const sum = tf.add(tf.sum(tf.mean(x, [2, 3], true), 1, true), buffer);
    return {
      x: tf.div(sum, tf.reshape(tf.cast(nextCount, x.dtype), [1, 1, 1, 1, 1])),
      states: { ...states, [this.bufferName]: sum, [this.countName]: nextCount },
    };
  }
}
