/**
 * The few browser APIs the browser builds use (createImageBitmap, OffscreenCanvas, fetch), typed
 * structurally so the project compiles without the DOM library. Imported only by `*.browser.ts`
 * modules and the browser entry; in Node `hasBrowserCanvas()` is false.
 */

export interface BitmapLike {
  readonly width: number;
  readonly height: number;
  close?(): void;
}

interface Context2D {
  drawImage(image: unknown, dx: number, dy: number, dw?: number, dh?: number): void;
  getImageData(
    x: number,
    y: number,
    w: number,
    h: number,
  ): { data: Uint8ClampedArray; width: number; height: number };
}

interface CanvasLike {
  getContext(kind: '2d', opts?: { willReadFrequently?: boolean }): Context2D | null;
}

interface BrowserGlobals {
  createImageBitmap?: (
    source: unknown,
    opts?: { colorSpaceConversion?: 'none'; premultiplyAlpha?: 'none'; imageOrientation?: string },
  ) => Promise<BitmapLike>;
  OffscreenCanvas?: new (width: number, height: number) => CanvasLike;
}

function globals(): BrowserGlobals {
  return globalThis as unknown as BrowserGlobals;
}

/** Whether this runtime has the browser's image decoders and an offscreen canvas. */
export function hasBrowserCanvas(): boolean {
  const g = globals();
  return typeof g.createImageBitmap === 'function' && typeof g.OffscreenCanvas === 'function';
}

/**
 * Decodes encoded image bytes with the browser's own decoders: no colour-space conversion
 * through an embedded profile and no alpha premultiplication (TF's decoders apply neither).
 */
export async function decodeToBitmap(bytes: Uint8Array): Promise<BitmapLike> {
  const g = globals();
  if (!hasBrowserCanvas()) throw new Error('no createImageBitmap/OffscreenCanvas in this runtime');
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>]);
  return g.createImageBitmap!(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
}

/**
 * The pixels of anything a 2-D canvas can draw (ImageBitmap, <img>, <canvas>, <video> frame) as
 * row-major HWC uint8 with 3 (RGB, alpha dropped without compositing) or 1 channel (grey, TF's
 * `rgb_to_grayscale` weights).
 */
export function drawablePixels(
  source: unknown,
  width: number,
  height: number,
  channels: 1 | 3,
): { data: Uint8Array; height: number; width: number; channels: number } {
  const g = globals();
  if (!g.OffscreenCanvas) throw new Error('no OffscreenCanvas in this runtime');
  if (!(width > 0 && height > 0)) throw new Error(`image has no pixels (${width}x${height})`);
  const ctx = new g.OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('cannot get a 2-D canvas context');
  ctx.drawImage(source, 0, 0, width, height);
  return rgbaToChannels(ctx.getImageData(0, 0, width, height).data, width, height, channels);
}

/** RGBA pixels as RGB or grey. */
export function rgbaToChannels(
  rgba: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
): { data: Uint8Array; height: number; width: number; channels: number } {
  const n = width * height;
  const data = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    const r = rgba[4 * i];
    const gr = rgba[4 * i + 1];
    const b = rgba[4 * i + 2];
    if (channels === 3) {
      data[3 * i] = r;
      data[3 * i + 1] = gr;
      data[3 * i + 2] = b;
    } else {
      // tf.image.rgb_to_grayscale's weights.
      data[i] = Math.round(0.2989 * r + 0.587 * gr + 0.114 * b);
    }
  }
  return { data, height, width, channels };
}
