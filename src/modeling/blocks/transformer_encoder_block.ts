/**
 * Transformer encoder block as Model Garden's `nn_blocks.TransformerEncoderBlock` configures it for
 * ViT (official/vision/modeling/backbones/vit.py: norm_first=True, norm_epsilon=1e-6, GELU MLP),
 * with its attribute and Keras names: `_attention_layer` (self_attention, Keras MultiHeadAttention),
 * `_attention_layer_norm` (self_attention_layer_norm), `_intermediate_dense` (intermediate),
 * `_output_dense` (output), `_output_layer_norm` (output_layer_norm).
 *
 * Pre-norm (x: [batch, tokens, hidden]):
 *   h = x + SD(drop(MHA(LN1(x))));   y = h + SD(drop(W2 · drop_inner(gelu(W1 · LN2(h) + b1)) + b2))
 * where SD is stochastic depth and drop the output dropout.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import type { InitializerIdentifier } from '../../core/initializers.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { EinsumDense, MultiHeadAttention } from '../layers/attention.js';
import { Dropout, StochasticDepth } from '../layers/dropout.js';
import { LayerNormalization } from '../layers/normalization.js';

export interface TransformerEncoderBlockOptions {
  numAttentionHeads: number;
  /** Hidden units of the MLP (ViT mlp_dim). */
  innerDim: number;
  /** MLP activation; default 'gelu_approximate' (MG's activations.gelu is the tanh form). */
  innerActivation?: string;
  /** Dropout after attention and after the MLP; default 0. */
  outputDropout?: number;
  /** Dropout on attention probabilities; default 0. */
  attentionDropout?: number;
  /** Dropout after the MLP activation; default 0. */
  innerDropout?: number;
  /** Default 1e-12 (MG's block default); ViT passes 1e-6. */
  normEpsilon?: number;
  /** Pre-norm (ViT) or post-norm (BERT); default true here. */
  normFirst?: boolean;
  stochasticDepthDropRate?: number | null;
  /** Kernels of attention and MLP; default glorot_uniform. */
  kernelInitializer?: InitializerIdentifier;
  name?: string;
}

export class TransformerEncoderBlock extends Layer<tf.Tensor, tf.Tensor> {
  private readonly opts: TransformerEncoderBlockOptions;
  private readonly innerActivation: ActivationFn;
  private readonly normFirst: boolean;
  private attention: MultiHeadAttention | null = null;
  private attentionDropout: Dropout | null = null;
  private attentionNorm: LayerNormalization | null = null;
  private intermediate: EinsumDense | null = null;
  private innerDropout: Dropout | null = null;
  private outputDense: EinsumDense | null = null;
  private outputDropout: Dropout | null = null;
  private outputNorm: LayerNormalization | null = null;
  private stochasticDepth: StochasticDepth | null = null;

  constructor(opts: TransformerEncoderBlockOptions) {
    super({ name: opts.name });
    if (!Number.isInteger(opts.numAttentionHeads) || opts.numAttentionHeads < 1) {
      throw new Error(
        `TransformerEncoderBlock: numAttentionHeads must be a positive integer, got ${opts.numAttentionHeads}`,
      );
    }
    this.opts = opts;
    this.normFirst = opts.normFirst ?? true;
    this.innerActivation = getActivation(opts.innerActivation ?? 'gelu_approximate');
  }

  protected override build(x: tf.Tensor): void {
    if (x.rank !== 3) {
      throw new Error(
        `TransformerEncoderBlock '${this.fullPath()}': expected [batch, tokens, hidden], got [${x.shape}]`,
      );
    }
    const hidden = x.shape[2] as number;
    const heads = this.opts.numAttentionHeads;
    if (hidden % heads !== 0) {
      throw new Error(
        `TransformerEncoderBlock '${this.fullPath()}': hidden size ${hidden} is not a multiple of ${heads} heads`,
      );
    }
    const eps = this.opts.normEpsilon ?? 1e-12;
    const init = this.opts.kernelInitializer ?? 'glorot_uniform';
    this.attention = this.add(
      '_attention_layer',
      new MultiHeadAttention({
        name: 'self_attention',
        numHeads: heads,
        keyDim: hidden / heads,
        dropout: this.opts.attentionDropout ?? 0,
        kernelInitializer: init,
      }),
    );
    this.attentionDropout = this.add(
      '_attention_dropout',
      new Dropout({ rate: this.opts.outputDropout ?? 0 }),
    );
    this.attentionNorm = this.add(
      '_attention_layer_norm',
      new LayerNormalization({ name: 'self_attention_layer_norm', epsilon: eps }),
    );
    this.intermediate = this.add(
      '_intermediate_dense',
      new EinsumDense({
        name: 'intermediate',
        contractedAxes: 1,
        outputShape: [this.opts.innerDim],
        kernelInitializer: init,
      }),
    );
    this.innerDropout = this.add(
      '_inner_dropout_layer',
      new Dropout({ rate: this.opts.innerDropout ?? 0 }),
    );
    this.outputDense = this.add(
      '_output_dense',
      new EinsumDense({
        name: 'output',
        contractedAxes: 1,
        outputShape: [hidden],
        kernelInitializer: init,
      }),
    );
    this.outputDropout = this.add(
      '_output_dropout',
      new Dropout({ rate: this.opts.outputDropout ?? 0 }),
    );
    this.outputNorm = this.add(
      '_output_layer_norm',
      new LayerNormalization({ name: 'output_layer_norm', epsilon: eps }),
    );
    if (this.opts.stochasticDepthDropRate) {
      this.stochasticDepth = this.add(
        '_stochastic_depth',
        new StochasticDepth({ dropRate: this.opts.stochasticDepthDropRate }),
      );
    }
  }

  private drop(x: tf.Tensor, args: CallArgs): tf.Tensor {
    return this.stochasticDepth ? this.stochasticDepth.apply(x, args) : x;
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    const attention = this.attention as MultiHeadAttention;
    const attentionNorm = this.attentionNorm as LayerNormalization;
    const outputNorm = this.outputNorm as LayerNormalization;
    const mlp = (t: tf.Tensor) => {
      const inner = this.innerActivation((this.intermediate as EinsumDense).apply(t, args));
      const out = (this.outputDense as EinsumDense).apply(
        (this.innerDropout as Dropout).apply(inner, args),
        args,
      );
      return (this.outputDropout as Dropout).apply(out, args);
    };
    return tf.tidy(() => {
      const source = this.normFirst ? attentionNorm.apply(x, args) : x;
      let attn = attention.apply({ query: source, value: source }, args);
      attn = (this.attentionDropout as Dropout).apply(attn, args);
      if (this.normFirst) {
        const h = tf.add(x, this.drop(attn, args));
        return tf.add(h, this.drop(mlp(outputNorm.apply(h, args)), args));
      }
      const h = attentionNorm.apply(tf.add(x, this.drop(attn, args)), args);
      return outputNorm.apply(tf.add(h, this.drop(mlp(h), args)), args);
    });
  }
}
