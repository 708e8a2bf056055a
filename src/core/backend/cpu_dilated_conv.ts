/**
 * Dilation for the Conv2D and depthwise backprop kernels of tfjs-backend-cpu 4.22, which ignore
 * it: Conv2DBackpropInput/Filter compute their geometry with dilation 1, and the depthwise pair
 * pads for the dilated kernel but reads undilated taps. src/modeling/layers/conv.ts calls these
 * kernels with `dilations` (dilated convolutions compile to one ONNX Conv with `dilations`), so
 * for 'cpu' each is wrapped: any dilation > 1 runs the NHWC loops below (tap (i, j) reads input
 * row y·stride + i·dilation − padTop, as TF's kernels), everything else the original kernel.
 */
import * as tf from '@tensorflow/tfjs-core';

type Attrs = {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
  inputShape?: number[];
  filterShape?: number[];
};
interface CpuData {
  data: { get(id: unknown): { values: tf.TypedArray } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo;
}
type Shape4 = [number, number, number, number];

const dilated = (d: Attrs['dilations']) =>
  d !== undefined && (typeof d === 'number' ? d > 1 : d.some((v) => v > 1));

/**
 * dx (`grad: 'input'`) or dW (`grad: 'filter'`) of an NHWC convolution, regular or depthwise,
 * from x or W, and dy: the forward pass's sums scattered back tap by tap.
 */
function backprop(
  grad: 'input' | 'filter',
  depthwise: boolean,
  name: string,
  attrs: Attrs,
  xShape: number[],
  wShape: number[],
  other: tf.TypedArray,
  dy: tf.TypedArray,
): Float32Array {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') {
    throw new Error(`${name} (cpu): dilations > 1 need dataFormat NHWC`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    wShape as Shape4,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
  const [N, H, W, C] = xShape;
  const [KH, KW] = wShape;
  const { outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const mul = depthwise ? CO / C : 1;
  const out = new Float32Array(grad === 'input' ? N * H * W * C : wShape.reduce((a, b) => a * b));
  for (let n = 0; n < N; n++) {
    for (let y = 0; y < OH; y++) {
      for (let i = 0; i < KH; i++) {
        const h = y * info.strideHeight + i * info.dilationHeight - info.padInfo.top;
        if (h < 0 || h >= H) continue;
        for (let x = 0; x < OW; x++) {
          for (let j = 0; j < KW; j++) {
            const w = x * info.strideWidth + j * info.dilationWidth - info.padInfo.left;
            if (w < 0 || w >= W) continue;
            const xBase = ((n * H + h) * W + w) * C;
            const dyBase = ((n * OH + y) * OW + x) * CO;
            const tapBase = (i * KW + j) * C * (depthwise ? mul : CO);
            for (let c = 0; c < C; c++) {
              for (let m = 0; m < (depthwise ? mul : CO); m++) {
                const o = depthwise ? c * mul + m : m;
                const tap = tapBase + c * (depthwise ? mul : CO) + m;
                if (grad === 'input') out[xBase + c] += dy[dyBase + o] * other[tap];
                else out[tap] += other[xBase + c] * dy[dyBase + o];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

function wrap(kernelName: string, depthwise: boolean, grad: 'input' | 'filter'): tf.KernelConfig {
  const original = tf.getKernel(kernelName, 'cpu');
  if (!original) throw new Error(`tfjs-backend-cpu has no ${kernelName} kernel`);
  const kernelFunc = (args: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  }) => {
    const attrs = args.attrs as unknown as Attrs;
    if (!dilated(attrs.dilations))
      return (original.kernelFunc as (a: unknown) => tf.TensorInfo)(args);
    const backend = args.backend as CpuData;
    const values = (t: tf.TensorInfo) => backend.data.get(t.dataId).values;
    const input = (key: string): tf.TensorInfo => {
      const t = args.inputs[key];
      if (!t) throw new Error(`${kernelName} (cpu): no input '${key}'`);
      return t;
    };
    const dy = input('dy');
    let result: Float32Array;
    let shape: number[];
    if (grad === 'input') {
      const filter = input('filter');
      shape = attrs.inputShape as number[];
      result = backprop(
        grad,
        depthwise,
        kernelName,
        attrs,
        shape,
        filter.shape,
        values(filter),
        values(dy),
      );
    } else {
      const x = input('x');
      shape = attrs.filterShape as number[];
      result = backprop(grad, depthwise, kernelName, attrs, x.shape, shape, values(x), values(dy));
    }
    return backend.makeTensorInfo(shape, 'float32', result);
  };
  return { kernelName, backendName: 'cpu', kernelFunc: kernelFunc as tf.KernelFunc };
}

let registered = false;

/** Replaces the four cpu kernels with their dilation-aware wrappers (once). */
export function registerCpuDilatedConvKernels(): void {
  if (registered) return;
  registered = true;
  const configs = [
    wrap('Conv2DBackpropInput', false, 'input'),
    wrap('Conv2DBackpropFilter', false, 'filter'),
    wrap('DepthwiseConv2dNativeBackpropInput', true, 'input'),
    wrap('DepthwiseConv2dNativeBackpropFilter', true, 'filter'),
  ];
  for (const config of configs) {
    tf.unregisterKernel(config.kernelName, 'cpu');
    tf.registerKernel(config);
  }
}
