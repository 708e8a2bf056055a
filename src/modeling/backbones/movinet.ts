/**
 * MoViNet backbone (official/projects/movinet/modeling/movinet.py `Movinet`; arXiv:2103.11511):
 * video [B, T, H, W, 3] → endpoints `stem`, `block{b}_layer{l}`, `head` ([B, 1, 1, 1, C] after
 * the global pool), with explicit stream states in and out (`initStateShapes` lists them with
 * Model Garden's names and shapes).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs, type LayerOptions } from '../../core/layer.js';
import {
  AVERAGE_POOLING_TYPES,
  CONV_TYPES,
  Head,
  MovinetBlock,
  SE_TYPES,
  Stem,
  type AveragePoolingType,
  type ConvType,
  type SeType,
} from '../blocks/movinet_blocks.js';
import type { States, Streamed } from '../layers/stream_layers.js';
import { MOVINET_SPECS, type MovinetSpec } from './movinet_specs.js';

export interface MovinetOptions extends LayerOptions {
  modelId: string;
  causal?: boolean;
  usePositionalEncoding?: boolean;
  convType?: string;
  seType?: string;
  activation?: string;
  gatingActivation?: string;
  normMomentum?: number;
  normEpsilon?: number;
  kernelInitializer?: string;
  stochasticDepthDropRate?: number;
  averagePoolingType?: string;
}

export interface MovinetInput {
  image: tf.Tensor;
  /** Stream states from the previous call; absent entries start at zero. */
  states?: States;
}

export interface MovinetOutput {
  endpoints: Record<string, tf.Tensor>;
  states: States;
}

function oneOfValues<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`MoViNet: unknown ${what} '${value}' (one of: ${allowed.join(', ')})`);
  }
  return value as T;
}

export class Movinet extends Layer<MovinetInput, MovinetOutput> {
  readonly modelId: string;
  readonly spec: MovinetSpec;
  readonly causal: boolean;
  readonly convType: ConvType;
  readonly seType: SeType;
  readonly usePositionalEncoding: boolean;
  readonly headFilters: number;

  constructor(opts: MovinetOptions) {
    super({ ...opts, name: opts.name ?? 'movinet' });
    const spec = MOVINET_SPECS[opts.modelId];
    if (!spec) {
      throw new Error(
        `MoViNet: unknown model_id '${opts.modelId}' (one of: ${Object.keys(MOVINET_SPECS).join(', ')})`,
      );
    }
    this.modelId = opts.modelId;
    this.spec = spec;
    this.causal = opts.causal ?? false;
    this.convType = oneOfValues(opts.convType ?? '3d', CONV_TYPES, 'conv_type');
    this.seType = oneOfValues(opts.seType ?? '3d', SE_TYPES, 'se_type');
    const pooling: AveragePoolingType = oneOfValues(
      (opts.averagePoolingType ?? '3d').toLowerCase(),
      AVERAGE_POOLING_TYPES,
      'average_pooling_type',
    );
    // Model Garden applies positional encoding in causal models only.
    this.usePositionalEncoding = (opts.usePositionalEncoding ?? false) && this.causal;
    this.headFilters = spec.head.headFilters;
    const activation = opts.activation ?? 'swish';
    const common = {
      convType: this.convType,
      kernelInitializer: opts.kernelInitializer ?? 'he_normal',
      normMomentum: opts.normMomentum ?? 0.99,
      normEpsilon: opts.normEpsilon ?? 1e-3,
    };
    this.add(
      'stem',
      new Stem({ ...common, ...spec.stem, causal: this.causal, activation, name: 'stem' }),
    );
    const numLayers = spec.blocks.reduce((n, b) => n + b.expandFilters.length, 0);
    let depthIndex = 1;
    const sd = opts.stochasticDepthDropRate ?? 0;
    spec.blocks.forEach((b, bi) => {
      b.expandFilters.forEach((expand, li) => {
        const name = `block${bi}_layer${li}`;
        this.add(
          name,
          new MovinetBlock({
            ...common,
            name,
            outFilters: b.baseFilters,
            expandFilters: expand,
            kernelSize: b.kernelSizes[li],
            strides: b.strides[li],
            causal: this.causal,
            activation,
            gatingActivation: opts.gatingActivation ?? 'sigmoid',
            stochasticDepthDropRate: (sd * depthIndex) / numLayers,
            seType: this.seType,
            usePositionalEncoding: this.usePositionalEncoding,
            statePrefix: `state_${name}`,
          }),
        );
        depthIndex++;
      });
    });
    this.add(
      'head',
      new Head({
        ...common,
        name: 'head',
        projectFilters: spec.head.projectFilters,
        activation,
        averagePoolingType: pooling,
      }),
    );
  }

  /**
   * Names and shapes of every stream state for an input [B, T, H, W, 3] (MG
   * `_get_initial_state_shapes`): frame counts are int32 [1], the rest float32.
   */
  initStateShapes(inputShape: number[]): Record<string, number[]> {
    const [b, , h, w] = inputShape;
    const down = (n: number, k: number) => Math.ceil(n / 2 ** k);
    const split = this.convType !== '3d';
    const out: Record<string, number[]> = {};
    let downsamples = 1; // the stem's
    this.spec.blocks.forEach((blk, bi) => {
      blk.expandFilters.forEach((expand, li) => {
        const [kt] = blk.kernelSizes[li];
        const strided = blk.strides[li][1] !== 1;
        // (2+1)D blocks buffer after the spatial (strided) convolution, 3-D ones before it.
        if (strided && split) downsamples++;
        const prefix = `state_block${bi}_layer${li}`;
        if (kt > 1 && this.causal) {
          out[`${prefix}_stream_buffer`] = [
            b,
            kt - 1,
            down(h, downsamples),
            down(w, downsamples),
            expand,
          ];
        }
        if (this.seType === '3d' || this.seType === '2plus3d') {
          out[`${prefix}_pool_buffer`] = [b, 1, 1, 1, expand];
          out[`${prefix}_pool_frame_count`] = [1];
        }
        if (this.usePositionalEncoding) out[`${prefix}_pos_enc_frame_count`] = [1];
        if (strided && !split) downsamples++;
      });
    });
    out.state_head_pool_buffer = [b, 1, 1, 1, this.spec.head.projectFilters];
    out.state_head_pool_frame_count = [1];
    return out;
  }

  /** Zero states for an input of `inputShape` (MG `init_states`). */
  initStates(inputShape: number[]): States {
    const states: States = {};
    for (const [name, shape] of Object.entries(this.initStateShapes(inputShape))) {
      states[name] = tf.zeros(shape, name.endsWith('frame_count') ? 'int32' : 'float32');
    }
    return states;
  }

  protected call(input: MovinetInput, args: CallArgs): MovinetOutput {
    if (input.image.rank !== 5) {
      throw new Error(
        `MoViNet '${this.fullPath()}': expected a video [batch, frames, height, width, channels], got [${input.image.shape}]`,
      );
    }
    let cur: Streamed = { x: input.image, states: input.states ?? {} };
    const endpoints: Record<string, tf.Tensor> = {};
    for (const layer of this.layers()) {
      cur = (layer as Layer<Streamed, Streamed>).apply(cur, args);
      endpoints[layer.name] = cur.x;
    }
    return { endpoints, states: cur.states };
  }
}
