/**
 * Draws detections on an image and writes it as a PNG (atomically): each instance mask (when
 * given) blended in its class's colour at alpha 0.4 (Model Garden's visualization_utils
 * `draw_mask_on_image_array` default), each box as a rectangle in that colour, with `name score`
 * on a filled tag above it (inside the image). The boxes are an SVG composited by sharp (libvips
 * renders the text).
 */
import sharp from 'sharp';
import { writeFileAtomic } from '../core/atomic_write.js';
import type { DecodedImage } from '../data/decoders/image.js';

export interface DrawnBox {
  /** [ymin, xmin, ymax, xmax] in the image's pixels. */
  box: readonly number[];
  classId: number;
  name: string;
  score: number;
  /** The instance's binary mask over the image, row-major [height, width] of 0/1. */
  mask?: Uint8Array;
}

/** Mask opacity (Model Garden's `mask_alpha` default). */
const MASK_ALPHA = 0.4;

/** Distinct, saturated colours, picked by class id. */
const PALETTE = [
  '#e6194b',
  '#3cb44b',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#42d4f4',
  '#f032e6',
  '#bfef45',
  '#ffe119',
  '#469990',
];

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The SVG overlay (same size as the image) with the boxes and their tags. */
export function detectionsSvg(width: number, height: number, boxes: readonly DrawnBox[]): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 200));
  const font = Math.max(10, Math.round(Math.min(width, height) / 32));
  const parts = [`<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">`];
  for (const d of boxes) {
    const [y0, x0, y1, x1] = d.box;
    const color = colorOf(d.classId);
    const label = `${d.name} ${d.score.toFixed(2)}`;
    const tagH = font + 4;
    const tagW = Math.ceil(label.length * font * 0.6) + 6;
    // The tag sits above the box, or inside its top when the box touches the image's top.
    const tagY = y0 - tagH >= 0 ? y0 - tagH : y0;
    const tagX = Math.min(Math.max(0, x0), Math.max(0, width - tagW));
    parts.push(
      `<rect x="${x0.toFixed(1)}" y="${y0.toFixed(1)}" width="${(x1 - x0).toFixed(1)}" height="${(y1 - y0).toFixed(1)}" fill="none" stroke="${color}" stroke-width="${stroke}"/>`,
      `<rect x="${tagX.toFixed(1)}" y="${tagY.toFixed(1)}" width="${tagW}" height="${tagH}" fill="${color}"/>`,
      `<text x="${(tagX + 3).toFixed(1)}" y="${(tagY + font).toFixed(1)}" font-family="sans-serif" font-size="${font}" fill="#ffffff">${escapeXml(label)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

function colorOf(classId: number): string {
  return PALETTE[Math.abs(classId) % PALETTE.length];
}

/**
 * A copy of the image's pixels with each box's mask blended in: (1 - alpha) * pixel + alpha *
 * colour on the mask's pixels (grey images take the colour's mean), later boxes over earlier ones.
 */
export function blendMasks(image: DecodedImage, boxes: readonly DrawnBox[]): Uint8Array {
  const { width, height, channels } = image;
  const out = Uint8Array.from(image.data);
  boxes.forEach((d, i) => {
    const m = d.mask;
    if (!m) return;
    if (m.length !== width * height) {
      throw new Error(
        `drawDetections: mask of detection ${i} has ${m.length} pixels, the image ${width}x${height}`,
      );
    }
    const hex = colorOf(d.classId);
    const rgb = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
    const color = channels >= 3 ? rgb : [(rgb[0] + rgb[1] + rgb[2]) / 3];
    const n = Math.min(channels, 3);
    for (let p = 0; p < width * height; p++) {
      if (!m[p]) continue;
      for (let c = 0; c < n; c++) {
        const k = p * channels + c;
        out[k] = Math.round((1 - MASK_ALPHA) * out[k] + MASK_ALPHA * color[c]);
      }
    }
  });
  return out;
}

/** Writes `image` with `boxes` drawn to `path` (PNG, written to a temporary name and renamed). */
export async function drawDetections(
  image: DecodedImage,
  boxes: readonly DrawnBox[],
  path: string,
): Promise<void> {
  const { width, height, channels } = image;
  const pixels = boxes.some((b) => b.mask) ? blendMasks(image, boxes) : image.data;
  const drawn = await sharp(Buffer.from(pixels), {
    raw: { width, height, channels: channels as 1 | 3 | 4 },
  })
    .composite([{ input: Buffer.from(detectionsSvg(width, height, boxes)), top: 0, left: 0 }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  // The composite adds an alpha channel; the written image keeps the input's channels.
  let out = sharp(drawn.data, {
    raw: { width, height, channels: drawn.info.channels as 1 | 2 | 3 | 4 },
  });
  if (drawn.info.channels > channels) out = out.removeAlpha();
  const png = await out.png().toBuffer();
  await writeFileAtomic(path, async (fh) => {
    await fh.writeFile(png);
  });
}
