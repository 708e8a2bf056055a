/**
 * The ASPP decoder (Model Garden `modeling/decoders/aspp.py`): DeepLab's spatial pyramid pooling
 * (../layers/deeplab.ts) on the backbone feature of one level. The output is that level only,
 * `{level: [B, h, w, num_filters]}`; `pool_kernel_size` is given in input pixels and divided by
 * 2^level (integer division, as there). Held under the attribute `aspp`, as in MG's checkpoints.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { SpatialPyramidPooling } from '../layers/deeplab.js';
import type { BackboneOutputSpecs } from '../backbones/contract.js';
import type { Decoder } from './contract.js';

export interface ASPPOptions {
  /** The backbone's endpoint specs (to check the level). */
  inputSpecs: BackboneOutputSpecs;
  level: number;
  dilationRates: readonly number[];
  /** Default 256. */
  numFilters?: number;
  /** [height, width] in input pixels; null = global average pooling. */
  poolKernelSize?: readonly number[] | null;
  normMomentum?: number;
  normEpsilon?: number;
  activation?: string;
  dropoutRate?: number;
  /** Default 'VarianceScaling' (MG's ASPP default, passed to the pooling layer). */
  kernelInitializer?: string;
  useDepthwiseConvolution?: boolean;
  /** 'v1' only (Model Garden's `deeplab.SpatialPyramidPooling`). */
  sppLayerVersion?: string;
  /** MG: return the tensor instead of {level: tensor}; the model's head reads either. */
  outputTensor?: boolean;
  name?: string;
}

export class ASPP
  extends Layer<Record<string, tf.Tensor>, Record<string, tf.Tensor>>
  implements Decoder
{
  readonly level: number;
  readonly outputSpecs: BackboneOutputSpecs;
  /** Whether MG's ASPP hands the head a bare tensor (the head then ignores its `level`). */
  readonly outputTensor: boolean;
  private readonly aspp: SpatialPyramidPooling;

  constructor(opts: ASPPOptions) {
    super({ name: opts.name ?? 'aspp' });
    const version = opts.sppLayerVersion ?? 'v1';
    if (version !== 'v1') {
      throw new Error(
        `aspp: spp_layer_version '${version}' is not supported yet; only 'v1' (layers/deeplab.py) is`,
      );
    }
    const key = String(opts.level);
    const spec = opts.inputSpecs[key];
    if (!spec || spec.stride === null) {
      throw new Error(
        `aspp: the backbone has no level '${key}' endpoint (it has: ${Object.keys(opts.inputSpecs).join(', ')})`,
      );
    }
    this.level = opts.level;
    this.outputTensor = opts.outputTensor ?? false;
    const numFilters = opts.numFilters ?? 256;
    const pool = opts.poolKernelSize?.length
      ? opts.poolKernelSize.map((p) => Math.floor(p / 2 ** opts.level))
      : null;
    this.aspp = this.add(
      'aspp',
      new SpatialPyramidPooling({
        outputChannels: numFilters,
        dilationRates: opts.dilationRates,
        poolKernelSize: pool,
        normMomentum: opts.normMomentum,
        normEpsilon: opts.normEpsilon,
        activation: opts.activation,
        dropout: opts.dropoutRate ?? 0,
        kernelInitializer: opts.kernelInitializer ?? 'VarianceScaling',
        useDepthwiseConvolution: opts.useDepthwiseConvolution,
      }),
    );
    this.outputSpecs = { [key]: { channels: numFilters, stride: spec.stride } };
  }

  protected call(inputs: Record<string, tf.Tensor>, args: CallArgs): Record<string, tf.Tensor> {
    const key = String(this.level);
    const x = inputs[key];
    if (!x) throw new Error(`${this.fullPath()}: the input has no level '${key}' feature map`);
    return { [key]: this.aspp.apply(x, args) };
  }
}
