/**
 * Pasting box-relative instance masks onto the image canvas, as Model Garden's
 * `mask_ops.paste_instance_masks` (official/vision/ops/mask_ops.py, after Detectron): the
 * mask is zero-padded by one pixel, the box is expanded by the matching factor and truncated to
 * integers, the padded mask is bilinearly resized (OpenCV INTER_LINEAR: half-pixel centres,
 * replicated border) to the expanded box, thresholded at 0.5 and clipped to the image.
 */

/**
 * Bilinear resize of a row-major `[sh, sw]` float image to `[dh, dw]` with OpenCV's
 * INTER_LINEAR sampling: source coordinate `(d + 0.5) * s/d_size - 0.5`, clamped at the border.
 */
export function resizeBilinearCv(
  src: ArrayLike<number>,
  sh: number,
  sw: number,
  dh: number,
  dw: number,
): Float32Array {
  const out = new Float32Array(dh * dw);
  const sy = sh / dh;
  const sx = sw / dw;
  const x0 = new Int32Array(dw);
  const x1 = new Int32Array(dw);
  const fxs = new Float64Array(dw);
  for (let x = 0; x < dw; x++) {
    let fx = (x + 0.5) * sx - 0.5;
    let ix = Math.floor(fx);
    fx -= ix;
    if (ix < 0) {
      fx = 0;
      ix = 0;
    }
    if (ix >= sw - 1) {
      fx = 0;
      ix = sw - 1;
    }
    x0[x] = ix;
    x1[x] = Math.min(ix + 1, sw - 1);
    fxs[x] = fx;
  }
  for (let y = 0; y < dh; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    let iy = Math.floor(fy);
    fy -= iy;
    if (iy < 0) {
      fy = 0;
      iy = 0;
    }
    if (iy >= sh - 1) {
      fy = 0;
      iy = sh - 1;
    }
    const r0 = iy * sw;
    const r1 = Math.min(iy + 1, sh - 1) * sw;
    for (let x = 0; x < dw; x++) {
      const fx = fxs[x];
      const top = src[r0 + x0[x]] * (1 - fx) + src[r0 + x1[x]] * fx;
      const bot = src[r1 + x0[x]] * (1 - fx) + src[r1 + x1[x]] * fx;
      out[y * dw + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

/**
 * Pastes one mask `[mh, mw]` (row-major, values in [0, 1]) defined over `box` = `[x, y, w, h]`
 * in image pixels onto an `[imageHeight, imageWidth]` canvas. Returns a row-major Uint8Array
 * of 0/1.
 */
export function pasteInstanceMask(
  mask: ArrayLike<number>,
  mh: number,
  mw: number,
  box: ArrayLike<number>,
  imageHeight: number,
  imageWidth: number,
): Uint8Array {
  if (mask.length !== mh * mw) {
    throw new Error(`pasteInstanceMask: mask has ${mask.length} values, expected ${mh}x${mw}`);
  }
  // Float32 arithmetic, as MG's numpy code on float32 boxes (a Python float scalar does not
  // widen a float32 array), so the truncated box matches at integer boundaries.
  const f = Math.fround;
  const scale = f(Math.max((mw + 2) / mw, (mh + 2) / mh));
  const [bx, by, bw, bh] = [f(box[0]), f(box[1]), f(box[2]), f(box[3])];
  const xc = f(bx + f(bw * 0.5));
  const yc = f(by + f(bh * 0.5));
  const wHalf = f(f(bw * 0.5) * scale);
  const hHalf = f(f(bh * 0.5) * scale);
  // numpy astype(int32) truncates toward zero.
  const rx0 = Math.trunc(f(xc - wHalf));
  const ry0 = Math.trunc(f(yc - hHalf));
  const rx1 = Math.trunc(f(xc + wHalf));
  const ry1 = Math.trunc(f(yc + hHalf));
  const w = Math.max(rx1 - rx0 + 1, 1);
  const h = Math.max(ry1 - ry0 + 1, 1);
  const padded = new Float32Array((mh + 2) * (mw + 2));
  for (let y = 0; y < mh; y++) {
    for (let x = 0; x < mw; x++) padded[(y + 1) * (mw + 2) + x + 1] = mask[y * mw + x];
  }
  const resized = resizeBilinearCv(padded, mh + 2, mw + 2, h, w);
  const out = new Uint8Array(imageHeight * imageWidth);
  const x0 = Math.min(Math.max(rx0, 0), imageWidth);
  const x1 = Math.min(Math.max(rx1 + 1, 0), imageWidth);
  const y0 = Math.min(Math.max(ry0, 0), imageHeight);
  const y1 = Math.min(Math.max(ry1 + 1, 0), imageHeight);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      out[y * imageWidth + x] = resized[(y - ry0) * w + (x - rx0)] > 0.5 ? 1 : 0;
    }
  }
  return out;
}
