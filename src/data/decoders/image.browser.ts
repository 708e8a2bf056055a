/**
 * The browser build's image decoder (package.json `browser` maps ./image.js here): the browser's
 * own decoders (createImageBitmap) read JPEG, PNG, GIF and WebP; BMP goes through TF's rules
 * (./bmp.ts) as in Node. Same exports as ./image.ts; encoding and libturbojpeg are Node-only.
 */
import type * as NodeImage from './image.js';
import { decodeBmp, bmpHeader } from './bmp.js';
import { ExampleDecodeError } from './errors.js';
import { sniffImageFormat } from './image_format.js';
import { decodeToBitmap, drawablePixels } from '../../core/browser_canvas.js';

export { sniffImageFormat, type DecodedImage, type ImageFormat } from './image_format.js';
export type { DctMethod, JpegDecoder, DecodeImageOptions } from './image.js';

function nodeOnly(what: string): never {
  throw new Error(`${what} needs Node (sharp/libturbojpeg): not available in the browser`);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

export const jpegDecoderInUse: typeof NodeImage.jpegDecoderInUse = () =>
  nodeOnly('jpegDecoderInUse');

export const decodeImage: typeof NodeImage.decodeImage = async (bytes, opts = {}) => {
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3) {
    throw new TypeError(`decodeImage: channels must be 1 or 3, got ${String(channels)}`);
  }
  const fail = (detail: string, cause?: unknown) =>
    new ExampleDecodeError(opts.record ?? {}, opts.key, detail, { cause });
  if (bytes.length === 0) throw fail('image bytes are empty');
  const format = sniffImageFormat(bytes);
  if (format === 'unknown') {
    throw fail(`undecodable image: not JPEG, PNG, GIF, BMP or WebP (first bytes ${hex(bytes)})`);
  }
  if (format === 'bmp') {
    if (channels === 1) throw fail('undecodable bmp image: channels must be 3 for BMP (as TF)');
    try {
      return decodeBmp(bytes);
    } catch (err) {
      throw fail(`undecodable bmp image (${(err as Error).message})`, err);
    }
  }
  try {
    const bitmap = await decodeToBitmap(bytes);
    try {
      return drawablePixels(bitmap, bitmap.width, bitmap.height, channels);
    } finally {
      bitmap.close?.();
    }
  } catch (err) {
    throw fail(`undecodable ${format} image (${(err as Error).message})`, err);
  }
};

export const encodeGrayPng: typeof NodeImage.encodeGrayPng = () => nodeOnly('encodeGrayPng');
export const encodePng: typeof NodeImage.encodePng = () => nodeOnly('encodePng');

export const imageSize: typeof NodeImage.imageSize = async (bytes, where = 'image') => {
  const format = sniffImageFormat(bytes);
  try {
    if (format === 'bmp') {
      const { height, width } = bmpHeader(bytes);
      return { height, width, format };
    }
    const bitmap = await decodeToBitmap(bytes);
    bitmap.close?.();
    return { height: bitmap.height, width: bitmap.width, format };
  } catch (err) {
    throw new Error(`${where}: undecodable image (${(err as Error).message})`, { cause: err });
  }
};
