/**
 * Model Garden `nn_blocks.MultiHeadSelfAttentionBlock` with multi-query attention (MobileNetV4
 * hybrid's "Mobile MQA"; Shazeer 2019, arXiv:1911.02150): y = x + layer_scale(MQA(BN(x))).
 *
 * MQA without downsampling (MG `MultiQueryAttentionLayerV2`): weights `query` [heads, key, C],
 * `key` [C, key], `value` [C, value], `output` [C, heads, value]; one key/value head shared by
 * all query heads; softmax(q·k / √key)·v. With kv_strides > 1
 * (`OptimizedMultiQueryAttentionLayerWithDownSampling`): 1×1 convs (no bias) project the query
 * (heads·key), and a strided depthwise k×k + BN precedes the key and value 1×1 projections; the
 * heads' outputs are concatenated and projected back to C by a 1×1 conv. Query downsampling,
 * conditional position encoding and Keras MultiHeadAttention (use_multi_query false) are not
 * implemented and are rejected.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { glorotUniform } from '../../core/initializers.js';
import { setKerasDefaultName } from '../layers/layer_utils.js';
import { Conv2D, DepthwiseConv2D } from '../layers/conv.js';
import { StochasticDepth } from '../layers/dropout.js';
import { MNV4LayerScale } from '../layers/layer_scale.js';
import { BatchNormalization } from '../layers/normalization.js';

export interface MultiQueryAttentionOptions {
  /** Channels of the input (and output). */
  channels: number;
  numHeads: number;
  keyDim: number;
  valueDim: number;
  kvStrides: number;
  dwKernelSize: number;
  normMomentum: number;
  normEpsilon: number;
}

/** Mobile MQA on [b, h, w, C] → [b, h, w, C] (see the module doc). */
export class MultiQueryAttention extends Layer<tf.Tensor, tf.Tensor> {
  private readonly o: MultiQueryAttentionOptions;
  // Downsampling form.
  private readonly queryProj: Conv2D | null = null;
  private readonly keyDw: [DepthwiseConv2D, BatchNormalization] | null = null;
  private readonly keyProj: Conv2D | null = null;
  private readonly valueDw: [DepthwiseConv2D, BatchNormalization] | null = null;
  private readonly valueProj: Conv2D | null = null;
  private readonly outputProj: Conv2D | null = null;
  // Plain form.
  private query: tf.Variable | null = null;
  private key: tf.Variable | null = null;
  private value: tf.Variable | null = null;
  private output: tf.Variable | null = null;

  constructor(opts: MultiQueryAttentionOptions & { name?: string }) {
    super({ name: opts.name });
    setKerasDefaultName(this, opts, 'multi_query_attention');
    this.o = opts;
    if (opts.kvStrides > 1) {
      const conv = (filters: number) =>
        new Conv2D({ filters, kernelSize: 1, padding: 'same', useBias: false });
      const dw = (): [DepthwiseConv2D, BatchNormalization] => [
        new DepthwiseConv2D({
          kernelSize: opts.dwKernelSize,
          strides: opts.kvStrides,
          padding: 'same',
          useBias: false,
        }),
        new BatchNormalization({ momentum: opts.normMomentum, epsilon: opts.normEpsilon }),
      ];
      this.queryProj = this.add('_query_proj', conv(opts.numHeads * opts.keyDim));
      const k = dw();
      this.keyDw = [this.add('_key_dw_conv', k[0]), this.add('_key_dw_norm', k[1])];
      this.keyProj = this.add('_key_proj', conv(opts.keyDim));
      const v = dw();
      this.valueDw = [this.add('_value_dw_conv', v[0]), this.add('_value_dw_norm', v[1])];
      this.valueProj = this.add('_value_proj', conv(opts.valueDim));
      this.outputProj = this.add(
        '_output_proj',
        new Conv2D({ filters: opts.channels, kernelSize: 1, padding: 'valid', useBias: false }),
      );
    }
  }

  protected override build(x: tf.Tensor): void {
    const c = x.shape[3] as number;
    const { numHeads: h, keyDim: k, valueDim: v } = this.o;
    if (this.o.kvStrides > 1) return;
    const w = (name: string, shape: number[]) =>
      this.addWeight(name, shape, { initializer: glorotUniform(), regularize: true });
    this.query = w('query', [h, k, c]);
    this.key = w('key', [c, k]);
    this.value = w('value', [c, v]);
    this.output = w('output', [c, h, v]);
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const [b, hPx, wPx, c] = x.shape as number[];
    const { numHeads: h, keyDim: k, valueDim: v } = this.o;
    const n = hPx * wPx;
    const flat = (t: tf.Tensor) => tf.reshape(t, [b, -1, t.shape[3] as number]);
    if (this.queryProj && this.keyDw && this.keyProj && this.valueDw && this.valueProj) {
      const q = tf.reshape(this.queryProj.apply(x, args), [b, n, h, k]);
      const kk = flat(
        this.keyProj.apply(this.keyDw[1].apply(this.keyDw[0].apply(x, args), args), args),
      );
      const vv = flat(
        this.valueProj.apply(this.valueDw[1].apply(this.valueDw[0].apply(x, args), args), args),
      );
      const o = this.attend(q, kk, vv, b, n);
      return (this.outputProj as Conv2D).apply(tf.reshape(o, [b, hPx, wPx, h * v]), args);
    }
    const xf = flat(x); // [b, n, C]
    // q[b, n, h, k] = Σ_d x[b, n, d] · query[h, k, d]
    const q = tf.reshape(
      tf.matMul(
        tf.reshape(xf, [b * n, c]),
        tf.reshape(this.query as tf.Variable, [h * k, c]),
        false,
        true,
      ),
      [b, n, h, k],
    );
    const kk = tf.reshape(tf.matMul(tf.reshape(xf, [b * n, c]), this.key as tf.Variable), [
      b,
      n,
      k,
    ]);
    const vv = tf.reshape(tf.matMul(tf.reshape(xf, [b * n, c]), this.value as tf.Variable), [
      b,
      n,
      v,
    ]);
    const o = this.attend(q, kk, vv, b, n); // [b, n, h, v]
    // out[b, n, d] = Σ_{h,v} o[b, n, h, v] · output[d, h, v]
    const out = tf.matMul(
      tf.reshape(o, [b * n, h * v]),
      tf.reshape(this.output as tf.Variable, [c, h * v]),
      false,
      true,
    );
    return tf.reshape(out, [b, hPx, wPx, c]);
  }

  /** q [b, n, h, k], k [b, p, k], v [b, p, v] → softmax(q·kᵀ/√k)·v as [b, n, h, v]. */
  private attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, b: number, n: number): tf.Tensor {
    const { numHeads: h, keyDim } = this.o;
    const logits = tf.matMul(tf.reshape(q, [b, n * h, keyDim]), k, false, true); // [b, n·h, p]
    const scores = tf.softmax(tf.div(logits, Math.sqrt(keyDim)));
    return tf.reshape(tf.matMul(scores, v), [b, n, h, v.shape[2] as number]);
  }
}

export interface MultiHeadSelfAttentionBlockOptions {
  /** Channels of the input (MG input_dim). */
  inputDim: number;
  numHeads: number;
  keyDim: number;
  valueDim: number;
  useMultiQuery: boolean;
  queryHStrides?: number;
  queryWStrides?: number;
  kvStrides?: number;
  downsamplingDwKernelSize?: number;
  useCpe?: boolean;
  stochasticDepthDropRate?: number | null;
  useResidual?: boolean;
  useLayerScale?: boolean;
  layerScaleInitValue?: number;
  normMomentum?: number;
  normEpsilon?: number;
  name?: string;
}

export class MultiHeadSelfAttentionBlock extends Layer<tf.Tensor, tf.Tensor> {
  private readonly inputNorm: BatchNormalization;
  private readonly attention: MultiQueryAttention;
  private readonly layerScale: MNV4LayerScale | null = null;
  private readonly stochasticDepth: StochasticDepth | null = null;
  private readonly residual: boolean;

  constructor(opts: MultiHeadSelfAttentionBlockOptions) {
    super({ name: opts.name });
    setKerasDefaultName(this, opts, 'multi_head_self_attention_block');
    if (!opts.useMultiQuery) {
      throw new Error(
        `${this.name}: use_multi_query false (Keras MultiHeadAttention) is not implemented`,
      );
    }
    if ((opts.queryHStrides ?? 1) > 1 || (opts.queryWStrides ?? 1) > 1) {
      throw new Error(
        `${this.name}: query downsampling (query_h/w_strides > 1) is not implemented`,
      );
    }
    if (opts.useCpe) throw new Error(`${this.name}: use_cpe is not implemented`);
    const normMomentum = opts.normMomentum ?? 0.99;
    const normEpsilon = opts.normEpsilon ?? 0.001;
    this.inputNorm = this.add(
      '_input_norm',
      new BatchNormalization({ momentum: normMomentum, epsilon: normEpsilon }),
    );
    this.attention = this.add(
      '_multi_query_attention',
      new MultiQueryAttention({
        channels: opts.inputDim,
        numHeads: opts.numHeads,
        keyDim: opts.keyDim,
        valueDim: opts.valueDim,
        kvStrides: opts.kvStrides ?? 1,
        dwKernelSize: opts.downsamplingDwKernelSize ?? 3,
        normMomentum,
        normEpsilon,
      }),
    );
    if (opts.useLayerScale ?? true) {
      this.layerScale = this.add(
        '_layer_scale',
        new MNV4LayerScale({ initValue: opts.layerScaleInitValue ?? 1e-5 }),
      );
    }
    this.residual = opts.useResidual ?? true;
    if (this.residual && opts.stochasticDepthDropRate) {
      this.stochasticDepth = this.add(
        '_stochastic_depth',
        new StochasticDepth({ dropRate: opts.stochasticDepthDropRate }),
      );
    }
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = this.attention.apply(this.inputNorm.apply(x, args), args);
    if (this.layerScale) y = this.layerScale.apply(y, args);
    if (!this.residual) return y;
    if (this.stochasticDepth) y = this.stochasticDepth.apply(y, args);
    return tf.add(y, x);
  }
}
