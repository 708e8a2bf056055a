/**
 * The MobileNet family (Model Garden `modeling/backbones/mobilenet.py`): one builder over block
 * spec tables — MobileNetV1 (Howard et al. 2017), V2 (Sandler et al. 2018), V3Large/V3Small and
 * the V3 EdgeTPU variant (Howard et al. 2019), MobileNetMultiMAX/AVG and their segmentation
 * variants (Chu et al. 2020) and MobilenetV3SmallReducedFilters.
 *
 * Each table row is one block: 'convbn' (Conv2DBNBlock), 'depsepconv' (depthwise-separable),
 * 'invertedbottleneck' (expand → depthwise → SE → project, residual where shapes allow) or
 * 'gpooling' (global average pooling, kept 4-D). Filters are scaled by `filter_size_scale` and
 * rounded to multiples of 8 (1 for V1) with a minimum of 8; with finegrain_classification_mode
 * and a scale < 1 the last block keeps its width (V2+). `output_stride` switches later blocks to
 * stride 1 and dilated depthwise convs once the running stride reaches it.
 *
 * Endpoints: each `is_output` block's result is endpoint `level` (from 2, advancing by one unless
 * the output stride is reached), with output_intermediate_endpoints also its depthwise activation
 * as `level/depthwise` (inverted bottlenecks with a depthwise conv); the final block's result is one more level, returned but left
 * out of `outputSpecs` (as MG does, so decoders see only the pyramid). Blocks are held as
 * `layer_with_weights-N` in order, the object paths of MG's functional model.
 *
 * MobileNetV4's convolutional rows (ConvSmall/Medium/Large/MediumSeg) use 'fused_ib' (an inverted
 * bottleneck whose expansion is the k×k strided conv) and 'uib' (universal inverted bottleneck).
 * The hybrid V4 rows add 'mhsa' (mobile multi-query attention) and layer scale on the UIBs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Layer, type CallArgs } from '../../core/layer.js';
import { makeDivisible } from '../layers/squeeze_excitation.js';
import { getStochasticDepthRate } from '../layers/dropout.js';
import { Conv2DBNBlock } from '../blocks/conv2d_bn_block.js';
import { DepthwiseSeparableConvBlock } from '../blocks/depthwise_separable_conv_block.js';
import { InvertedBottleneckBlock } from '../blocks/inverted_bottleneck_block.js';
import { MultiHeadSelfAttentionBlock } from '../blocks/multi_head_self_attention_block.js';
import { UniversalInvertedBottleneckBlock } from '../blocks/universal_inverted_bottleneck_block.js';
import type { Backbone, BackboneOutputSpecs } from './contract.js';

export type MobileNetBlockFn =
  'convbn' | 'depsepconv' | 'invertedbottleneck' | 'fused_ib' | 'uib' | 'mhsa' | 'gpooling';

/** One block (Model Garden's mobilenet.BlockSpec, the fields these tables use). */
export interface MobileNetBlockSpec {
  blockFn: MobileNetBlockFn;
  kernelSize: number;
  strides: number;
  filters: number;
  useBias: boolean;
  useNormalization: boolean;
  activation: string;
  expandRatio: number;
  seRatio: number | null;
  useDepthwise: boolean;
  useResidual: boolean;
  isOutput: boolean;
  /** Universal inverted bottleneck (V4): depthwise kernel sizes (0 = none) and stride place. */
  middleDwDownsample: boolean;
  startDwKernelSize: number;
  middleDwKernelSize: number;
  endDwKernelSize: number;
  useLayerScale: boolean;
  /** Mobile multi-query attention (hybrid V4). */
  useMultiQuery: boolean;
  numHeads: number;
  keyDim: number;
  valueDim: number;
  kvStrides: number;
}

const BLOCK_DEFAULTS: MobileNetBlockSpec = {
  blockFn: 'convbn',
  kernelSize: 3,
  strides: 1,
  filters: 32,
  useBias: false,
  useNormalization: true,
  activation: 'relu6',
  expandRatio: 6,
  seRatio: null,
  useDepthwise: true,
  useResidual: true,
  isOutput: true,
  middleDwDownsample: true,
  startDwKernelSize: 0,
  middleDwKernelSize: 0,
  endDwKernelSize: 0,
  useLayerScale: false,
  useMultiQuery: false,
  numHeads: 8,
  keyDim: 64,
  valueDim: 64,
  kvStrides: 1,
};

type Field = keyof MobileNetBlockSpec;
type Cell = string | number | boolean | null;

/** A table as Model Garden writes it: a schema of field names and one value tuple per block. */
interface SpecTable {
  schema: Field[];
  rows: Cell[][];
}

/** Decodes a table; a null cell keeps the field's default, as MG's BlockSpec(**row) with None. */
function decodeTable(table: SpecTable): MobileNetBlockSpec[] {
  return table.rows.map((row) => {
    const spec: Record<string, Cell> = { ...BLOCK_DEFAULTS };
    table.schema.forEach((field, i) => {
      // MG passes None through for optional fields (se_ratio, expand_ratio); for the boolean and
      // int fields of these tables None only appears on blocks that ignore the field.
      if (row[i] !== null || field === 'seRatio') spec[field] = row[i];
    });
    return spec as unknown as MobileNetBlockSpec;
  });
}

const IB = 'invertedbottleneck';
const HS = 'hard_swish';

const V1: SpecTable = {
  schema: ['blockFn', 'kernelSize', 'strides', 'filters', 'isOutput'],
  rows: [
    ['convbn', 3, 2, 32, false],
    ['depsepconv', 3, 1, 64, false],
    ['depsepconv', 3, 2, 128, false],
    ['depsepconv', 3, 1, 128, true],
    ['depsepconv', 3, 2, 256, false],
    ['depsepconv', 3, 1, 256, true],
    ['depsepconv', 3, 2, 512, false],
    ['depsepconv', 3, 1, 512, false],
    ['depsepconv', 3, 1, 512, false],
    ['depsepconv', 3, 1, 512, false],
    ['depsepconv', 3, 1, 512, false],
    ['depsepconv', 3, 1, 512, true],
    ['depsepconv', 3, 2, 1024, false],
    ['depsepconv', 3, 1, 1024, true],
  ],
};

const V2: SpecTable = {
  schema: ['blockFn', 'kernelSize', 'strides', 'filters', 'expandRatio', 'isOutput'],
  rows: [
    ['convbn', 3, 2, 32, null, false],
    [IB, 3, 1, 16, 1, false],
    [IB, 3, 2, 24, 6, false],
    [IB, 3, 1, 24, 6, true],
    [IB, 3, 2, 32, 6, false],
    [IB, 3, 1, 32, 6, false],
    [IB, 3, 1, 32, 6, true],
    [IB, 3, 2, 64, 6, false],
    [IB, 3, 1, 64, 6, false],
    [IB, 3, 1, 64, 6, false],
    [IB, 3, 1, 64, 6, false],
    [IB, 3, 1, 96, 6, false],
    [IB, 3, 1, 96, 6, false],
    [IB, 3, 1, 96, 6, true],
    [IB, 3, 2, 160, 6, false],
    [IB, 3, 1, 160, 6, false],
    [IB, 3, 1, 160, 6, false],
    [IB, 3, 1, 320, 6, true],
    ['convbn', 1, 1, 1280, null, false],
  ],
};

const V3_SCHEMA: Field[] = [
  'blockFn',
  'kernelSize',
  'strides',
  'filters',
  'activation',
  'seRatio',
  'expandRatio',
  'useNormalization',
  'useBias',
  'isOutput',
];
const GPOOL: Cell[] = ['gpooling', null, null, null, null, null, null, null, null, false];

const V3_LARGE: SpecTable = {
  schema: V3_SCHEMA,
  rows: [
    ['convbn', 3, 2, 16, HS, null, null, true, false, false],
    [IB, 3, 1, 16, 'relu', null, 1, null, false, false],
    [IB, 3, 2, 24, 'relu', null, 4, null, false, false],
    [IB, 3, 1, 24, 'relu', null, 3, null, false, true],
    [IB, 5, 2, 40, 'relu', 0.25, 3, null, false, false],
    [IB, 5, 1, 40, 'relu', 0.25, 3, null, false, false],
    [IB, 5, 1, 40, 'relu', 0.25, 3, null, false, true],
    [IB, 3, 2, 80, HS, null, 6, null, false, false],
    [IB, 3, 1, 80, HS, null, 2.5, null, false, false],
    [IB, 3, 1, 80, HS, null, 2.3, null, false, false],
    [IB, 3, 1, 80, HS, null, 2.3, null, false, false],
    [IB, 3, 1, 112, HS, 0.25, 6, null, false, false],
    [IB, 3, 1, 112, HS, 0.25, 6, null, false, true],
    [IB, 5, 2, 160, HS, 0.25, 6, null, false, false],
    [IB, 5, 1, 160, HS, 0.25, 6, null, false, false],
    [IB, 5, 1, 160, HS, 0.25, 6, null, false, true],
    ['convbn', 1, 1, 960, HS, null, null, true, false, false],
    GPOOL,
    ['convbn', 1, 1, 1280, HS, null, null, false, true, false],
  ],
};

const V3_SMALL: SpecTable = {
  schema: V3_SCHEMA,
  rows: [
    ['convbn', 3, 2, 16, HS, null, null, true, false, false],
    [IB, 3, 2, 16, 'relu', 0.25, 1, null, false, true],
    [IB, 3, 2, 24, 'relu', null, 72 / 16, null, false, false],
    [IB, 3, 1, 24, 'relu', null, 88 / 24, null, false, true],
    [IB, 5, 2, 40, HS, 0.25, 4, null, false, false],
    [IB, 5, 1, 40, HS, 0.25, 6, null, false, false],
    [IB, 5, 1, 40, HS, 0.25, 6, null, false, false],
    [IB, 5, 1, 48, HS, 0.25, 3, null, false, false],
    [IB, 5, 1, 48, HS, 0.25, 3, null, false, true],
    [IB, 5, 2, 96, HS, 0.25, 6, null, false, false],
    [IB, 5, 1, 96, HS, 0.25, 6, null, false, false],
    [IB, 5, 1, 96, HS, 0.25, 6, null, false, true],
    ['convbn', 1, 1, 576, HS, null, null, true, false, false],
    GPOOL,
    ['convbn', 1, 1, 1024, HS, null, null, false, true, false],
  ],
};

const V3_SMALL_REDUCED: SpecTable = {
  schema: V3_SCHEMA,
  rows: [
    ...V3_SMALL.rows.slice(0, 9),
    [IB, 5, 2, 48, HS, 0.25, 3, null, false, false],
    [IB, 5, 1, 48, HS, 0.25, 6, null, false, false],
    [IB, 5, 1, 48, HS, 0.25, 6, null, false, true],
    ['convbn', 1, 1, 288, HS, null, null, true, false, false],
    GPOOL,
    ['convbn', 1, 1, 1024, HS, null, null, false, true, false],
  ],
};

const V3_EDGETPU: SpecTable = {
  schema: [
    'blockFn',
    'kernelSize',
    'strides',
    'filters',
    'activation',
    'seRatio',
    'expandRatio',
    'useResidual',
    'useDepthwise',
    'isOutput',
  ],
  rows: [
    ['convbn', 3, 2, 32, 'relu', null, null, null, null, false],
    [IB, 3, 1, 16, 'relu', null, 1, true, false, false],
    [IB, 3, 2, 32, 'relu', null, 8, true, false, false],
    [IB, 3, 1, 32, 'relu', null, 4, true, false, false],
    [IB, 3, 1, 32, 'relu', null, 4, true, false, false],
    [IB, 3, 1, 32, 'relu', null, 4, true, false, true],
    [IB, 3, 2, 48, 'relu', null, 8, true, false, false],
    [IB, 3, 1, 48, 'relu', null, 4, true, false, false],
    [IB, 3, 1, 48, 'relu', null, 4, true, false, false],
    [IB, 3, 1, 48, 'relu', null, 4, true, false, true],
    [IB, 3, 2, 96, 'relu', null, 8, true, true, false],
    [IB, 3, 1, 96, 'relu', null, 4, true, true, false],
    [IB, 3, 1, 96, 'relu', null, 4, true, true, false],
    [IB, 3, 1, 96, 'relu', null, 4, true, true, false],
    [IB, 3, 1, 96, 'relu', null, 8, false, true, false],
    [IB, 3, 1, 96, 'relu', null, 4, true, true, false],
    [IB, 3, 1, 96, 'relu', null, 4, true, true, false],
    [IB, 3, 1, 96, 'relu', null, 4, true, true, true],
    [IB, 5, 2, 160, 'relu', null, 8, true, true, false],
    [IB, 5, 1, 160, 'relu', null, 4, true, true, false],
    [IB, 5, 1, 160, 'relu', null, 4, true, true, false],
    [IB, 5, 1, 160, 'relu', null, 4, true, true, false],
    [IB, 3, 1, 192, 'relu', null, 8, true, true, true],
    ['convbn', 1, 1, 1280, 'relu', null, null, null, null, false],
  ],
};

const MULTI_SCHEMA: Field[] = [
  'blockFn',
  'kernelSize',
  'strides',
  'filters',
  'activation',
  'expandRatio',
  'useNormalization',
  'useBias',
  'isOutput',
];
const MULTI_GPOOL: Cell[] = ['gpooling', null, null, null, null, null, null, null, false];
/** [kernel, stride, filters, expand, is_output] rows of relu inverted bottlenecks. */
function multi(stem: Cell[], blocks: [number, number, number, number, boolean][], tail: Cell[][]) {
  return {
    schema: MULTI_SCHEMA,
    rows: [
      stem,
      ...blocks.map(([k, s, f, e, o]): Cell[] => [IB, k, s, f, 'relu', e, null, false, o]),
      ...tail,
    ],
  };
}
const MULTI_STEM: Cell[] = ['convbn', 3, 2, 32, 'relu', null, true, false, false];
const multiTail = (lastFilters: number, lastIsOutput: boolean): Cell[][] => [
  ['convbn', 1, 1, lastFilters, 'relu', null, true, false, lastIsOutput],
  MULTI_GPOOL,
  ['convbn', 1, 1, 1280, 'relu', null, true, false, false],
];

const MULTI_MAX = multi(
  MULTI_STEM,
  [
    [3, 2, 32, 3, true],
    [5, 2, 64, 6, false],
    [3, 1, 64, 2, false],
    [3, 1, 64, 2, true],
    [5, 2, 128, 6, false],
    [3, 1, 128, 4, false],
    [3, 1, 128, 3, false],
    [3, 1, 128, 3, false],
    [3, 1, 128, 6, false],
    [3, 1, 128, 3, true],
    [3, 2, 160, 6, false],
    [5, 1, 160, 4, false],
    [3, 1, 160, 5, false],
    [5, 1, 160, 4, true],
  ],
  multiTail(960, false),
);

const MULTI_AVG = multi(
  MULTI_STEM,
  [
    [3, 2, 32, 3, false],
    [3, 1, 32, 2, true],
    [5, 2, 64, 5, false],
    [3, 1, 64, 3, false],
    [3, 1, 64, 2, false],
    [3, 1, 64, 3, true],
    [5, 2, 128, 6, false],
    [3, 1, 128, 3, false],
    [3, 1, 128, 3, false],
    [3, 1, 128, 3, false],
    [3, 1, 160, 6, false],
    [3, 1, 160, 4, true],
    [3, 2, 192, 6, false],
    [5, 1, 192, 4, false],
    [5, 1, 192, 4, false],
    [5, 1, 192, 4, true],
  ],
  multiTail(960, false),
);

const MULTI_AVG_SEG = multi(
  MULTI_STEM,
  [
    [3, 2, 32, 3, false],
    [3, 1, 32, 2, true],
    [5, 2, 64, 5, false],
    [3, 1, 64, 3, false],
    [3, 1, 64, 2, false],
    [3, 1, 64, 3, true],
    [5, 2, 128, 6, false],
    [3, 1, 128, 3, false],
    [3, 1, 128, 3, false],
    [3, 1, 128, 3, false],
    [3, 1, 160, 6, false],
    [3, 1, 160, 4, true],
    [3, 2, 192, 6, false],
    [5, 1, 96, 2, false],
    [5, 1, 96, 4, false],
    [5, 1, 96, 4, true],
  ],
  multiTail(448, true),
);

const MULTI_MAX_SEG = multi(
  MULTI_STEM,
  [
    [3, 2, 32, 3, true],
    [5, 2, 64, 6, false],
    [3, 1, 64, 2, false],
    [3, 1, 64, 2, true],
    [5, 2, 128, 6, false],
    [3, 1, 128, 4, false],
    [3, 1, 128, 3, false],
    [3, 1, 128, 3, false],
    [3, 1, 128, 6, false],
    [3, 1, 128, 3, true],
    [3, 2, 160, 6, false],
    [5, 1, 96, 2, false],
    [3, 1, 96, 4, false],
    [5, 1, 96, 320 / 96, true],
  ],
  multiTail(448, true),
);

const V4_SCHEMA: Field[] = [
  'blockFn',
  'activation',
  'kernelSize',
  'startDwKernelSize',
  'middleDwKernelSize',
  'middleDwDownsample',
  'strides',
  'filters',
  'expandRatio',
  'isOutput',
];

type V4Row =
  | ['convbn', number, number, number, boolean?]
  | ['fused_ib', number, number, number, boolean?]
  | ['uib', number, number, number, number, number, boolean?]
  | ['gpooling'];

/**
 * A MobileNetV4 table from MG's helper form: convbn(k, s, f), fused_ib(k, s, f) with expand 4,
 * uib(start_dw, middle_dw, s, f, expand) with middle-depthwise downsampling; `activation` on all.
 */
function v4(activation: string, rows: V4Row[]): SpecTable {
  return {
    schema: V4_SCHEMA,
    rows: rows.map((r): Cell[] => {
      switch (r[0]) {
        case 'convbn':
          return ['convbn', activation, r[1], null, null, null, r[2], r[3], null, r[4] ?? false];
        case 'fused_ib':
          return ['fused_ib', activation, r[1], null, null, null, r[2], r[3], 4, r[4] ?? false];
        case 'uib':
          return ['uib', activation, null, r[1], r[2], true, r[3], r[4], r[5], r[6] ?? false];
        default:
          return ['gpooling', null, null, null, null, null, null, null, null, false];
      }
    }),
  };
}

const V4_CONV_SMALL = v4('relu', [
  ['convbn', 3, 2, 32],
  ['convbn', 3, 2, 32],
  ['convbn', 1, 1, 32, true],
  ['convbn', 3, 2, 96],
  ['convbn', 1, 1, 64, true],
  ['uib', 5, 5, 2, 96, 3],
  ['uib', 0, 3, 1, 96, 2],
  ['uib', 0, 3, 1, 96, 2],
  ['uib', 0, 3, 1, 96, 2],
  ['uib', 0, 3, 1, 96, 2],
  ['uib', 3, 0, 1, 96, 4, true],
  ['uib', 3, 3, 2, 128, 6],
  ['uib', 5, 5, 1, 128, 4],
  ['uib', 0, 5, 1, 128, 4],
  ['uib', 0, 5, 1, 128, 3],
  ['uib', 0, 3, 1, 128, 4],
  ['uib', 0, 3, 1, 128, 4, true],
  ['convbn', 1, 1, 960],
  ['gpooling'],
  ['convbn', 1, 1, 1280],
]);

const V4_CONV_MEDIUM = v4('relu', [
  ['convbn', 3, 2, 32],
  ['fused_ib', 3, 2, 48, true],
  ['uib', 3, 5, 2, 80, 4],
  ['uib', 3, 3, 1, 80, 2, true],
  ['uib', 3, 5, 2, 160, 6],
  ['uib', 3, 3, 1, 160, 4],
  ['uib', 3, 3, 1, 160, 4],
  ['uib', 3, 5, 1, 160, 4],
  ['uib', 3, 3, 1, 160, 4],
  ['uib', 3, 0, 1, 160, 4],
  ['uib', 0, 0, 1, 160, 2],
  ['uib', 3, 0, 1, 160, 4, true],
  ['uib', 5, 5, 2, 256, 6],
  ['uib', 5, 5, 1, 256, 4],
  ['uib', 3, 5, 1, 256, 4],
  ['uib', 3, 5, 1, 256, 4],
  ['uib', 0, 0, 1, 256, 4],
  ['uib', 3, 0, 1, 256, 4],
  ['uib', 3, 5, 1, 256, 2],
  ['uib', 5, 5, 1, 256, 4],
  ['uib', 0, 0, 1, 256, 4],
  ['uib', 0, 0, 1, 256, 4],
  ['uib', 5, 0, 1, 256, 2, true],
  ['convbn', 1, 1, 960],
  ['gpooling'],
  ['convbn', 1, 1, 1280],
]);

// MG's segmentation helpers set no activation: BlockSpec's default relu6.
const V4_CONV_MEDIUM_SEG = v4('relu6', [
  ['convbn', 3, 2, 32],
  ['fused_ib', 3, 2, 48, true],
  ['uib', 3, 5, 2, 80, 4],
  ['uib', 3, 3, 1, 80, 2, true],
  ['uib', 3, 5, 2, 160, 6],
  ['uib', 3, 3, 1, 160, 4],
  ['uib', 3, 3, 1, 160, 4],
  ['uib', 3, 5, 1, 160, 4],
  ['uib', 3, 3, 1, 160, 4],
  ['uib', 3, 0, 1, 160, 4],
  ['uib', 3, 0, 1, 160, 4, true],
  ['uib', 5, 5, 2, 256, 6],
  ['uib', 5, 5, 1, 128, 4],
  ['uib', 3, 5, 1, 128, 4],
  ['uib', 3, 5, 1, 128, 4],
  ['uib', 3, 0, 1, 128, 4],
  ['uib', 3, 5, 1, 128, 2],
  ['uib', 5, 5, 1, 128, 4],
  ['uib', 5, 0, 1, 128, 2],
  ['convbn', 1, 1, 448, true],
  ['gpooling'],
  ['convbn', 1, 1, 1280],
]);

const V4_CONV_LARGE = v4('relu', [
  ['convbn', 3, 2, 24],
  ['fused_ib', 3, 2, 48, true],
  ['uib', 3, 5, 2, 96, 4],
  ['uib', 3, 3, 1, 96, 4, true],
  ['uib', 3, 5, 2, 192, 4],
  ['uib', 3, 3, 1, 192, 4],
  ['uib', 3, 3, 1, 192, 4],
  ['uib', 3, 3, 1, 192, 4],
  ['uib', 3, 5, 1, 192, 4],
  ['uib', 5, 3, 1, 192, 4],
  ['uib', 5, 3, 1, 192, 4],
  ['uib', 5, 3, 1, 192, 4],
  ['uib', 5, 3, 1, 192, 4],
  ['uib', 5, 3, 1, 192, 4],
  ['uib', 3, 0, 1, 192, 4, true],
  ['uib', 5, 5, 2, 512, 4],
  ['uib', 5, 5, 1, 512, 4],
  ['uib', 5, 5, 1, 512, 4],
  ['uib', 5, 5, 1, 512, 4],
  ['uib', 5, 0, 1, 512, 4],
  ['uib', 5, 3, 1, 512, 4],
  ['uib', 5, 0, 1, 512, 4],
  ['uib', 5, 0, 1, 512, 4],
  ['uib', 5, 3, 1, 512, 4],
  ['uib', 5, 5, 1, 512, 4],
  ['uib', 5, 0, 1, 512, 4],
  ['uib', 5, 0, 1, 512, 4],
  ['uib', 5, 0, 1, 512, 4, true],
  ['convbn', 1, 1, 960],
  ['gpooling'],
  ['convbn', 1, 1, 1280],
]);

/** A hybrid MobileNetV4 table (MG's helper form): v4 rows with layer scale on the UIBs, plus mhsa. */
function v4Hybrid(
  activation: string,
  mhsa: Record<string, [filters: number, heads: number, dim: number, kvStrides: number]>,
  rows: (V4Row | ['mhsa', string])[],
): SpecTable {
  const schema: Field[] = [
    ...V4_SCHEMA,
    'useLayerScale',
    'useMultiQuery',
    'numHeads',
    'keyDim',
    'valueDim',
    'kvStrides',
  ];
  return {
    schema,
    rows: rows.map((r): Cell[] => {
      if (r[0] === 'mhsa') {
        const [f, heads, dim, kv] = mhsa[r[1]];
        return [
          'mhsa',
          'relu',
          null,
          null,
          null,
          null,
          null,
          f,
          null,
          false,
          true,
          true,
          heads,
          dim,
          dim,
          kv,
        ];
      }
      const base = v4(activation, [r]).rows[0];
      return [...base, r[0] === 'uib', false, null, null, null, null];
    }),
  };
}

const V4_HYBRID_MEDIUM = v4Hybrid('relu', { '24px': [160, 4, 64, 2], '12px': [256, 4, 64, 1] }, [
  ['convbn', 3, 2, 32],
  ['fused_ib', 3, 2, 48, true],
  ['uib', 3, 5, 2, 80, 4],
  ['uib', 3, 3, 1, 80, 2, true],
  ['uib', 3, 5, 2, 160, 6],
  ['uib', 0, 0, 1, 160, 2],
  ['uib', 3, 3, 1, 160, 4],
  ['uib', 3, 5, 1, 160, 4],
  ['mhsa', '24px'],
  ['uib', 3, 3, 1, 160, 4],
  ['mhsa', '24px'],
  ['uib', 3, 0, 1, 160, 4],
  ['mhsa', '24px'],
  ['uib', 3, 3, 1, 160, 4],
  ['mhsa', '24px'],
  ['uib', 3, 0, 1, 160, 4, true],
  ['uib', 5, 5, 2, 256, 6],
  ['uib', 5, 5, 1, 256, 4],
  ['uib', 3, 5, 1, 256, 4],
  ['uib', 3, 5, 1, 256, 4],
  ['uib', 0, 0, 1, 256, 2],
  ['uib', 3, 5, 1, 256, 2],
  ['uib', 0, 0, 1, 256, 2],
  ['uib', 0, 0, 1, 256, 4],
  ['mhsa', '12px'],
  ['uib', 3, 0, 1, 256, 4],
  ['mhsa', '12px'],
  ['uib', 5, 5, 1, 256, 4],
  ['mhsa', '12px'],
  ['uib', 5, 0, 1, 256, 4],
  ['mhsa', '12px'],
  ['uib', 5, 0, 1, 256, 4, true],
  ['convbn', 1, 1, 960],
  ['gpooling'],
  ['convbn', 1, 1, 1280],
]);

const V4_HYBRID_LARGE = v4Hybrid('gelu', { '24px': [192, 8, 48, 2], '12px': [512, 8, 64, 1] }, [
  ['convbn', 3, 2, 24],
  ['fused_ib', 3, 2, 48, true],
  ['uib', 3, 5, 2, 96, 4],
  ['uib', 3, 3, 1, 96, 4, true],
  ['uib', 3, 5, 2, 192, 4],
  ['uib', 3, 3, 1, 192, 4],
  ['uib', 3, 3, 1, 192, 4],
  ['uib', 3, 3, 1, 192, 4],
  ['uib', 3, 5, 1, 192, 4],
  ['uib', 5, 3, 1, 192, 4],
  ['uib', 5, 3, 1, 192, 4],
  ['mhsa', '24px'],
  ['uib', 5, 3, 1, 192, 4],
  ['mhsa', '24px'],
  ['uib', 5, 3, 1, 192, 4],
  ['mhsa', '24px'],
  ['uib', 5, 3, 1, 192, 4],
  ['mhsa', '24px'],
  ['uib', 3, 0, 1, 192, 4, true],
  ['uib', 5, 5, 2, 512, 4],
  ['uib', 5, 5, 1, 512, 4],
  ['uib', 5, 5, 1, 512, 4],
  ['uib', 5, 5, 1, 512, 4],
  ['uib', 5, 0, 1, 512, 4],
  ['uib', 5, 3, 1, 512, 4],
  ['uib', 5, 0, 1, 512, 4],
  ['uib', 5, 0, 1, 512, 4],
  ['uib', 5, 3, 1, 512, 4],
  ['uib', 5, 5, 1, 512, 4],
  ['mhsa', '12px'],
  ['uib', 5, 0, 1, 512, 4],
  ['mhsa', '12px'],
  ['uib', 5, 0, 1, 512, 4],
  ['mhsa', '12px'],
  ['uib', 5, 0, 1, 512, 4],
  ['mhsa', '12px'],
  ['uib', 5, 0, 1, 512, 4, true],
  ['convbn', 1, 1, 960],
  ['gpooling'],
  ['convbn', 1, 1, 1280],
]);

/** Model Garden's SUPPORTED_SPECS_MAP rows implemented here, keyed by model_id. */
export const MOBILENET_SPECS: Readonly<Record<string, SpecTable>> = {
  MobileNetV1: V1,
  MobileNetV2: V2,
  MobileNetV3Large: V3_LARGE,
  MobileNetV3Small: V3_SMALL,
  MobileNetV3EdgeTPU: V3_EDGETPU,
  MobileNetMultiMAX: MULTI_MAX,
  MobileNetMultiAVG: MULTI_AVG,
  MobileNetMultiAVGSeg: MULTI_AVG_SEG,
  MobileNetMultiMAXSeg: MULTI_MAX_SEG,
  MobilenetV3SmallReducedFilters: V3_SMALL_REDUCED,
  MobileNetV4ConvSmall: V4_CONV_SMALL,
  MobileNetV4ConvMedium: V4_CONV_MEDIUM,
  MobileNetV4ConvLarge: V4_CONV_LARGE,
  MobileNetV4ConvMediumSeg: V4_CONV_MEDIUM_SEG,
  MobileNetV4HybridMedium: V4_HYBRID_MEDIUM,
  MobileNetV4HybridLarge: V4_HYBRID_LARGE,
};

/**
 * MG's block_spec_decoder: the table's blocks with filters scaled by `filterSizeScale`, rounded
 * with make_divisible(·, divisibleBy, min 8); the last block keeps its width for scale < 1 with
 * finegrain mode (not V1).
 */
export function decodeMobileNetSpecs(
  modelId: string,
  filterSizeScale: number,
  divisibleBy: number,
  finegrainClassificationMode: boolean,
): MobileNetBlockSpec[] {
  const table = MOBILENET_SPECS[modelId];
  if (!table) throw new Error(unknownModelId(modelId));
  const specs = decodeTable(table);
  const last = specs[specs.length - 1];
  const keepLast = modelId !== 'MobileNetV1' && finegrainClassificationMode && filterSizeScale < 1;
  return specs.map((s) => {
    if (s.blockFn === 'gpooling') return s;
    const base = s === last && keepLast ? s.filters / filterSizeScale : s.filters;
    return { ...s, filters: makeDivisible(base * filterSizeScale, divisibleBy, 8) };
  });
}

/** MG's tf_utils.get_activation('gelu') is the tanh approximation. */
function mgActivation(name: string): string {
  return name === 'gelu' ? 'gelu_approximate' : name;
}

function unknownModelId(modelId: string): string {
  return `mobilenet: unknown model_id '${modelId}'; choose one of ${Object.keys(MOBILENET_SPECS).join(', ')}`;
}

export interface MobileNetOptions {
  /** A key of {@link MOBILENET_SPECS}; default 'MobileNetV2'. */
  modelId?: string;
  /** Channel multiplier (> 0); default 1. */
  filterSizeScale?: number;
  normMomentum?: number;
  normEpsilon?: number;
  /** Default 'VarianceScaling'. */
  kernelInitializer?: string;
  /** null (none), or the input/output resolution ratio to keep with dilation. */
  outputStride?: number | null;
  /** Default 8 (V1 always uses 1). */
  divisibleBy?: number;
  stochasticDepthDropRate?: number;
  /** Same rate for every block (default) or rate · (i + 1) / blocks. */
  flatStochasticDepthDropRate?: boolean;
  /** Default true. */
  finegrainClassificationMode?: boolean;
  /** Also return each output block's depthwise activation as '<level>/depthwise'. */
  outputIntermediateEndpoints?: boolean;
  name?: string;
}

type Block =
  | MultiHeadSelfAttentionBlock
  | Conv2DBNBlock
  | DepthwiseSeparableConvBlock
  | InvertedBottleneckBlock
  | UniversalInvertedBottleneckBlock
  | 'gpooling';

export class MobileNet extends Layer<tf.Tensor, Record<string, tf.Tensor>> implements Backbone {
  readonly modelId: string;
  readonly specs: readonly MobileNetBlockSpec[];
  /** The pyramid endpoints (not the final block's output, which `call` also returns). */
  readonly outputSpecs: BackboneOutputSpecs = {};
  /** Key of the final block's endpoint. */
  readonly finalEndpoint: string;
  private readonly blocks: Block[] = [];
  /** Endpoint key of each block that is one, by block index. */
  private readonly endpointOf = new Map<number, string>();
  private readonly intermediate: boolean;

  constructor(opts: MobileNetOptions = {}) {
    super({ name: opts.name ?? 'mobile_net' });
    const modelId = opts.modelId ?? 'MobileNetV2';
    if (!MOBILENET_SPECS[modelId]) throw new Error(unknownModelId(modelId));
    const scale = opts.filterSizeScale ?? 1;
    if (!(scale > 0)) throw new Error(`mobilenet: filter_size_scale must be > 0, got ${scale}`);
    const outputStride = opts.outputStride ?? null;
    if (outputStride !== null) {
      if (
        modelId === 'MobileNetV1'
          ? ![8, 16, 32].includes(outputStride)
          : outputStride === 0 || (outputStride > 1 && outputStride % 2 !== 0)
      ) {
        throw new Error(
          `mobilenet: output_stride ${outputStride} is not allowed (${modelId === 'MobileNetV1' ? '8, 16 or 32' : 'null, 1 or a multiple of 2'})`,
        );
      }
    }
    this.modelId = modelId;
    this.intermediate = opts.outputIntermediateEndpoints ?? false;
    const divisibleBy = modelId === 'MobileNetV1' ? 1 : (opts.divisibleBy ?? 8);
    this.specs = decodeMobileNetSpecs(
      modelId,
      scale,
      divisibleBy,
      opts.finegrainClassificationMode ?? true,
    );
    const norm = {
      normMomentum: opts.normMomentum ?? 0.99,
      normEpsilon: opts.normEpsilon ?? 0.001,
    };
    const kernelInitializer = opts.kernelInitializer ?? 'VarianceScaling';
    const sdRate = opts.stochasticDepthDropRate ?? 0;
    let currentStride = 1;
    let rate = 1;
    let channels = 3;
    let level = 2;
    let n = 0;
    this.specs.forEach((spec, i) => {
      const strides = spec.blockFn === 'gpooling' ? 1 : spec.strides;
      let layerStride: number;
      let layerRate: number;
      if (outputStride !== null && currentStride === outputStride) {
        layerStride = 1;
        layerRate = rate;
        rate *= strides;
      } else {
        layerStride = strides;
        layerRate = 1;
        currentStride *= strides;
      }
      const blockRate =
        (opts.flatStochasticDepthDropRate ?? true)
          ? sdRate
          : getStochasticDepthRate(sdRate, i + 1, this.specs.length);
      let block: Block;
      if (spec.blockFn === 'convbn') {
        // MG's Conv2DBNBlock takes the table's stride, not the output-stride-adjusted one.
        block = new Conv2DBNBlock({
          filters: spec.filters,
          kernelSize: spec.kernelSize,
          strides: spec.strides,
          activation: mgActivation(spec.activation),
          useBias: spec.useBias,
          useNormalization: spec.useNormalization,
          kernelInitializer,
          ...norm,
        });
      } else if (spec.blockFn === 'depsepconv') {
        block = new DepthwiseSeparableConvBlock({
          filters: spec.filters,
          kernelSize: spec.kernelSize,
          strides: layerStride,
          dilationRate: layerRate,
          activation: mgActivation(spec.activation),
          kernelInitializer,
          ...norm,
        });
      } else if (spec.blockFn === 'mhsa') {
        // MG passes the backbone's raw drop rate to attention blocks.
        block = new MultiHeadSelfAttentionBlock({
          inputDim: spec.filters,
          numHeads: spec.numHeads,
          keyDim: spec.keyDim,
          valueDim: spec.valueDim,
          useMultiQuery: spec.useMultiQuery,
          kvStrides: spec.kvStrides,
          useLayerScale: spec.useLayerScale,
          useResidual: spec.useResidual,
          stochasticDepthDropRate: sdRate,
          ...norm,
        });
      } else if (spec.blockFn === 'uib') {
        block = new UniversalInvertedBottleneckBlock({
          inFilters: channels,
          outFilters: spec.filters,
          expandRatio: spec.expandRatio,
          strides: layerStride,
          middleDwDownsample: spec.middleDwDownsample,
          startDwKernelSize: spec.startDwKernelSize,
          middleDwKernelSize: spec.middleDwKernelSize,
          endDwKernelSize: spec.endDwKernelSize,
          useLayerScale: spec.useLayerScale,
          useResidual: spec.useResidual,
          activation: mgActivation(spec.activation),
          dilationRate: layerRate > 1 && spec.kernelSize !== 1 ? layerRate : rate,
          stochasticDepthDropRate: blockRate,
          divisibleBy,
          kernelInitializer,
          ...norm,
        });
      } else if (spec.blockFn === 'invertedbottleneck' || spec.blockFn === 'fused_ib') {
        block = new InvertedBottleneckBlock({
          inFilters: channels,
          outFilters: spec.filters,
          expandRatio: spec.expandRatio,
          strides: layerStride,
          kernelSize: spec.kernelSize,
          seRatio: spec.seRatio,
          expandSeInFilters: true,
          seGatingActivation: 'hard_sigmoid',
          activation: mgActivation(spec.activation),
          useDepthwise: spec.blockFn === 'invertedbottleneck' && spec.useDepthwise,
          useResidual: spec.useResidual,
          dilationRate: layerRate > 1 && spec.kernelSize !== 1 ? layerRate : rate,
          stochasticDepthDropRate: blockRate,
          divisibleBy,
          kernelInitializer,
          ...norm,
        });
      } else {
        block = 'gpooling';
      }
      if (block !== 'gpooling') {
        this.add(`layer_with_weights-${n++}`, block);
        channels = spec.filters;
      }
      this.blocks.push(block);
      if (spec.isOutput) {
        const key = String(level);
        this.endpointOf.set(i, key);
        this.outputSpecs[key] = { channels, stride: currentStride };
        if (this.intermediate && block instanceof InvertedBottleneckBlock && block.hasDepthwise) {
          this.outputSpecs[`${key}/depthwise`] = {
            channels: block.expandFilters,
            stride: currentStride,
          };
        }
        if (currentStride !== outputStride) level++;
      }
    });
    if (String(level) in this.outputSpecs) level++;
    this.finalEndpoint = String(level);
  }

  /** x: [batch, h, w, 3] → the `is_output` endpoints plus the final block's output. */
  protected call(x: tf.Tensor, args: CallArgs): Record<string, tf.Tensor> {
    if (x.rank !== 4)
      throw new Error(`${this.fullPath()}: expected [batch, h, w, c] input, got [${x.shape}]`);
    const endpoints: Record<string, tf.Tensor> = {};
    let y = x;
    this.blocks.forEach((block, i) => {
      const key = this.endpointOf.get(i);
      let depthwise: tf.Tensor | null = null;
      if (block === 'gpooling') y = tf.mean(y, [1, 2], true);
      else if (this.intermediate && key !== undefined && block instanceof InvertedBottleneckBlock) {
        ({ output: y, depthwise } = block.forward(y, args));
      } else y = block.apply(y, args);
      if (key !== undefined) {
        endpoints[key] = y;
        if (depthwise) endpoints[`${key}/depthwise`] = depthwise;
      }
    });
    endpoints[this.finalEndpoint] = y;
    return endpoints;
  }
}
