/**
 * Vision Transformer backbone (Model Garden `modeling/backbones/vit.py`, specs from
 * `vit_specs.py`).
 *
 * [batch, H, W, 3] → patch embedding (a `patch`×`patch`/`patch` 'valid' conv to `hidden`) →
 * [batch, N = (H/p)·(W/p), hidden] → with pooler 'token', a learned class token prepended →
 * Encoder: + learned position embedding, dropout, `numLayers` pre-norm TransformerEncoderBlocks
 * (stochastic depth init · (i + 1) / numLayers for block i), LayerNorm (ε 1e-6) → pooled: class
 * token ('token') or token mean ('gap') → optional tanh representation layer (`pre_logits` Dense)
 * → endpoint `pre_logits` [batch, 1, 1, representation_size || hidden], as Model Garden returns it
 * for the classification head. Pooler 'none' returns `encoded_tokens` [batch, N, hidden].
 *
 * Position embedding: [1, (cls ? 1 : 0) + gh·gw, hidden] for the grid `posEmbedShape` (default:
 * the first input's grid). An input with another grid gets the grid part resized bilinearly
 * (half-pixel centres, as tf.image.resize); the class token's embedding is kept as is.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { randomNormal, truncatedNormal, zeros } from '../../core/initializers.js';
import { Conv2D } from '../layers/conv.js';
import { Dense } from '../layers/dense.js';
import { Dropout, getStochasticDepthRate } from '../layers/dropout.js';
import { LayerNormalization } from '../layers/normalization.js';
import { TransformerEncoderBlock } from '../blocks/transformer_encoder_block.js';
import type { Backbone, BackboneOutputSpecs } from './contract.js';

export interface ViTSpec {
  hiddenSize: number;
  patchSize: number;
  mlpDim: number;
  numHeads: number;
  numLayers: number;
}

/** Model Garden's VIT_SPECS (official/vision/modeling/backbones/vit_specs.py). */
export const VIT_SPECS: Readonly<Record<string, ViTSpec>> = {
  'vit-ti16': { hiddenSize: 192, patchSize: 16, mlpDim: 768, numHeads: 3, numLayers: 12 },
  'vit-s16': { hiddenSize: 384, patchSize: 16, mlpDim: 1536, numHeads: 6, numLayers: 12 },
  'vit-b16': { hiddenSize: 768, patchSize: 16, mlpDim: 3072, numHeads: 12, numLayers: 12 },
  'vit-b32': { hiddenSize: 768, patchSize: 32, mlpDim: 3072, numHeads: 12, numLayers: 12 },
  'vit-l16': { hiddenSize: 1024, patchSize: 16, mlpDim: 4096, numHeads: 16, numLayers: 24 },
  'vit-l32': { hiddenSize: 1024, patchSize: 32, mlpDim: 4096, numHeads: 16, numLayers: 24 },
  'vit-h14': { hiddenSize: 1280, patchSize: 14, mlpDim: 5120, numHeads: 16, numLayers: 32 },
  'vit-g14': { hiddenSize: 1408, patchSize: 14, mlpDim: 5632, numHeads: 16, numLayers: 40 },
  'vit-G14': { hiddenSize: 1664, patchSize: 14, mlpDim: 8192, numHeads: 16, numLayers: 48 },
  'vit-e14': { hiddenSize: 1792, patchSize: 14, mlpDim: 15360, numHeads: 16, numLayers: 56 },
  // vision-garden's own row, not Model Garden's: a 4x4-patch ViT for 28x28 inputs (a 7x7 grid of
  // tokens), the Fashion-MNIST config. MG's builder always reads the sizes from this table.
  'vit-xs4': { hiddenSize: 64, patchSize: 4, mlpDim: 128, numHeads: 4, numLayers: 6 },
};

export const VIT_POOLERS = ['token', 'gap', 'none'] as const;
export type ViTPooler = (typeof VIT_POOLERS)[number];

/**
 * Bilinear resize of a position-embedding grid [1, gh·gw, d] from [gh, gw] to [th, tw]
 * (half-pixel centres, no corner alignment: TF2 `tf.image.resize` 'bilinear').
 */
export function resizePositionGrid(
  grid: tf.Tensor,
  from: [number, number],
  to: [number, number],
): tf.Tensor {
  return tf.tidy(() => {
    const d = grid.shape[grid.rank - 1] as number;
    const image = tf.reshape(grid, [1, from[0], from[1], d]) as tf.Tensor4D;
    const resized = tf.image.resizeBilinear(image, to, false, true);
    return tf.reshape(resized, [1, to[0] * to[1], d]);
  });
}

/** Learned position embedding `pos_embedding` (Keras name posembed_input), initialised N(0, 0.02). */
export class AddPositionEmbs extends Layer<tf.Tensor, tf.Tensor> {
  private readonly originGrid: [number, number] | null;
  private readonly extraTokens: number;
  private grid: [number, number] = [0, 0];
  private embedding: tf.Variable | null = null;
  /** Grid of the current input; set by the encoder before each call. */
  targetGrid: [number, number] = [0, 0];

  constructor(opts: { originGrid: [number, number] | null; extraTokens: number; name?: string }) {
    super({ name: opts.name ?? 'posembed_input' });
    this.originGrid = opts.originGrid;
    this.extraTokens = opts.extraTokens;
  }

  protected override build(x: tf.Tensor): void {
    this.grid = this.originGrid ?? this.targetGrid;
    const length = this.extraTokens + this.grid[0] * this.grid[1];
    this.embedding = this.addWeight('pos_embedding', [1, length, x.shape[2] as number], {
      initializer: randomNormal({ stddev: 0.02 }),
    });
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    const emb = this.embedding as tf.Variable;
    const [th, tw] = this.targetGrid;
    const tokenCount = x.shape[1] as number;
    if (tokenCount !== this.extraTokens + th * tw) {
      throw new Error(
        `${this.fullPath()}: ${tokenCount} tokens do not match a ${th}x${tw} grid + ${this.extraTokens} token(s)`,
      );
    }
    if (th === this.grid[0] && tw === this.grid[1]) return tf.add(x, emb);
    return tf.tidy(() => {
      const d = emb.shape[2] as number;
      const tokens = tf.slice(emb, [0, 0, 0], [1, this.extraTokens, d]);
      const grid = tf.slice(emb, [0, this.extraTokens, 0], [1, this.grid[0] * this.grid[1], d]);
      const resized = resizePositionGrid(grid, this.grid, [th, tw]);
      return tf.add(x, tf.concat([tokens, resized], 1));
    });
  }
}

/** The class token `cls` [1, 1, hidden] (zeros), prepended to the patch tokens. */
export class TokenLayer extends Layer<tf.Tensor, tf.Tensor> {
  private cls: tf.Variable | null = null;

  constructor() {
    super({ name: 'cls' });
  }

  protected override build(x: tf.Tensor): void {
    this.cls = this.addWeight('cls', [1, 1, x.shape[2] as number], { initializer: zeros });
  }

  protected call(x: tf.Tensor, _args: CallArgs): tf.Tensor {
    const cls = this.cls as tf.Variable;
    return tf.tidy(() => tf.concat([tf.tile(cls, [x.shape[0] as number, 1, 1]), x], 1));
  }
}

export interface ViTEncoderOptions {
  numLayers: number;
  mlpDim: number;
  numHeads: number;
  dropoutRate: number;
  attentionDropoutRate: number;
  initStochasticDepthRate: number;
  kernelInitializer: 'glorot_uniform' | 'truncated_normal_0.02';
  posEmbedShape: [number, number] | null;
  extraTokens: number;
}

/** Model Garden's vit.Encoder: position embedding, dropout, encoder blocks, final LayerNorm. */
export class ViTEncoder extends Layer<tf.Tensor, tf.Tensor> {
  readonly posEmbed: AddPositionEmbs;
  private readonly dropout: Dropout;
  private readonly blocks: TransformerEncoderBlock[] = [];
  private readonly norm: LayerNormalization;

  constructor(opts: ViTEncoderOptions) {
    super({ name: 'encoder' });
    this.posEmbed = this.add(
      '_pos_embed',
      new AddPositionEmbs({ originGrid: opts.posEmbedShape, extraTokens: opts.extraTokens }),
    );
    this.dropout = this.add('_dropout', new Dropout({ rate: opts.dropoutRate }));
    const kernelInitializer =
      opts.kernelInitializer === 'glorot_uniform'
        ? 'glorot_uniform'
        : truncatedNormal({ stddev: 0.02 });
    for (let i = 0; i < opts.numLayers; i++) {
      this.blocks.push(
        this.add(
          `_encoder_layers/${i}`,
          new TransformerEncoderBlock({
            numAttentionHeads: opts.numHeads,
            innerDim: opts.mlpDim,
            innerActivation: 'gelu_approximate',
            outputDropout: opts.dropoutRate,
            attentionDropout: opts.attentionDropoutRate,
            normFirst: true,
            normEpsilon: 1e-6,
            stochasticDepthDropRate: getStochasticDepthRate(
              opts.initStochasticDepthRate,
              i + 1,
              opts.numLayers,
            ),
            kernelInitializer,
          }),
        ),
      );
    }
    this.norm = this.add('_norm', new LayerNormalization({ epsilon: 1e-6 }));
  }

  protected call(x: tf.Tensor, args: CallArgs): tf.Tensor {
    let y = this.posEmbed.apply(x, args);
    y = this.dropout.apply(y, args);
    for (const block of this.blocks) y = block.apply(y, args);
    return this.norm.apply(y, args);
  }
}

export interface VisionTransformerOptions {
  /** A key of {@link VIT_SPECS}; its values override the explicit sizes below (as MG's builder). */
  modelName?: string;
  hiddenSize?: number;
  patchSize?: number;
  mlpDim?: number;
  numHeads?: number;
  numLayers?: number;
  /** Default 0.1 (MG VisionTransformer); the config default is 0. */
  dropoutRate?: number;
  attentionDropoutRate?: number;
  initStochasticDepthRate?: number;
  /** 'token' (default), 'gap' or 'none'. */
  pooler?: string;
  /** Units of the tanh `pre_logits` layer; 0 = none. */
  representationSize?: number;
  /** MG original_init: lecun_normal patch conv + glorot_uniform encoder (true) or he_uniform + truncated normal 0.02 (false, DeiT). Default true. */
  originalInit?: boolean;
  /** Grid of the learned position embedding; default: the first input's patch grid. */
  posEmbedShape?: [number, number] | null;
  name?: string;
}

export class VisionTransformer
  extends Layer<tf.Tensor, Record<string, tf.Tensor>>
  implements Backbone
{
  readonly spec: ViTSpec;
  readonly pooler: ViTPooler;
  readonly representationSize: number;
  private readonly patchEmbed: Conv2D;
  private readonly token: TokenLayer | null = null;
  private readonly encoder: ViTEncoder;
  private readonly preLogits: Dense | null = null;
  /**
   * The one endpoint `call` returns: `pre_logits` [batch, 1, 1, width] or, with pooler 'none',
   * `encoded_tokens` [batch, tokens, width] (width = representation_size || hidden). Neither is a
   * spatial map of the image, so the stride is null (MG vit.py output_specs are their shapes).
   */
  readonly outputSpecs: BackboneOutputSpecs;

  constructor(opts: VisionTransformerOptions) {
    super({ name: opts.name ?? 'vision_transformer' });
    let spec: ViTSpec;
    if (opts.modelName !== undefined) {
      const found = VIT_SPECS[opts.modelName];
      if (!found) {
        throw new Error(
          `vit: unknown model_name '${opts.modelName}'; choose one of ${Object.keys(VIT_SPECS).join(', ')}`,
        );
      }
      spec = found;
    } else {
      spec = {
        hiddenSize: opts.hiddenSize ?? 768,
        patchSize: opts.patchSize ?? 16,
        mlpDim: opts.mlpDim ?? 3072,
        numHeads: opts.numHeads ?? 12,
        numLayers: opts.numLayers ?? 12,
      };
    }
    this.spec = spec;
    const pooler = opts.pooler ?? 'token';
    if (!(VIT_POOLERS as readonly string[]).includes(pooler)) {
      throw new Error(`vit: unrecognized pooler '${pooler}'; use token, gap or none`);
    }
    this.pooler = pooler as ViTPooler;
    this.representationSize = opts.representationSize ?? 0;
    const originalInit = opts.originalInit ?? true;
    this.patchEmbed = this.add(
      'layer_with_weights-0',
      new Conv2D({
        filters: spec.hiddenSize,
        kernelSize: spec.patchSize,
        strides: spec.patchSize,
        padding: 'valid',
        kernelInitializer: originalInit ? 'lecun_normal' : 'he_uniform',
      }),
    );
    let n = 1;
    if (this.pooler === 'token')
      this.token = this.add(`layer_with_weights-${n++}`, new TokenLayer());
    this.encoder = this.add(
      `layer_with_weights-${n++}`,
      new ViTEncoder({
        numLayers: spec.numLayers,
        mlpDim: spec.mlpDim,
        numHeads: spec.numHeads,
        dropoutRate: opts.dropoutRate ?? 0.1,
        attentionDropoutRate: opts.attentionDropoutRate ?? 0,
        initStochasticDepthRate: opts.initStochasticDepthRate ?? 0,
        kernelInitializer: originalInit ? 'glorot_uniform' : 'truncated_normal_0.02',
        posEmbedShape: opts.posEmbedShape ?? null,
        extraTokens: this.pooler === 'token' ? 1 : 0,
      }),
    );
    if (this.representationSize > 0) {
      this.preLogits = this.add(
        `layer_with_weights-${n}`,
        new Dense({
          name: 'pre_logits',
          units: this.representationSize,
          kernelInitializer: originalInit ? 'lecun_normal' : 'he_uniform',
        }),
      );
    }
    const width = this.representationSize || spec.hiddenSize;
    this.outputSpecs = {
      [this.pooler === 'none' ? 'encoded_tokens' : 'pre_logits']: { channels: width, stride: null },
    };
  }

  /** x: [batch, H, W, C] with H, W multiples of the patch size → endpoints (see the module doc). */
  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    const p = this.spec.patchSize;
    if (x.rank !== 4)
      throw new Error(`${this.fullPath()}: expected [batch, h, w, c], got [${x.shape}]`);
    const h = x.shape[1] as number;
    const w = x.shape[2] as number;
    if (h < p || w < p) {
      throw new Error(`${this.fullPath()}: input ${h}x${w} is smaller than the ${p}x${p} patch`);
    }
    const grid: [number, number] = [Math.floor(h / p), Math.floor(w / p)];
    const hidden = this.spec.hiddenSize;
    let y = tf.reshape(this.patchEmbed.apply(x, args), [-1, grid[0] * grid[1], hidden]);
    if (this.token) y = this.token.apply(y, args);
    this.encoder.posEmbed.targetGrid = grid;
    y = this.encoder.apply(y, args);
    if (this.pooler === 'none') {
      return { encoded_tokens: this.preLogits ? tf.tanh(this.preLogits.apply(y, args)) : y };
    }
    let pooled =
      this.pooler === 'token'
        ? tf.reshape(tf.slice(y, [0, 0, 0], [-1, 1, hidden]), [-1, hidden])
        : tf.mean(y, 1);
    if (this.preLogits) pooled = tf.tanh(this.preLogits.apply(pooled, args));
    const width = this.representationSize || hidden;
    return { pre_logits: tf.reshape(pooled, [-1, 1, 1, width]) };
  }
}
