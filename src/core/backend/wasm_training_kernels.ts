/**
 * Training kernels that @tensorflow/tfjs-backend-wasm 4.22 does not register, added for 'wasm'.
 *
 * {@link missingWasmTrainingKernels} compares the kernels a training step of our model families
 * uses ({@link TRAINING_KERNELS}: the forward ops of ResNet, MobileNet/MoViNet, ViT, RetinaNet/
 * Mask R-CNN, DeepLab and 3D video nets, plus every kernel the tfjs-core gradient functions of
 * those ops call) with `tf.getKernelsForBackend('wasm')`. On tfjs-backend-wasm 4.22 the missing
 * ones are exactly these four, all added here as compositions of registered wasm kernels (no data
 * leaves the wasm heap, no JS loops over tensor data):
 *
 * | kernel                                | built from (see ./wasm/)                                   |
 * | ------------------------------------- | ---------------------------------------------------------- |
 * | Conv2DBackpropFilter                  | one XNNPACK Conv2D on transposed operands (x as [inC, H, W, N], dy as the filter; stride ↔ dilation), or Transpose + one matmul for 1×1 |
 * | DepthwiseConv2dNativeBackpropFilter   | PadV2 + Transpose + per-tap StridedSlice + batched BatchMatMul + Concat |
 * | DepthwiseConv2dNativeBackpropInput    | zero-interleave (Reshape+PadV2) + PadV2/Slice + Reverse + DepthwiseConv2dNative (+ Sum for multiplier > 1) |
 * | UnsortedSegmentSum                    | ScatterNd (adds duplicate rows) + GreaterEqual/Less/LogicalAnd/Select to drop out-of-range ids + Slice |
 *
 * Kernels wasm has but that are wrong (checked against tfjs-backend-cpu and loop references in
 * test/core/backend/) or slow are replaced:
 *
 * | Conv2DBackpropInput                   | stride > 1: one stride-1 Conv2D per sub-pixel phase + interleave (Concat + rank-3 Transpose); else PadV2/Slice + Reverse + Transpose + Conv2D; 1×1: one matmul |
 * | Conv3DBackpropFilterV2, Conv3DBackpropInputV2 | the Conv2D compositions above over (batch, output depth) planes, depth taps stacked as rows / input channels |
 * | MaxPool3D                             | PadV2(-∞)/Slice + two XNNPACK 2D MaxPools ((H, W), then (D, ·)) |
 * | MaxPoolGrad, MaxPool3DGrad            | PadV2(-inf) + per-tap StridedSlice + Equal with the output, first max wins (LogicalAnd/Not/Or) + Select + interleave/place (PadV2/Slice) + Add |
 * | ResizeBilinearGrad, ResizeNearestNeighborGrad | Ryᵀ·dy·Rx with cached [out, in] interpolation matrices: Transpose + 2 BatchMatMul |
 *
 * wasm's own Conv2DBackpropInput is a scalar C++ loop; the composition runs through the XNNPACK
 * convolution and also accepts a `dilations` attr. wasm's MaxPoolGrad/MaxPool3DGrad, resize
 * gradients and Conv3D backprops disagree with the cpu backend (and with TF) on ordinary shapes;
 * wasm's MaxPool3D starts every window's maximum at FLT_MIN, so all-negative windows (always with
 * a 1×1×1 window) come out as 1.2e-38.
 *
 * Speed notes (bench/wasm_kernels.ts): wasm's BatchMatMul uses XNNPACK only for batch 1 without
 * transposes (otherwise a scalar loop), its Slice copies the whole input through JS, its
 * StridedSlice and Transposes above rank 4 are per-element loops; the compositions avoid them on
 * large tensors.
 *
 * The Conv2D/depthwise backprops support strides, dilations (depthwise: from the attrs; Conv2D:
 * when a caller passes them), SAME/VALID/explicit padding and, for Conv2D, NCHW via transposes.
 * Note that tfjs-core's Conv2D and DepthwiseConv2dNative *gradient functions* refuse dilation > 1
 * on every backend; dilated (atrous) convolutions train through SpaceToBatchND/BatchToSpaceND.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilter, conv2dBackpropInput } from './wasm/conv2d_backprop.js';
import {
  depthwiseConv2dBackpropFilter,
  depthwiseConv2dBackpropInput,
} from './wasm/depthwise_backprop.js';
import { conv3dBackpropFilterV2, conv3dBackpropInputV2 } from './wasm/conv3d_backprop.js';
import { maxPool3D } from './wasm/max_pool_3d.js';
import { maxPool3DGrad, maxPoolGrad } from './wasm/max_pool_grad.js';
import { resizeBilinearGrad, resizeNearestNeighborGrad } from './wasm/resize_grad.js';
import { unsortedSegmentSum } from './wasm/unsorted_segment_sum.js';

/**
 * Kernels a training step of the vision-garden model families runs: forward ops and the kernels
 * their tfjs-core gradients call (from `tfjs-core/dist/gradients/*_grad.js`). `PadV2` is the
 * kernel behind `tf.pad`; `Select` behind `tf.where`; `SplitV` behind `tf.split`.
 */
export const TRAINING_KERNELS: readonly string[] = [
  // convolutions and pooling, 2D and 3D
  'Conv2D',
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'FusedConv2D',
  'DepthwiseConv2dNative',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'FusedDepthwiseConv2D',
  'MaxPool',
  'MaxPoolGrad',
  'AvgPool',
  'AvgPoolGrad',
  'Conv3D',
  'Conv3DBackpropFilterV2',
  'Conv3DBackpropInputV2',
  'MaxPool3D',
  'MaxPool3DGrad',
  'AvgPool3D',
  'AvgPool3DGrad',
  'SpaceToBatchND',
  'BatchToSpaceND',
  // resizing and cropping
  'ResizeBilinear',
  'ResizeBilinearGrad',
  'ResizeNearestNeighbor',
  'ResizeNearestNeighborGrad',
  'CropAndResize',
  // dense, normalisation, activations
  'BatchMatMul',
  '_FusedMatMul',
  'FusedBatchNorm',
  'Erf',
  'Sigmoid',
  'Softmax',
  'Relu',
  'Relu6',
  'Elu',
  'EluGrad',
  'LeakyRelu',
  'Prelu',
  'Softplus',
  'Selu',
  'Tanh',
  // elementwise
  'Add',
  'AddN',
  'Sub',
  'Multiply',
  'RealDiv',
  'FloorDiv',
  'Pow',
  'SquaredDifference',
  'Maximum',
  'Minimum',
  'Abs',
  'Exp',
  'Expm1',
  'Log',
  'Log1p',
  'Neg',
  'Rsqrt',
  'Sqrt',
  'Square',
  'Reciprocal',
  'Sign',
  'Step',
  'Floor',
  'Round',
  'Atan2',
  'Cos',
  'Sin',
  'ClipByValue',
  'Cast',
  'IsNan',
  // comparisons and selection
  'Equal',
  'NotEqual',
  'Greater',
  'GreaterEqual',
  'Less',
  'LessEqual',
  'LogicalAnd',
  'LogicalNot',
  'LogicalOr',
  'Select',
  // reductions and scans
  'Sum',
  'Mean',
  'Max',
  'Min',
  'Prod',
  'ArgMax',
  'ArgMin',
  'Cumsum',
  'Cumprod',
  'TopK',
  // indexing and shape
  'GatherV2',
  'GatherNd',
  'UnsortedSegmentSum',
  'ScatterNd',
  'OneHot',
  'Pack',
  'Unpack',
  'Concat',
  'SplitV',
  'Slice',
  'StridedSlice',
  'Tile',
  'Transpose',
  'Reshape',
  'ExpandDims',
  'Reverse',
  'PadV2',
  'MirrorPad',
  'Identity',
  'Fill',
  'ZerosLike',
  'OnesLike',
  'Range',
  // detection post-processing
  'NonMaxSuppressionV5',
];

/** Kernels of {@link TRAINING_KERNELS} that no wasm kernel is registered for (right now). */
export function missingWasmTrainingKernels(): string[] {
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  return TRAINING_KERNELS.filter((k) => !have.has(k));
}

type KernelFn = tf.KernelConfig['kernelFunc'];

/** Our kernels; `replaces` marks those registered even where wasm has its own. */
const ADDED_KERNELS: { kernelName: string; kernelFunc: KernelFn; replaces?: boolean }[] = [
  { kernelName: 'Conv2DBackpropFilter', kernelFunc: conv2dBackpropFilter },
  { kernelName: 'Conv2DBackpropInput', kernelFunc: conv2dBackpropInput, replaces: true },
  { kernelName: 'DepthwiseConv2dNativeBackpropFilter', kernelFunc: depthwiseConv2dBackpropFilter },
  { kernelName: 'DepthwiseConv2dNativeBackpropInput', kernelFunc: depthwiseConv2dBackpropInput },
  { kernelName: 'UnsortedSegmentSum', kernelFunc: unsortedSegmentSum },
  { kernelName: 'Conv3DBackpropFilterV2', kernelFunc: conv3dBackpropFilterV2, replaces: true },
  { kernelName: 'Conv3DBackpropInputV2', kernelFunc: conv3dBackpropInputV2, replaces: true },
  { kernelName: 'MaxPool3D', kernelFunc: maxPool3D, replaces: true },
  { kernelName: 'MaxPoolGrad', kernelFunc: maxPoolGrad, replaces: true },
  { kernelName: 'MaxPool3DGrad', kernelFunc: maxPool3DGrad, replaces: true },
  { kernelName: 'ResizeBilinearGrad', kernelFunc: resizeBilinearGrad, replaces: true },
  {
    kernelName: 'ResizeNearestNeighborGrad',
    kernelFunc: resizeNearestNeighborGrad,
    replaces: true,
  },
];

/** Names of the kernels {@link registerWasmTrainingKernels} registers for 'wasm'. */
export const WASM_TRAINING_KERNEL_NAMES: readonly string[] = ADDED_KERNELS.map((k) => k.kernelName);

/**
 * Registers the training kernels above for backend 'wasm'. Idempotent: a kernel already
 * registered by this module is left alone, and one wasm itself provides is kept unless ours
 * `replaces` it. Can run before or after the wasm backend is initialised.
 */
export function registerWasmTrainingKernels(): void {
  for (const { kernelName, kernelFunc, replaces } of ADDED_KERNELS) {
    const existing = tf.getKernel(kernelName, 'wasm');
    if (existing?.kernelFunc === kernelFunc) continue;
    if (existing) {
      if (!replaces) continue;
      tf.unregisterKernel(kernelName, 'wasm');
    }
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
}
