/**
 * Where `predict`'s image inputs come from in the browser (package.json `browser` maps
 * ./image_source.js here): a string or URL is fetched; the browser's image objects are drawn on
 * an offscreen canvas.
 */
import type * as NodeSource from './image_source.js';
import { drawablePixels, rgbaToChannels } from '../core/browser_canvas.js';

export const readImageBytes: typeof NodeSource.readImageBytes = async (input, what) => {
  let res: Response;
  try {
    res = await fetch(input);
  } catch (err) {
    throw new Error(`cannot fetch image '${what}': ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new Error(`cannot fetch image '${what}' (HTTP ${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
};

interface Sized {
  width?: number;
  height?: number;
  naturalWidth?: number;
  naturalHeight?: number;
  videoWidth?: number;
  videoHeight?: number;
  data?: unknown;
}

export const hostImagePixels: typeof NodeSource.hostImagePixels = (input, channels) => {
  const s = input as Sized;
  // ImageData: RGBA pixels already.
  if (s.data instanceof Uint8ClampedArray && s.width && s.height) {
    return rgbaToChannels(s.data, s.width, s.height, channels);
  }
  const width = s.videoWidth || s.naturalWidth || s.width;
  const height = s.videoHeight || s.naturalHeight || s.height;
  if (typeof width !== 'number' || typeof height !== 'number') return null;
  return drawablePixels(input, width, height, channels);
};
