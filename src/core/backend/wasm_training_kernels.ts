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
 * | Conv2DBackpropFilter                  | PadV2 + per-tap StridedSlice + BatchMatMul(transposeA) + Concat |
 * | DepthwiseConv2dNativeBackpropFilter   | PadV2 + Transpose + per-tap StridedSlice + batched BatchMatMul + Concat |
 * | DepthwiseConv2dNativeBackpropInput    | zero-interleave (Reshape+PadV2) + PadV2/Slice + Reverse + DepthwiseConv2dNative (+ Sum for multiplier > 1) |
 * | UnsortedSegmentSum                    | ScatterNd (adds duplicate rows) + GreaterEqual/Less/LogicalAnd/Select to drop out-of-range ids + Slice |
 *
 * Kernels wasm has but that are wrong (checked against tfjs-backend-cpu and loop references in
 * test/core/backend/) or slow are replaced:
 *
 * | Conv2DBackpropInput                   | zero-interleave (Reshape+PadV2) + PadV2/Slice + Reverse + Transpose + Conv2D (XNNPACK) |
 * | MaxPoolGrad, MaxPool3DGrad            | PadV2(-inf) + per-tap StridedSlice + Equal with the output, first max wins (LogicalAnd/Not/Or) + Select + interleave/place (PadV2/Slice) + Add |
 * | ResizeBilinearGrad, ResizeNearestNeighborGrad | Ryᵀ·dy·Rx with cached [out, in] interpolation matrices: Transpose + 2 BatchMatMul |
 *
 * wasm's own Conv2DBackpropInput is a scalar C++ loop; the composition runs through the XNNPACK
 * convolution and also accepts a `dilations` attr. wasm's MaxPoolGrad/MaxPool3DGrad and resize
 * gradients disagree with the cpu backend (and with TF) on ordinary shapes.
 *
 * Known wasm defects not fixed here: the gradients of tf.conv3d on wasm disagree with cpu (the
 * Conv3DBackpropFilterV2/InputV2 kernels are the suspects; not yet isolated), and the MaxPool3D
 * *forward* kernel is wrong for a 1×1×1 window.
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
