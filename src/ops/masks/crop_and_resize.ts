/**
 * tf.image.crop_and_resize (bilinear, extrapolation value 0) of one single-channel mask, as Model
 * Garden's Mask R-CNN parser crops each instance mask to its box at `mask_crop_size`
 * (official/vision/dataloaders/maskrcnn_input.py): `box` is [ymin, xmin, ymax, xmax] normalised to
 * the mask; output row i samples y = ymin·(H − 1) + i·(ymax − ymin)·(H − 1)/(S − 1) (the box
 * centre when S = 1), x likewise; samples outside [0, H − 1] × [0, W − 1] are 0.
 */
export function cropAndResizeMask(
  mask: ArrayLike<number>,
  height: number,
  width: number,
  box: ArrayLike<number>,
  cropSize: number,
): Float32Array {
  if (mask.length !== height * width) {
    throw new RangeError(`cropAndResizeMask: ${mask.length} values for a ${height}×${width} mask`);
  }
  if (!Number.isInteger(cropSize) || cropSize < 1) {
    throw new RangeError(`parser.mask_crop_size must be a positive integer, got ${cropSize}`);
  }
  const [y1, x1, y2, x2] = [box[0], box[1], box[2], box[3]];
  const s = cropSize;
  const at = (lo: number, hi: number, i: number, size: number) =>
    s > 1 ? lo * (size - 1) + (i * (hi - lo) * (size - 1)) / (s - 1) : 0.5 * (lo + hi) * (size - 1);
  const out = new Float32Array(s * s);
  for (let i = 0; i < s; i++) {
    const y = at(y1, y2, i, height);
    if (y < 0 || y > height - 1) continue;
    const y0 = Math.floor(y);
    const yb = Math.min(y0 + 1, height - 1);
    const ly = y - y0;
    for (let j = 0; j < s; j++) {
      const x = at(x1, x2, j, width);
      if (x < 0 || x > width - 1) continue;
      const x0 = Math.floor(x);
      const xb = Math.min(x0 + 1, width - 1);
      const lx = x - x0;
      const top = mask[y0 * width + x0] + (mask[y0 * width + xb] - mask[y0 * width + x0]) * lx;
      const bottom = mask[yb * width + x0] + (mask[yb * width + xb] - mask[yb * width + x0]) * lx;
      out[i * s + j] = top + (bottom - top) * ly;
    }
  }
  return out;
}
