/**
 * Conv2D gradients for the wasm backend, composed from wasm kernels.
 *
 * - {@link conv2dBackpropFilter}: per filter tap, a strided slice of the zero-padded input
 *   ([N, outH, outW, inC], i.e. one im2col column block) times dy ([N·outH·outW, outC]) with
 *   BatchMatMul(transposeA); the taps are concatenated into [fh, fw, inC, outC].
 * - {@link conv2dBackpropInput}: the transposed convolution written as a stride-1 convolution:
 *   dy is zero-interleaved (stride), padded/cropped so that a VALID correlation yields exactly
 *   [N, H, W, inC], then convolved (wasm/XNNPACK Conv2D, dilated like the forward pass) with the
 *   spatially flipped filter whose channel axes are swapped ([fh, fw, outC, inC]).
 *
 * Both honour `dilations` when the attrs carry it (tfjs-core's own ops never pass it for the
 * Conv2D backprops, so it defaults to 1) and accept NCHW by transposing to NHWC and back.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  KernelScope,
  type Paddings,
  type KernelArgs,
  type WasmBackendHandle,
  kernelInput,
} from './kernel_scope.js';

type Pair = [number, number];
type Shape4 = [number, number, number, number];

/** The attrs shared by the Conv2D backprop kernels (plus the optional dilations). */
interface Conv2DBackpropAttrs {
  strides: number | Pair;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | Pair;
}

/** Geometry of the forward convolution, NHWC. */
export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padTop: number;
  padLeft: number;
}

/** Forward-conv geometry from shapes in `dataFormat` and the op attrs. */
export function convGeometry(
  xShape: number[],
  filterShape: number[],
  attrs: Conv2DBackpropAttrs,
  depthwise: boolean,
): ConvGeometry {
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  const info = tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    format,
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

/**
 * Zero-pads the NHWC input `x` at top/left by the forward padding and at bottom/right as far as
 * the last filter tap reaches, so every tap's window is a plain strided slice.
 */
export function padForTaps(s: KernelScope, x: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  const needH = (g.outH - 1) * g.sh + (g.fh - 1) * g.dh + 1;
  const needW = (g.outW - 1) * g.sw + (g.fw - 1) * g.dw + 1;
  return s.pad(x, [
    [0, 0],
    [g.padTop, Math.max(0, needH - g.padTop - g.inH)],
    [g.padLeft, Math.max(0, needW - g.padLeft - g.inW)],
    [0, 0],
  ]);
}

/**
 * The input window seen by filter tap (i, j): `xPad[:, i·dh :: sh, j·dw :: sw, :]`, `outH × outW`
 * positions. `hAxis` is the index of the height axis in `xPad` (width follows it).
 */
export function tapWindow(
  s: KernelScope,
  xPad: tf.TensorInfo,
  g: ConvGeometry,
  i: number,
  j: number,
  hAxis: number,
): tf.TensorInfo {
  const rank = xPad.shape.length;
  const begin = new Array<number>(rank).fill(0);
  const end = [...xPad.shape];
  const strides = new Array<number>(rank).fill(1);
  begin[hAxis] = i * g.dh;
  end[hAxis] = i * g.dh + (g.outH - 1) * g.sh + 1;
  strides[hAxis] = g.sh;
  begin[hAxis + 1] = j * g.dw;
  end[hAxis + 1] = j * g.dw + (g.outW - 1) * g.sw + 1;
  strides[hAxis + 1] = g.sw;
  return s.stridedSlice(xPad, begin, end, strides);
}

/**
 * Spreads NHWC `dy` [N, outH, outW, C] onto the stride grid and pads/crops it so that a VALID,
 * stride-1 correlation with a (dilated) fh × fw filter gives [N, inH, inW, ·]: the adjoint of a
 * strided, padded correlation.
 */
export function spreadForTransposedConv(
  s: KernelScope,
  dy: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const [n, oh, ow, c] = dy.shape;
  let z = dy;
  if (g.sh > 1 || g.sw > 1) {
    // [N, oh, 1, ow, 1, C] padded to [N, oh, sh, ow, sw, C]: each dy value followed by zeros.
    const r = s.reshape(dy, [n, oh, 1, ow, 1, c]);
    const p = s.pad(r, [
      [0, 0],
      [0, 0],
      [0, g.sh - 1],
      [0, 0],
      [0, g.sw - 1],
      [0, 0],
    ]);
    z = s.reshape(p, [n, oh * g.sh, ow * g.sw, c]);
  }
  // Value z[t] sits at padded position t + front; output row y reads rows y .. y + (fh-1)·dh.
  const frontH = (g.fh - 1) * g.dh - g.padTop;
  const frontW = (g.fw - 1) * g.dw - g.padLeft;
  const paddings: Paddings = [
    [0, 0],
    [frontH, g.inH + (g.fh - 1) * g.dh - frontH - oh * g.sh],
    [frontW, g.inW + (g.fw - 1) * g.dw - frontW - ow * g.sw],
    [0, 0],
  ];
  return s.padOrCrop(z, paddings);
}

/**
 * Conv2DBackpropFilter: inputs {x, dy}, attrs {strides, pad, dataFormat, dimRoundingMode,
 * filterShape}. Returns [fh, fw, inC, outC].
 *
 * df[i, j, c, o] = Σ_{n, y, x} xPad[n, y·sh + i·dh, x·sw + j·dw, c] · dy[n, y, x, o] is itself a
 * VALID correlation: with x laid out as a batch of inC images [inC, H, W, N] (channels = N) and dy
 * as a filter [outH, outW, N, outC], one XNNPACK Conv2D whose *dilation* is the forward stride and
 * whose *stride* is the forward dilation yields [inC, fh, fw, outC]. Its GEMM has the filter taps
 * as rows and N·outH·outW as the reduction, so it costs about what the forward convolution does
 * (the tap-by-tap BatchMatMul(transposeA) it replaces fell back to wasm's scalar matmul loop).
 * 1×1 stride-1 unpadded filters are a plain matmul xᵀ·dy.
 */
export function conv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const x = kernelInput(args, 'x', 'Conv2DBackpropFilter');
  const dy = kernelInput(args, 'dy', 'Conv2DBackpropFilter');
  const attrs = args.attrs as unknown as Conv2DBackpropAttrs & { filterShape: number[] };
  const g = convGeometry(x.shape, attrs.filterShape, attrs, false);
  const nchw = attrs.dataFormat === 'NCHW';
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    const xN = nchw ? s.transpose(x, NCHW_TO_NHWC) : x;
    const dyN = nchw ? s.transpose(dy, NCHW_TO_NHWC) : dy;
    if (isPointwiseIdentityGeometry(g)) return pointwiseFilterGrad(s, xN, dyN, g);
    return filterGradAsConv(s, xN, dyN, g);
  });
}

/**
 * df = xᵀ·dy for a 1×1 stride-1 convolution, as one XNNPACK matmul. XNNPACK packs the right-hand
 * operand on every call (its cost grows with that operand's width), so the operand with fewer
 * channels goes right and the other is transposed: [outC, P]·[P, inC] or [inC, P]·[P, outC].
 */
function pointwiseFilterGrad(
  s: KernelScope,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const positions = g.batch * g.inH * g.inW;
  const rows = (t: tf.TensorInfo, c: number) => s.reshape(t, [positions, c]);
  if (g.inC <= g.outC) {
    const dyT = s.reshape(s.transpose(rows(dy, g.outC), [1, 0]), [1, g.outC, positions]);
    const dfT = s.matMul(dyT, s.reshape(x, [1, positions, g.inC])); // [1, outC, inC]
    return s.reshape(s.transpose(s.reshape(dfT, [g.outC, g.inC]), [1, 0]), [1, 1, g.inC, g.outC]);
  }
  const xT = s.reshape(s.transpose(rows(x, g.inC), [1, 0]), [1, g.inC, positions]);
  return s.reshape(s.matMul(xT, s.reshape(dy, [1, positions, g.outC])), [1, 1, g.inC, g.outC]);
}

/** True for a 1×1, stride-1, unpadded convolution (output grid = input grid). */
function isPointwiseIdentityGeometry(g: ConvGeometry): boolean {
  return (
    g.fh === 1 &&
    g.fw === 1 &&
    g.sh === 1 &&
    g.sw === 1 &&
    g.padTop === 0 &&
    g.padLeft === 0 &&
    g.outH === g.inH &&
    g.outW === g.inW
  );
}

/** The filter gradient [fh, fw, inC, outC] of NHWC `x`, `dy` as one Conv2D (see above). */
function filterGradAsConv(
  s: KernelScope,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const images = s.transpose(x, [3, 1, 2, 0]); // [inC, H, W, N]
  const kernel = s.transpose(dy, [1, 2, 0, 3]); // [outH, outW, N, outC]
  return s.transpose(filterGradCore(s, images, kernel, g), [1, 2, 0, 3]);
}

/**
 * The correlation behind {@link conv2dBackpropFilter} on operands already laid out:
 * `images` [B, H, W, K] (B independent filter rows, e.g. input channels; K the summed positions,
 * e.g. the batch) and `kernel` [outH, outW, K, outC] (dy). Returns [B, fh, fw, outC]. Only the
 * spatial fields of `g` (sizes, filter, strides, dilations, padding) are used.
 */
export function filterGradCore(
  s: KernelScope,
  images: tf.TensorInfo,
  kernel: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  // Rows of the padded input the last tap reads; rows past it are never read.
  const needH = (g.outH - 1) * g.sh + (g.fh - 1) * g.dh + 1;
  const needW = (g.outW - 1) * g.sw + (g.fw - 1) * g.dw + 1;
  const padBottom = needH - g.padTop - g.inH;
  const padRight = needW - g.padLeft - g.inW;
  // Unread trailing rows/columns (negative padding) make the output larger than fh × fw; the
  // extra taps are cropped off the (small) result instead of copying the input.
  const df = s.run(
    'Conv2D',
    { x: images, filter: kernel },
    {
      strides: [g.dh, g.dw],
      dilations: [g.sh, g.sw],
      pad: [
        [0, 0],
        [g.padTop, Math.max(padBottom, 0)],
        [g.padLeft, Math.max(padRight, 0)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  ); // [B, fh', fw', outC]
  if (df.shape[1] === g.fh && df.shape[2] === g.fw) return df;
  return s.slice(df, [0, 0, 0, 0], [df.shape[0], g.fh, g.fw, df.shape[3]]);
}

/**
 * Conv2DBackpropInput: inputs {dy, filter}, attrs {strides, pad, dataFormat, dimRoundingMode,
 * inputShape}. Returns dx in `dataFormat`.
 *
 * - 1×1 stride-1 unpadded: dx = dy · fᵀ (one matmul).
 * - stride > 1 (no dilation): sub-pixel decomposition ({@link transposedConvByPhases}): each of the
 *   sh·sw output phases is a stride-1 Conv2D of dy with the taps of that phase, so the work equals
 *   the forward pass instead of the sh·sw times more a zero-interleaved dy would cost.
 * - otherwise: dy padded/cropped ({@link spreadForTransposedConv}) and correlated (wasm/XNNPACK
 *   Conv2D, dilated like the forward pass) with the flipped filter, channels swapped.
 */
export function conv2dBackpropInput(args: KernelArgs): tf.TensorInfo {
  const dy = kernelInput(args, 'dy', 'Conv2DBackpropInput');
  const filter = kernelInput(args, 'filter', 'Conv2DBackpropInput');
  const attrs = args.attrs as unknown as Conv2DBackpropAttrs & { inputShape: number[] };
  const g = convGeometry(attrs.inputShape, filter.shape, attrs, false);
  const nchw = attrs.dataFormat === 'NCHW';
  return KernelScope.compute(args.backend as WasmBackendHandle, (s) => {
    const dyN = nchw ? s.transpose(dy, NCHW_TO_NHWC) : dy;
    const dx = inputGradNHWC(s, dyN, filter, g);
    return nchw ? s.transpose(dx, NHWC_TO_NCHW) : dx;
  });
}

/** dx [N, H, W, inC] of NHWC `dy` and `filter` [fh, fw, inC, outC]. */
export function inputGradNHWC(
  s: KernelScope,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  if (isPointwiseIdentityGeometry(g)) {
    const positions = g.batch * g.inH * g.inW;
    const fT = s.transpose(s.reshape(filter, [g.inC, g.outC]), [1, 0]);
    const dx = s.matMul(s.reshape(dy, [1, positions, g.outC]), s.reshape(fT, [1, g.outC, g.inC]));
    return s.reshape(dx, [g.batch, g.inH, g.inW, g.inC]);
  }
  // Channel axes swapped for the transposed convolution: [fh, fw, outC, inC].
  const swapped = s.transpose(filter, [0, 1, 3, 2]);
  const conv = (input: tf.TensorInfo, taps: tf.TensorInfo, pad: Paddings) =>
    s.run(
      'Conv2D',
      { x: input, filter: taps },
      { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
    );
  if ((g.sh > 1 || g.sw > 1) && g.dh === 1 && g.dw === 1) {
    const byPhases = transposedConvByPhases(s, dy, swapped, g, g.inC, conv);
    if (byPhases) return byPhases;
  }
  const spread = spreadForTransposedConv(s, dy, g);
  return s.run(
    'Conv2D',
    { x: spread, filter: s.reverse(swapped, [0, 1]) },
    { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [g.dh, g.dw] },
  );
}

/** One spatial axis of a sub-pixel phase: which taps it uses and how dy is padded for them. */
interface PhaseAxis {
  /** First tap of the phase (taps are first, first + s, ...). */
  firstTap: number;
  /** Number of taps of the phase (0: the phase gets no gradient). */
  taps: number;
  /** Padding in front of dy so that a stride-1 VALID correlation lines up. */
  front: number;
}

/**
 * The phases of one axis of a transposed convolution (input size `n`, output size `outN`,
 * `f` taps, stride `st`, front padding `pad`): input position a + st·m (a < st) sums
 * dy[q_a + m - t] · f[r_a + st·t] over t, with r_a = (a + pad) mod st and q_a = ⌊(a + pad)/st⌋.
 * Returns the phases and the common number of positions `m` each phase computes, or null when a
 * phase would need dy cropped at the front (padding of `st` or more; left to the general path).
 */
function phaseAxis(
  n: number,
  outN: number,
  f: number,
  st: number,
  pad: number,
): { phases: PhaseAxis[]; length: number } | null {
  const phases: PhaseAxis[] = [];
  let length = 0;
  for (let a = 0; a < st; a++) {
    const r = (a + pad) % st;
    const q = Math.floor((a + pad) / st);
    const taps = r < f ? Math.floor((f - 1 - r) / st) + 1 : 0;
    const front = taps - 1 - q;
    if (taps > 0 && front < 0) return null;
    phases.push({ firstTap: r, taps, front });
    length = Math.max(length, Math.ceil((n - a) / st));
    if (taps > 0) length = Math.max(length, front + outN - taps + 1);
  }
  return { phases, length };
}

/**
 * Transposed convolution of NHWC `dy` by sub-pixel phases. `swapped` is the filter with its
 * channel axes already in correlation order ([fh, fw, outC, inC] for Conv2D, [fh, fw, C, 1]·M for
 * depthwise); `conv(input, taps, pad)` runs the stride-1 correlation for one phase (taps already
 * flipped) and returns [N, mh, mw, outChannels]. The phase results are interleaved with two
 * rank-3 transposes (wasm's transposes above rank 4 are slow) and cropped to [N, H, W, ·].
 * Returns null where {@link phaseAxis} declines.
 */
export function transposedConvByPhases(
  s: KernelScope,
  dy: tf.TensorInfo,
  swapped: tf.TensorInfo,
  g: ConvGeometry,
  outChannels: number,
  conv: (input: tf.TensorInfo, taps: tf.TensorInfo, pad: Paddings) => tf.TensorInfo,
): tf.TensorInfo | null {
  const rows = phaseAxis(g.inH, g.outH, g.fh, g.sh, g.padTop);
  const cols = phaseAxis(g.inW, g.outW, g.fw, g.sw, g.padLeft);
  if (!rows || !cols) return null;
  const mh = rows.length;
  const mw = cols.length;
  const [fh, fw, c2, c3] = swapped.shape;
  const rowBlocks: tf.TensorInfo[] = [];
  for (const ph of rows.phases) {
    const colBlocks: tf.TensorInfo[] = [];
    for (const pw of cols.phases) {
      if (ph.taps === 0 || pw.taps === 0) {
        colBlocks.push(s.fill([g.batch, mh, mw, outChannels], 0, 'float32'));
        continue;
      }
      let taps = swapped;
      if (ph.taps !== fh || pw.taps !== fw) {
        taps = s.stridedSlice(
          swapped,
          [ph.firstTap, pw.firstTap, 0, 0],
          [ph.firstTap + (ph.taps - 1) * g.sh + 1, pw.firstTap + (pw.taps - 1) * g.sw + 1, c2, c3],
          [g.sh, g.sw, 1, 1],
        );
      }
      const flipped = s.reverse(taps, [0, 1]);
      const pad: Paddings = [
        [0, 0],
        [ph.front, mh + ph.taps - 1 - g.outH - ph.front],
        [pw.front, mw + pw.taps - 1 - g.outW - pw.front],
        [0, 0],
      ];
      colBlocks.push(conv(dy, flipped, pad));
    }
    // [sw, N·mh·mw, C] -> [N·mh·mw, sw, C]: columns interleaved.
    const stacked = s.reshape(s.concat(colBlocks, 0), [g.sw, g.batch * mh * mw, outChannels]);
    rowBlocks.push(g.sw > 1 ? s.transpose(stacked, [1, 0, 2]) : stacked);
  }
  // [sh, N·mh, mw·sw·C] -> [N·mh, sh, mw·sw·C]: rows interleaved.
  const stacked = s.reshape(s.concat(rowBlocks, 0), [g.sh, g.batch * mh, mw * g.sw * outChannels]);
  const interleaved = g.sh > 1 ? s.transpose(stacked, [1, 0, 2]) : stacked;
  const full = s.reshape(interleaved, [g.batch, mh * g.sh, mw * g.sw, outChannels]);
  if (mh * g.sh === g.inH && mw * g.sw === g.inW) return full;
  return s.slice(full, [0, 0, 0, 0], [g.batch, g.inH, g.inW, outChannels]);
}
