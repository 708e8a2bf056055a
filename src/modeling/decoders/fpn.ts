/**
 * Feature Pyramid Network decoder (Model Garden `modeling/decoders/fpn.py`; Lin et al. 2017,
 * arXiv:1612.03144).
 *
 * For the backbone levels min_level..B (B = min(deepest backbone level, max_level)):
 * `lateral_l` 1×1 conv to num_filters; top-down from B: feats[l] = nearest ×2 upsampling of
 * feats[l + 1] fused (sum, or channel concat) with lateral_l; `post_hoc_l` 3×3 conv. Levels above
 * B (RetinaNet's P6, P7): `coarser_l` 3×3/2 conv on feats[l - 1], with the activation applied to
 * its input from the second extra level on (not to P5's output). Every level then passes
 * `norm_l` (batch norm, no activation). All convs have a bias; with use_separable_conv they are
 * Keras SeparableConv2D. Outputs: levels min..max, num_filters channels, stride 2^l.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { getActivation, type ActivationFn } from '../layers/activations.js';
import { Conv2D, SeparableConv2D } from '../layers/conv.js';
import { BatchNormalization } from '../layers/normalization.js';
import { pyramidLevels, type BackboneOutputSpecs } from '../backbones/contract.js';
import type { Decoder } from './contract.js';
import { kerasLayerOrder } from '../keras_functional_order.js';

/** One call of FPN's functional graph: its name and the names of the calls it consumes. */
interface GraphNode {
  name: string;
  inputs: string[];
}

export const FPN_FUSION_TYPES = ['sum', 'concat'] as const;

export interface FPNOptions {
  /** The backbone's endpoint specs. */
  inputSpecs: BackboneOutputSpecs;
  /** Default 3. */
  minLevel?: number;
  /** Default 7. */
  maxLevel?: number;
  /** Default 256. */
  numFilters?: number;
  /** 'sum' (default) or 'concat'. */
  fusionType?: string;
  useSeparableConv?: boolean;
  /** Default 'relu' (between the extra coarser levels). */
  activation?: string;
  normMomentum?: number;
  normEpsilon?: number;
  /** Of the plain (not separable) convs; default 'VarianceScaling'. */
  kernelInitializer?: string;
  name?: string;
}

/**
 * MG's spatial_transform_ops.nearest_upsampling: [b, h, w, c] → [b, h·s, w·s, c], each value
 * repeated s×s (a reshape, a broadcast multiply by ones and a reshape, as there).
 */
export function nearestUpsampling(x: tf.Tensor, scale: number): tf.Tensor {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape as number[];
    const ones = tf.ones([1, 1, scale, 1, scale, 1], x.dtype);
    const tiled = tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), ones);
    return tf.reshape(tiled, [b, h * scale, w * scale, c]);
  });
}

export class FPN
  extends Layer<Record<string, tf.Tensor>, Record<string, tf.Tensor>>
  implements Decoder
{
  readonly minLevel: number;
  readonly maxLevel: number;
  /** min(deepest backbone level, maxLevel). */
  readonly backboneMaxLevel: number;
  readonly fusionType: 'sum' | 'concat';
  readonly outputSpecs: BackboneOutputSpecs = {};
  private readonly convs = new Map<string, Layer<tf.Tensor, tf.Tensor>>();
  private readonly norms = new Map<number, BatchNormalization>();
  private readonly activationFn: ActivationFn;

  constructor(opts: FPNOptions) {
    super({ name: opts.name ?? 'fpn' });
    const minLevel = opts.minLevel ?? 3;
    const maxLevel = opts.maxLevel ?? 7;
    const numFilters = opts.numFilters ?? 256;
    const fusion = opts.fusionType ?? 'sum';
    if (!(FPN_FUSION_TYPES as readonly string[]).includes(fusion)) {
      throw new Error(`fpn: fusion_type '${fusion}' is not supported; use sum or concat`);
    }
    if (!(maxLevel >= minLevel)) {
      throw new Error(`fpn: max_level ${maxLevel} is below min_level ${minLevel}`);
    }
    const levels = pyramidLevels(opts.inputSpecs, 'fpn');
    if (levels[0] > minLevel) {
      throw new Error(
        `fpn: the backbone's lowest level ${levels[0]} is above min_level ${minLevel}; the backbone min level must be <= the FPN min level`,
      );
    }
    const top = Math.min(levels[levels.length - 1], maxLevel);
    for (let l = minLevel; l <= top; l++) {
      if (!levels.includes(l)) throw new Error(`fpn: the backbone has no level ${l} endpoint`);
    }
    this.minLevel = minLevel;
    this.maxLevel = maxLevel;
    this.backboneMaxLevel = top;
    this.fusionType = fusion as 'sum' | 'concat';
    this.activationFn = getActivation(opts.activation ?? 'relu');

    const conv = (name: string, kernelSize: number, strides: number) =>
      opts.useSeparableConv
        ? new SeparableConv2D({ name, filters: numFilters, kernelSize, strides, padding: 'same' })
        : new Conv2D({
            name,
            filters: numFilters,
            kernelSize,
            strides,
            padding: 'same',
            kernelInitializer: opts.kernelInitializer ?? 'VarianceScaling',
          });
    // The functional graph in MG's creation order, for the Keras layer order of the checkpoint.
    const graph: GraphNode[] = [];
    const created = new Map<string, Layer<tf.Tensor, tf.Tensor>>();
    const feat = new Map<number, string>();
    for (let l = minLevel; l <= top; l++) {
      created.set(`lateral_${l}`, conv(`lateral_${l}`, 1, 1));
      graph.push({ name: `lateral_${l}`, inputs: [] });
    }
    feat.set(top, `lateral_${top}`);
    for (let l = top - 1; l >= minLevel; l--) {
      graph.push({ name: `upsample_${l}`, inputs: [feat.get(l + 1) as string] });
      graph.push({ name: `fuse_${l}`, inputs: [`upsample_${l}`, `lateral_${l}`] });
      feat.set(l, `fuse_${l}`);
    }
    for (let l = minLevel; l <= top; l++) {
      created.set(`post_hoc_${l}`, conv(`post_hoc_${l}`, 3, 1));
      graph.push({ name: `post_hoc_${l}`, inputs: [feat.get(l) as string] });
      feat.set(l, `post_hoc_${l}`);
    }
    for (let l = top + 1; l <= maxLevel; l++) {
      let input = feat.get(l - 1) as string;
      if (l > top + 1) {
        graph.push({ name: `activation_${l}`, inputs: [input] });
        input = `activation_${l}`;
      }
      created.set(`coarser_${l}`, conv(`coarser_${l}`, 3, 2));
      graph.push({ name: `coarser_${l}`, inputs: [input] });
      feat.set(l, `coarser_${l}`);
    }
    for (let l = minLevel; l <= maxLevel; l++) {
      const norm = new BatchNormalization({
        name: `norm_${l}`,
        momentum: opts.normMomentum ?? 0.99,
        epsilon: opts.normEpsilon ?? 0.001,
      });
      created.set(`norm_${l}`, norm);
      this.norms.set(l, norm);
      graph.push({ name: `norm_${l}`, inputs: [feat.get(l) as string] });
      this.outputSpecs[String(l)] = { channels: numFilters, stride: 2 ** l };
    }
    // Keras flattens the outputs dict by sorted key; weighted layers keep that rule's order.
    const ids = new Map(graph.map((node, i) => [node.name, i]));
    const idOf = (name: string) => ids.get(name) as number;
    const order = kerasLayerOrder(
      graph.map((node) => ({ inputs: node.inputs.map(idOf) })),
      [...this.norms.keys()]
        .map(String)
        .sort()
        .map((l) => idOf(`norm_${l}`)),
    );
    let n = 0;
    for (const name of order.map((id) => graph[id].name)) {
      const layer = created.get(name);
      if (!layer) continue;
      this.add(`layer_with_weights-${n++}`, layer);
      if (!name.startsWith('norm_')) this.convs.set(name, layer);
    }
  }

  private convAt(name: string): Layer<tf.Tensor, tf.Tensor> {
    return this.convs.get(name) as Layer<tf.Tensor, tf.Tensor>;
  }

  protected call(inputs: Record<string, tf.Tensor>, args: CallArgs): Record<string, tf.Tensor> {
    const feats = new Map<number, tf.Tensor>();
    for (let l = this.minLevel; l <= this.backboneMaxLevel; l++) {
      const x = inputs[String(l)];
      if (!x) throw new Error(`${this.fullPath()}: the input has no level '${l}' feature map`);
      feats.set(l, this.convAt(`lateral_${l}`).apply(x, args));
    }
    for (let l = this.backboneMaxLevel - 1; l >= this.minLevel; l--) {
      const up = nearestUpsampling(feats.get(l + 1) as tf.Tensor, 2);
      const lateral = feats.get(l) as tf.Tensor;
      feats.set(l, this.fusionType === 'sum' ? tf.add(up, lateral) : tf.concat([up, lateral], -1));
    }
    for (let l = this.minLevel; l <= this.backboneMaxLevel; l++) {
      feats.set(l, this.convAt(`post_hoc_${l}`).apply(feats.get(l) as tf.Tensor, args));
    }
    for (let l = this.backboneMaxLevel + 1; l <= this.maxLevel; l++) {
      let x = feats.get(l - 1) as tf.Tensor;
      if (l > this.backboneMaxLevel + 1) x = this.activationFn(x);
      feats.set(l, this.convAt(`coarser_${l}`).apply(x, args));
    }
    const out: Record<string, tf.Tensor> = {};
    for (let l = this.minLevel; l <= this.maxLevel; l++) {
      out[String(l)] = (this.norms.get(l) as BatchNormalization).apply(
        feats.get(l) as tf.Tensor,
        args,
      );
    }
    return out;
  }
}
