/**
 * Draws detections on an image and writes it as a PNG (atomically): each box as a rectangle in
 * its class's colour, with `name score` on a filled tag above it (inside the image). The overlay is
 * an SVG composited by sharp (libvips renders the text).
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
}

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
    const color = PALETTE[Math.abs(d.classId) % PALETTE.length];
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

/** Writes `image` with `boxes` drawn to `path` (PNG, written to a temporary name and renamed). */
export async function drawDetections(
  image: DecodedImage,
  boxes: readonly DrawnBox[],
  path: string,
): Promise<void> {
  const { width, height, channels } = image;
  const drawn = await sharp(Buffer.from(image.data), {
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
