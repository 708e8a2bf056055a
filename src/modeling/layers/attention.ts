/**
 * Keras `MultiHeadAttention` with Keras' weight layout (EinsumDense projections named `query`,
 * `key`, `value`, `attention_output`), so parameter counts and checkpoint variables match.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type Initializer, type LayerOptions } from '../../core/layer.js';
import { getInitializer, type InitializerIdentifier } from '../../core/initializers.js';
import { Dropout } from './dropout.js';
import { setKerasDefaultName } from './layer_utils.js';

export interface EinsumDenseOptions extends LayerOptions {
  /** How many trailing input axes are contracted (1 for the q/k/v projections, 2 for the output). */
  contractedAxes: number;
  /** Shape of the output's trailing axes, e.g. [numHeads, keyDim]. */
  outputShape: number[];
  /** Default true. */
  useBias?: boolean;
  /** Default glorot_uniform. */
  kernelInitializer?: InitializerIdentifier;
  /** Default zeros. */
  biasInitializer?: InitializerIdentifier;
}

/**
 * A dense projection of the last `contractedAxes` axes onto `outputShape` — the two Keras
 * EinsumDense equations MultiHeadAttention uses ('abc,cde->abde' and 'abcd,cde->abe'). Weights
 * `kernel` [...contracted dims, ...outputShape] (regularized) and `bias` [...outputShape].
 */
export class EinsumDense extends Layer {
  readonly contractedAxes: number;
  readonly outputShape: number[];
  readonly useBias: boolean;
  private readonly kernelInit: Initializer;
  private readonly biasInit: Initializer;
  private kernel: tf.Variable | null = null;
  private bias: tf.Variable | null = null;

  constructor(opts: EinsumDenseOptions) {
    super(opts);
    setKerasDefaultName(this, opts, 'einsum_dense');
    this.contractedAxes = opts.contractedAxes;
    this.outputShape = [...opts.outputShape];
    this.useBias = opts.useBias ?? true;
    this.kernelInit = getInitializer(opts.kernelInitializer ?? 'glorot_uniform');
    this.biasInit = getInitializer(opts.biasInitializer ?? 'zeros');
  }

  private contracted(x: tf.Tensor): number[] {
    if (x.rank <= this.contractedAxes) {
      throw new Error(
        `EinsumDense '${this.fullPath()}': input [${x.shape}] needs rank > ${this.contractedAxes}`,
      );
    }
    return x.shape.slice(x.rank - this.contractedAxes);
  }

  protected override build(x: tf.Tensor): void {
    this.kernel = this.addWeight('kernel', [...this.contracted(x), ...this.outputShape], {
      initializer: this.kernelInit,
      regularize: true,
    });
    if (this.useBias) {
      this.bias = this.addWeight('bias', this.outputShape, { initializer: this.biasInit });
    }
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    const kernel = this.kernel as tf.Variable;
    const inDims = this.contracted(x);
    const inSize = inDims.reduce((n, d) => n * d, 1);
    const outSize = this.outputShape.reduce((n, d) => n * d, 1);
    if (!tf.util.arraysEqual(inDims, kernel.shape.slice(0, this.contractedAxes))) {
      throw new Error(
        `EinsumDense '${this.fullPath()}': input [${x.shape}] does not match kernel [${kernel.shape}]`,
      );
    }
    return tf.tidy(() => {
      const lead = x.shape.slice(0, x.rank - this.contractedAxes);
      let y: tf.Tensor = tf.matMul(
        tf.reshape(x, [-1, inSize]) as tf.Tensor2D,
        tf.reshape(kernel, [inSize, outSize]) as tf.Tensor2D,
      );
      if (this.bias) y = tf.add(y, tf.reshape(this.bias, [outSize]));
      return tf.reshape(y, [...lead, ...this.outputShape]);
    });
  }
}

export interface MultiHeadAttentionOptions extends LayerOptions {
  numHeads: number;
  /** Size of each query/key head. */
  keyDim: number;
  /** Size of each value head; default keyDim. */
  valueDim?: number;
  /** Dropout on the attention probabilities; default 0. */
  dropout?: number;
  /** Default true. */
  useBias?: boolean;
  /** Output features; default the query's last dim. */
  outputShape?: number;
  /** Default glorot_uniform (Keras). */
  kernelInitializer?: InitializerIdentifier;
  /** Default zeros. */
  biasInitializer?: InitializerIdentifier;
}

export interface AttentionInput {
  /** [batch, T, queryDim]. */
  query: tf.Tensor;
  /** [batch, S, valueDim_in]. */
  value: tf.Tensor;
  /** [batch, S, keyDim_in]; default `value`. */
  key?: tf.Tensor;
  /** [batch, T, S] with 1 = may attend, 0 = masked; broadcastable shapes accepted. */
  attentionMask?: tf.Tensor;
}

/** Keras masked softmax adds this to masked logits in float32 (keras/layers/activation/softmax.py). */
const MASKED_LOGIT = -1e9;

/**
 * Scaled dot-product multi-head attention:
 * softmax(q·kᵀ / √keyDim + mask) · v per head, then the `attention_output` projection.
 * Weights: `query`/`key`/`value` kernel [dim, numHeads, keyDim|valueDim] and bias
 * [numHeads, keyDim|valueDim]; `attention_output` kernel [numHeads, valueDim, outDim], bias
 * [outDim]. Returns [batch, T, outDim].
 */
export class MultiHeadAttention extends Layer<AttentionInput, tf.Tensor> {
  readonly numHeads: number;
  readonly keyDim: number;
  readonly valueDim: number;
  readonly dropoutRate: number;
  readonly useBias: boolean;
  private readonly opts: MultiHeadAttentionOptions;
  private queryDense: EinsumDense | null = null;
  private keyDense: EinsumDense | null = null;
  private valueDense: EinsumDense | null = null;
  private dropoutLayer: Dropout | null = null;
  private outputDense: EinsumDense | null = null;

  constructor(opts: MultiHeadAttentionOptions) {
    super(opts);
    setKerasDefaultName(this, opts, 'multi_head_attention');
    for (const [k, v] of [
      ['numHeads', opts.numHeads],
      ['keyDim', opts.keyDim],
      ['valueDim', opts.valueDim ?? opts.keyDim],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new Error(
          `MultiHeadAttention '${this.name}': ${k} must be a positive integer, got ${v}`,
        );
      }
    }
    this.numHeads = opts.numHeads;
    this.keyDim = opts.keyDim;
    this.valueDim = opts.valueDim ?? opts.keyDim;
    this.dropoutRate = opts.dropout ?? 0;
    this.useBias = opts.useBias ?? true;
    this.opts = opts;
  }

  private projection(name: string, contractedAxes: number, outputShape: number[]): EinsumDense {
    return new EinsumDense({
      name,
      contractedAxes,
      outputShape,
      useBias: this.useBias,
      kernelInitializer: this.opts.kernelInitializer,
      biasInitializer: this.opts.biasInitializer,
    });
  }

  protected override build(input: AttentionInput): void {
    const queryDim = input.query.shape[input.query.rank - 1];
    const outDim = this.opts.outputShape ?? queryDim;
    // Attribute order as Keras tracks them (query, key, value, dropout, output).
    this.queryDense = this.add(
      '_query_dense',
      this.projection('query', 1, [this.numHeads, this.keyDim]),
    );
    this.keyDense = this.add('_key_dense', this.projection('key', 1, [this.numHeads, this.keyDim]));
    this.valueDense = this.add(
      '_value_dense',
      this.projection('value', 1, [this.numHeads, this.valueDim]),
    );
    this.dropoutLayer = this.add('_dropout_layer', new Dropout({ rate: this.dropoutRate }));
    this.outputDense = this.add('_output_dense', this.projection('attention_output', 2, [outDim]));
  }

  protected call(input: AttentionInput, args: CallArgs): tf.Tensor {
    const { query, value } = input;
    const key = input.key ?? value;
    for (const [name, t] of [
      ['query', query],
      ['key', key],
      ['value', value],
    ] as const) {
      if (t.rank !== 3) {
        throw new Error(
          `MultiHeadAttention '${this.fullPath()}': ${name} must be [batch, length, dim], got shape [${t.shape}]`,
        );
      }
    }
    const mask = input.attentionMask;
    if (mask && mask.rank !== 3) {
      throw new Error(
        `MultiHeadAttention '${this.fullPath()}': attentionMask must be [batch, T, S], got shape [${mask.shape}]`,
      );
    }
    if (key.shape[1] !== value.shape[1]) {
      throw new Error(
        `MultiHeadAttention '${this.fullPath()}': key length ${key.shape[1]} differs from value length ${value.shape[1]}`,
      );
    }
    return tf.tidy(() => {
      // [B, L, H, D] -> [B, H, L, D]
      const heads = (t: tf.Tensor) => tf.transpose(t, [0, 2, 1, 3]);
      const q = heads(
        tf.mul((this.queryDense as EinsumDense).apply(query, args), 1 / Math.sqrt(this.keyDim)),
      );
      const k = heads((this.keyDense as EinsumDense).apply(key, args));
      const v = heads((this.valueDense as EinsumDense).apply(value, args));
      let scores = tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true); // [B, H, T, S]
      if (input.attentionMask) {
        const mask = tf.expandDims(tf.cast(input.attentionMask, 'float32'), 1); // [B, 1, T, S]
        scores = tf.add(scores, tf.mul(tf.sub(1, mask), MASKED_LOGIT));
      }
      const probs = (this.dropoutLayer as Dropout).apply(tf.softmax(scores, -1), args);
      const context = tf.transpose(tf.matMul(probs as tf.Tensor4D, v as tf.Tensor4D), [0, 2, 1, 3]);
      return (this.outputDense as EinsumDense).apply(context, args);
    });
  }
}
