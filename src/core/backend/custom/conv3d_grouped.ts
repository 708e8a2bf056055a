/**
 * Eager kernels of the grouped 3-D convolution (MoViNet's depthwise 3-D convolutions are the
 * case groups = channels; tfjs has no grouped conv3d), NDHWC as tfjs's conv3d:
 *
 * - `Conv3DGrouped` {x [N, D, H, W, Cin], filter [fd, fh, fw, Cin/G, Cout]} → [N, oD, oH, oW, Cout]:
 *   output channel o of group g = ⌊o / (Cout/G)⌋ sums input channels g·Cin/G … (g+1)·Cin/G − 1;
 * - `Conv3DGroupedBackpropInput` {dy, filter}, attr `inputShape` → dx;
 * - `Conv3DGroupedBackpropFilter` {x, dy}, attr `filterShape` → dfilter.
 *
 * Attributes: `strides`, `pad` ('same' | 'valid'), `dilations`, `groups`. The geometry (output
 * size, SAME padding split) is tfjs's `computeConv3DInfo`, so groups = 1 matches `tf.conv3d`.
 * The three are one loop over (output position, filter tap) with different channel work; the
 * work is that of the grouped convolution (1/G of a dense one), which for depthwise layers is
 * small enough for JavaScript.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostKernel, type HostTensor } from './host_kernel.js';

export const CONV3D_GROUPED = 'Conv3DGrouped';
export const CONV3D_GROUPED_BACKPROP_INPUT = 'Conv3DGroupedBackpropInput';
export const CONV3D_GROUPED_BACKPROP_FILTER = 'Conv3DGroupedBackpropFilter';

type Triple = [number, number, number];

/** Attributes shared by the three kernels. */
export interface Conv3DGroupedAttrs {
  strides: number | Triple;
  pad: 'same' | 'valid';
  dilations: number | Triple;
  groups: number;
}

/** Geometry of one grouped 3-D convolution. */
export interface GroupedGeometry {
  info: tf.backend_util.Conv3DInfo;
  groups: number;
  cinG: number;
  coutG: number;
}

/**
 * Checks shapes and attributes (clear errors naming the kernel) and returns the geometry of
 * input `xShape` [N, D, H, W, Cin] with filter `filterShape` [fd, fh, fw, Cin/G, Cout].
 */
export function groupedGeometry(
  kernelName: string,
  xShape: number[],
  filterShape: number[],
  attrs: Conv3DGroupedAttrs,
): GroupedGeometry {
  if (xShape.length !== 5 || filterShape.length !== 5) {
    throw new Error(
      `${kernelName}: input must be rank 5 (NDHWC) and filter [fd, fh, fw, in/groups, out], ` +
        `got [${xShape}] and [${filterShape}]`,
    );
  }
  const g = attrs.groups;
  const cin = xShape[4];
  const cout = filterShape[4];
  if (!Number.isInteger(g) || g < 1) {
    throw new Error(`${kernelName}: groups must be a positive integer, got ${g}`);
  }
  if (cin % g !== 0 || cout % g !== 0) {
    throw new Error(
      `${kernelName}: input channels ${cin} and output channels ${cout} must be divisible by groups ${g}`,
    );
  }
  if (filterShape[3] !== cin / g) {
    throw new Error(
      `${kernelName}: filter input channels ${filterShape[3]} must equal input channels / groups = ${cin / g}`,
    );
  }
  if (attrs.pad !== 'same' && attrs.pad !== 'valid') {
    throw new Error(`${kernelName}: pad must be 'same' or 'valid', got ${String(attrs.pad)}`);
  }
  const info = tf.backend_util.computeConv3DInfo(
    xShape as [number, number, number, number, number],
    filterShape as [number, number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
  );
  return { info, groups: g, cinG: cin / g, coutG: cout / g };
}

/**
 * Calls `visit(xOffset, yOffset, tapOffset)` for every (output position, filter tap) whose input
 * position lies inside the input: offsets of the first channel of the input and output pixels
 * and of the tap's [Cin/G, Cout] filter slice.
 */
function forEachTap(
  geo: GroupedGeometry,
  visit: (xOff: number, yOff: number, wOff: number) => void,
): void {
  const c = geo.info;
  const cin = c.inChannels;
  const cout = c.outChannels;
  const { front, top, left } = c.padInfo;
  const tapSize = geo.cinG * cout;
  for (let n = 0; n < c.batchSize; n++) {
    for (let od = 0; od < c.outDepth; od++) {
      for (let oh = 0; oh < c.outHeight; oh++) {
        for (let ow = 0; ow < c.outWidth; ow++) {
          const yOff = (((n * c.outDepth + od) * c.outHeight + oh) * c.outWidth + ow) * cout;
          for (let kd = 0; kd < c.filterDepth; kd++) {
            const id = od * c.strideDepth - front + kd * c.dilationDepth;
            if (id < 0 || id >= c.inDepth) continue;
            for (let kh = 0; kh < c.filterHeight; kh++) {
              const ih = oh * c.strideHeight - top + kh * c.dilationHeight;
              if (ih < 0 || ih >= c.inHeight) continue;
              for (let kw = 0; kw < c.filterWidth; kw++) {
                const iw = ow * c.strideWidth - left + kw * c.dilationWidth;
                if (iw < 0 || iw >= c.inWidth) continue;
                const xOff = (((n * c.inDepth + id) * c.inHeight + ih) * c.inWidth + iw) * cin;
                const tap = (kd * c.filterHeight + kh) * c.filterWidth + kw;
                visit(xOff, yOff, tap * tapSize);
              }
            }
          }
        }
      }
    }
  }
}

function attrsOf(attrs: tf.NamedAttrMap): Conv3DGroupedAttrs {
  return {
    strides: attrs.strides as number | Triple,
    pad: attrs.pad as 'same' | 'valid',
    dilations: (attrs.dilations as number | Triple | undefined) ?? 1,
    groups: attrs.groups as number,
  };
}

function float32(t: HostTensor, kernelName: string, name: string): tf.TypedArray {
  if (t.dtype !== 'float32')
    throw new Error(`${kernelName}: ${name} must be float32, got ${t.dtype}`);
  return t.values;
}

/** Forward grouped convolution on host arrays. */
export function conv3dGroupedHost(
  x: HostTensor,
  filter: HostTensor,
  attrs: Conv3DGroupedAttrs,
): HostTensor {
  const geo = groupedGeometry(CONV3D_GROUPED, x.shape, filter.shape, attrs);
  const xv = float32(x, CONV3D_GROUPED, 'x');
  const w = float32(filter, CONV3D_GROUPED, 'filter');
  const out = new Float32Array(tf.util.sizeFromShape(geo.info.outShape));
  const { groups, cinG, coutG } = geo;
  // One input and one output channel per group: channel c of x meets only channel c of y.
  const depthwise = cinG === 1 && coutG === 1;
  const cout = geo.info.outChannels;
  forEachTap(geo, (xOff, yOff, wOff) => {
    if (depthwise) {
      for (let ch = 0; ch < groups; ch++) out[yOff + ch] += xv[xOff + ch] * w[wOff + ch];
      return;
    }
    for (let g = 0; g < groups; g++) {
      for (let i = 0; i < cinG; i++) {
        const v = xv[xOff + g * cinG + i];
        const wRow = wOff + i * cout + g * coutG;
        const yRow = yOff + g * coutG;
        for (let o = 0; o < coutG; o++) out[yRow + o] += v * w[wRow + o];
      }
    }
  });
  return { values: out, shape: geo.info.outShape, dtype: 'float32' };
}

/** Input gradient on host arrays: dx of shape `inputShape`. */
export function conv3dGroupedBackpropInputHost(
  dy: HostTensor,
  filter: HostTensor,
  inputShape: number[],
  attrs: Conv3DGroupedAttrs,
): HostTensor {
  const k = CONV3D_GROUPED_BACKPROP_INPUT;
  const geo = groupedGeometry(k, inputShape, filter.shape, attrs);
  checkDy(k, dy, geo);
  const d = float32(dy, k, 'dy');
  const w = float32(filter, k, 'filter');
  const dx = new Float32Array(tf.util.sizeFromShape(inputShape));
  const { groups, cinG, coutG } = geo;
  const depthwise = cinG === 1 && coutG === 1;
  const cout = geo.info.outChannels;
  forEachTap(geo, (xOff, yOff, wOff) => {
    if (depthwise) {
      for (let ch = 0; ch < groups; ch++) dx[xOff + ch] += d[yOff + ch] * w[wOff + ch];
      return;
    }
    for (let g = 0; g < groups; g++) {
      const yRow = yOff + g * coutG;
      for (let i = 0; i < cinG; i++) {
        const wRow = wOff + i * cout + g * coutG;
        let acc = 0;
        for (let o = 0; o < coutG; o++) acc += d[yRow + o] * w[wRow + o];
        dx[xOff + g * cinG + i] += acc;
      }
    }
  });
  return { values: dx, shape: [...inputShape], dtype: 'float32' };
}

/** Filter gradient on host arrays: dfilter of shape `filterShape`. */
export function conv3dGroupedBackpropFilterHost(
  x: HostTensor,
  dy: HostTensor,
  filterShape: number[],
  attrs: Conv3DGroupedAttrs,
): HostTensor {
  const k = CONV3D_GROUPED_BACKPROP_FILTER;
  const geo = groupedGeometry(k, x.shape, filterShape, attrs);
  checkDy(k, dy, geo);
  const xv = float32(x, k, 'x');
  const d = float32(dy, k, 'dy');
  const dw = new Float32Array(tf.util.sizeFromShape(filterShape));
  const { groups, cinG, coutG } = geo;
  const depthwise = cinG === 1 && coutG === 1;
  const cout = geo.info.outChannels;
  forEachTap(geo, (xOff, yOff, wOff) => {
    if (depthwise) {
      for (let ch = 0; ch < groups; ch++) dw[wOff + ch] += xv[xOff + ch] * d[yOff + ch];
      return;
    }
    for (let g = 0; g < groups; g++) {
      const yRow = yOff + g * coutG;
      for (let i = 0; i < cinG; i++) {
        const v = xv[xOff + g * cinG + i];
        const wRow = wOff + i * cout + g * coutG;
        for (let o = 0; o < coutG; o++) dw[wRow + o] += v * d[yRow + o];
      }
    }
  });
  return { values: dw, shape: [...filterShape], dtype: 'float32' };
}

function checkDy(kernelName: string, dy: HostTensor, geo: GroupedGeometry): void {
  if (!tf.util.arraysEqual(dy.shape, geo.info.outShape)) {
    throw new Error(
      `${kernelName}: dy is [${dy.shape}], the convolution's output is [${geo.info.outShape}]`,
    );
  }
}

export const conv3dGroupedKernel = hostKernel(CONV3D_GROUPED, (inputs, attrs) => [
  conv3dGroupedHost(inputs.x, inputs.filter, attrsOf(attrs)),
]);

export const conv3dGroupedBackpropInputKernel = hostKernel(
  CONV3D_GROUPED_BACKPROP_INPUT,
  (inputs, attrs) => [
    conv3dGroupedBackpropInputHost(
      inputs.dy,
      inputs.filter,
      attrs.inputShape as number[],
      attrsOf(attrs),
    ),
  ],
);

export const conv3dGroupedBackpropFilterKernel = hostKernel(
  CONV3D_GROUPED_BACKPROP_FILTER,
  (inputs, attrs) => [
    conv3dGroupedBackpropFilterHost(
      inputs.x,
      inputs.dy,
      attrs.filterShape as number[],
      attrsOf(attrs),
    ),
  ],
);
