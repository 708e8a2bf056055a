/**
 * 3-D backbone configs: Model Garden's `configs/backbones_3d.py` (ResNet3DBlock, ResNet3D with
 * the ResNet3D50 and ResNet3DRS defaults, and the Backbone3D oneOf). Builders are registered in
 * ./factory.ts under the same type names.
 */
import { z } from 'zod';
import { bool, config, float, int, list, oneOf, optList, str } from '../../core/config/schema.js';
import { registerConfigExtension } from '../../core/config/extensions.js';

/** Model Garden `backbones_3d.ResNet3DBlock`: one block group. */
export const resNet3DBlockConfig = config({
  temporal_strides: int(1),
  temporal_kernel_sizes: list(z.int()),
  use_self_gating: bool(false),
});
export type ResNet3DBlockConfig = z.infer<typeof resNet3DBlockConfig>;

const block = (kernels: number[], gating: boolean): ResNet3DBlockConfig => ({
  temporal_strides: 1,
  temporal_kernel_sizes: kernels,
  use_self_gating: gating,
});

interface ResNet3DDefaults {
  stem_type: string;
  stem_pool_temporal_stride: number;
  block_specs: ResNet3DBlockConfig[];
  stochastic_depth_drop_rate: number;
  se_ratio: number;
}

/** Model Garden `backbones_3d.ResNet3D` with the defaults of one of its subclasses. */
function resNet3DConfigWith(d: ResNet3DDefaults) {
  return config({
    model_id: int(50),
    stem_type: str(d.stem_type),
    stem_conv_temporal_kernel_size: int(5),
    stem_conv_temporal_stride: int(2),
    stem_pool_temporal_stride: int(d.stem_pool_temporal_stride),
    block_specs: list(resNet3DBlockConfig, d.block_specs),
    stochastic_depth_drop_rate: float(d.stochastic_depth_drop_rate),
    se_ratio: float(d.se_ratio),
    /**
     * vision-garden extension (not in Model Garden): the filters of the four block groups instead
     * of model_id's RESNET_SPECS row. Model Garden has no width knob for ResNet-3D; a narrower one
     * there means editing RESNET_SPECS in code (the r3d reference case).
     */
    block_filters: optList(z.int()),
  });
}

/** `backbones_3d.ResNet3D50` (the resnet_3d branch's default). */
export const resNet3DConfig = resNet3DConfigWith({
  stem_type: 'v0',
  stem_pool_temporal_stride: 2,
  block_specs: [
    block([3, 3, 3], true),
    block([3, 1, 3, 1], true),
    block([3, 1, 3, 1, 3, 1], true),
    block([1, 3, 1], true),
  ],
  stochastic_depth_drop_rate: 0.0,
  se_ratio: 0.0,
});

/**
 * `backbones_3d.ResNet3DRS` (the resnet_3d_rs branch's default): each group's temporal kernel
 * list is tiled over the group's blocks by the builder.
 */
export const resNet3DRSConfig = resNet3DConfigWith({
  stem_type: 'v1',
  stem_pool_temporal_stride: 2,
  block_specs: [block([1], true), block([1], true), block([3], true), block([3], true)],
  stochastic_depth_drop_rate: 0.1,
  se_ratio: 0.2,
});

for (const branch of ['resnet_3d', 'resnet_3d_rs']) {
  registerConfigExtension(
    `${branch}.block_filters`,
    null,
    "ResNet-3D block-group filters instead of model_id's RESNET_SPECS row",
  );
}

/**
 * Model Garden `backbones_3d.Backbone3D` (type null by default; the video model's config sets
 * 'resnet_3d').
 */
export const backbone3DConfig = oneOf({
  resnet_3d: resNet3DConfig,
  resnet_3d_rs: resNet3DRSConfig,
});

export type ResNet3DConfig = z.infer<typeof resNet3DConfig>;
export type Backbone3DConfig = z.infer<typeof backbone3DConfig>;
