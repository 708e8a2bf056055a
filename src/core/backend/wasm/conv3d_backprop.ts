/**
 * Conv3D gradients for the wasm backend (wasm's own Conv3DBackpropFilterV2/InputV2 disagree with
 * the cpu backend), written as 2D problems over (batch, output depth) pairs and run through the
 * XNNPACK Conv2D compositions of ./conv2d_backprop.ts. NDHWC only, as tfjs-core's conv3d.
 *
 * Depth tap `a` of output depth `od` reads input depth od·sd + a - padFront, so:
 * - {@link conv3dBackpropFilterV2}: for each depth tap the depth planes it reads form a batch of
 *   N·outD 2D images; all taps are stacked as independent rows of one filter-gradient Conv2D
 *   ({@link filterGradCore}) with dy [outH, outW, N·outD, outC] as its kernel.
 * - {@link conv3dBackpropInputV2}: one 2D input gradient with the depth taps stacked on the input
 *   channel axis ([fh, fw, fd·inC, outC]) gives each (od, a) contribution; each tap's share is
 *   spread onto the depth stride grid, shifted to its depth and summed.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  KernelScope,
  type KernelArgs,
  type WasmBackendHandle,
  kernelInput,
} from './kernel_scope.js';
import { type ConvGeometry, filterGradCore, inputGradNHWC } from './conv2d_backprop.js';

type Triple = [number, number, number];
type Shape5 = [number, number, number, number, number];

interface Conv3DBackpropAttrs {
  strides: number | Triple;
  pad: 'valid' | 'same';
}

/** Depth geometry plus the 2D geometry of one depth plane (batch = N·outD). */
interface Conv3DGeometry {
  batch: number;
  inD: number;
  outD: number;
  fd: number;
  sd: number;
  padFront: number;
  plane: ConvGeometry;
  /**
   * Leading input positions [depth, height, width] the forward pass never reads: tfjs's 3D SAME
   * padding omits TF's max(0, ·) and can be negative at the front (the other backends follow it).
   * The geometry below is that of the input with these positions cropped off.
   */
  crop: Triple;
}

function conv3dGeometry(
  xShape: number[],
  filterShape: number[],
  attrs: Conv3DBackpropAttrs,
  kernelName: string,
): Conv3DGeometry {
  if (xShape.length !== 5 || filterShape.length !== 5) {
    throw new Error(
      `${kernelName}: input and filter must be rank 5 (NDHWC, [fd, fh, fw, inC, outC]), ` +
        `got [${xShape}] and [${filterShape}]`,
    );
  }
  const i = tf.backend_util.computeConv3DInfo(
    xShape as Shape5,
    filterShape as Shape5,
    attrs.strides,
    1,
    attrs.pad,
  );
  const crop: Triple = [
    Math.max(0, -i.padInfo.front),
    Math.max(0, -i.padInfo.top),
    Math.max(0, -i.padInfo.left),
  ];
  return {
    batch: i.batchSize,
    inD: i.inDepth - crop[0],
    outD: i.outDepth,
    fd: i.filterDepth,
    sd: i.strideDepth,
    padFront: i.padInfo.front + crop[0],
    crop,
    plane: {
      batch: i.batchSize * i.outDepth,
      inH: i.inHeight - crop[1],
      inW: i.inWidth - crop[2],
      inC: i.inChannels,
      outH: i.outHeight,
      outW: i.outWidth,
      outC: i.outChannels,
      fh: i.filterHeight,
      fw: i.filterWidth,
      sh: i.strideHeight,
      sw: i.strideWidth,
      dh: 1,
      dw: 1,
      padTop: i.padInfo.top + crop[1],
      padLeft: i.padInfo.left + crop[2],
    },
  };
}

const hasCrop = (g: Conv3DGeometry) => g.crop.some((c) => c > 0);

/**
 * The input planes depth tap `a` reads, [N, outD, H·W·C]: planes a, a + sd, ... of the
 * depth-padded input `xPad` [N, sd·q, H·W·C] (viewed as [N, q, sd, H·W·C] so that the selection
 * is a plain slice of whole planes).
 */
function planesOfTap(
  s: KernelScope,
  xPad: tf.TensorInfo,
  g: Conv3DGeometry,
  a: number,
): tf.TensorInfo {
  const [n, dp, planeSize] = xPad.shape;
  const grid = s.reshape(xPad, [n, dp / g.sd, g.sd, planeSize]);
  const planes = s.slice(grid, [0, Math.floor(a / g.sd), a % g.sd, 0], [n, g.outD, 1, planeSize]);
  return s.reshape(planes, [n, g.outD, planeSize]);
}

/** Conv3DBackpropFilterV2: inputs {x, dy}, attrs {strides, pad, filterShape}. Returns [fd, fh, fw, inC, outC]. */
export function conv3dBackpropFilterV2(args: KernelArgs): tf.TensorInfo {
  const x = kernelInput(args, 'x', 'Conv3DBackpropFilterV2');
  const dy = kernelInput(args, 'dy', 'Conv3DBackpropFilterV2');
  const attrs = args.attrs as unknown as Conv3DBackpropAttrs & { filterShape: number[] };
  const g = conv3dGeometry(x.shape, attrs.filterShape, attrs, 'Conv3DBackpropFilterV2');
  const p = g.plane;
  const planeSize = p.inH * p.inW * p.inC;
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    // Depth padding up to a whole number of stride groups covering every tap's planes.
    const need = (g.outD - 1) * g.sd + g.fd;
    const depth = Math.ceil(Math.max(need, g.padFront + g.inD) / g.sd) * g.sd;
    const xRead = hasCrop(g)
      ? s.slice(x, [0, ...g.crop, 0], [g.batch, g.inD, p.inH, p.inW, p.inC])
      : x;
    const xPad = s.padOrCrop(s.reshape(xRead, [g.batch, g.inD, planeSize]), [
      [0, 0],
      [g.padFront, depth - g.padFront - g.inD],
      [0, 0],
    ]);
    // Per tap: [N·outD, H·W, C] -> [C, H·W, N·outD]; taps stacked as rows: [fd·C, H, W, N·outD].
    const rows: tf.TensorInfo[] = [];
    for (let a = 0; a < g.fd; a++) {
      const planes = s.reshape(planesOfTap(s, xPad, g, a), [p.batch, p.inH * p.inW, p.inC]);
      rows.push(s.transpose(planes, [2, 1, 0]));
    }
    const images = s.reshape(s.concat(rows, 0), [g.fd * p.inC, p.inH, p.inW, p.batch]);
    const dyRows = s.reshape(dy, [p.batch, p.outH * p.outW, p.outC]);
    const kernel = s.reshape(s.transpose(dyRows, [1, 0, 2]), [p.outH, p.outW, p.batch, p.outC]);
    const df = filterGradCore(s, images, kernel, p); // [fd·C, fh, fw, outC]
    const taps = s.transpose(s.reshape(df, [g.fd, p.inC, p.fh * p.fw, p.outC]), [0, 2, 1, 3]);
    return s.reshape(taps, [g.fd, p.fh, p.fw, p.inC, p.outC]);
  });
}

/** Conv3DBackpropInputV2: inputs {dy, filter}, attrs {strides, pad, inputShape}. Returns [N, D, H, W, inC]. */
export function conv3dBackpropInputV2(args: KernelArgs): tf.TensorInfo {
  const dy = kernelInput(args, 'dy', 'Conv3DBackpropInputV2');
  const filter = kernelInput(args, 'filter', 'Conv3DBackpropInputV2');
  const attrs = args.attrs as unknown as Conv3DBackpropAttrs & { inputShape: number[] };
  const g = conv3dGeometry(attrs.inputShape, filter.shape, attrs, 'Conv3DBackpropInputV2');
  const p = g.plane;
  const planeSize = p.inH * p.inW * p.inC;
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    // Filter [fd, fh, fw, C, outC] -> [fh, fw, fd·C, outC]: depth taps as extra input channels.
    const stackedFilter = s.reshape(
      s.transpose(s.reshape(filter, [g.fd, p.fh * p.fw, p.inC * p.outC]), [1, 0, 2]),
      [p.fh, p.fw, g.fd * p.inC, p.outC],
    );
    const dyPlanes = s.reshape(dy, [p.batch, p.outH, p.outW, p.outC]);
    const perTap = inputGradNHWC(s, dyPlanes, stackedFilter, { ...p, inC: g.fd * p.inC });
    // [N·outD·H·W, fd, C] -> [fd, N, outD, H·W·C]: each tap's contribution as whole planes.
    const byTap = s.reshape(
      s.transpose(s.reshape(perTap, [p.batch * p.inH * p.inW, g.fd, p.inC]), [1, 0, 2]),
      [g.fd, g.batch, g.outD, planeSize],
    );
    let dx: tf.TensorInfo | null = null;
    for (let a = 0; a < g.fd; a++) {
      let planes =
        g.fd === 1
          ? s.reshape(byTap, [g.batch, g.outD, planeSize])
          : s.reshape(s.slice(byTap, [a, 0, 0, 0], [1, g.batch, g.outD, planeSize]), [
              g.batch,
              g.outD,
              planeSize,
            ]);
      if (g.sd > 1) {
        // Output depth od lands on padded depth od·sd + a: spread onto the stride grid.
        const grid = s.pad(s.reshape(planes, [g.batch, g.outD, 1, planeSize]), [
          [0, 0],
          [0, 0],
          [0, g.sd - 1],
          [0, 0],
        ]);
        planes = s.reshape(grid, [g.batch, g.outD * g.sd, planeSize]);
      }
      const front = a - g.padFront;
      const placed = s.padOrCrop(planes, [
        [0, 0],
        [front, g.inD - front - planes.shape[1]],
        [0, 0],
      ]);
      dx = dx ? s.add(dx, placed) : placed;
    }
    if (!dx) throw new Error('Conv3DBackpropInputV2: filter depth is 0');
    const read = s.reshape(dx, [g.batch, g.inD, p.inH, p.inW, p.inC]);
    // Cropped leading positions get no gradient.
    return s.pad(read, [[0, 0], ...g.crop.map((c): [number, number] => [c, 0]), [0, 0]]);
  });
}
