/**
 * What `predict` accepts as an image: a file path or `file:` URL (Node; in the browser a URL to
 * fetch), encoded bytes (JPEG, PNG, GIF, WebP, BMP) or a Blob of them, a decoded
 * `{data, height, width, channels}` uint8 HWC image, a [H, W, C] tfjs tensor of 0..255 values,
 * or in the browser an ImageBitmap, <img>, <canvas>, <video> or ImageData. The decoders are
 * ../data/decoders/image.ts (sharp; the browser build's twin uses the browser's decoders) and
 * ./image_source.ts (the file system; the browser's twin fetches and draws).
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostImagePixels, readImageBytes } from './image_source.js';

export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/** A browser image object (ImageBitmap, <img>, <canvas>, <video>, ImageData). */
export interface HostImage {
  readonly width: number;
  readonly height: number;
}

export type ImageInput =
  string | URL | Uint8Array | ArrayBuffer | Blob | RawImage | tf.Tensor3D | HostImage;

function isRawImage(input: object): input is RawImage {
  return 'channels' in input && 'data' in input;
}

/** A short name of an input for messages. */
export function describeInput(input: ImageInput): string {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  if (input instanceof tf.Tensor) return `tensor [${input.shape}]`;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    return `${input.byteLength} image bytes`;
  }
  if (input instanceof Blob) return `${input.size} image bytes (Blob)`;
  if (isRawImage(input)) return `image ${input.height}x${input.width}x${input.channels}`;
  return `image object ${input.height}x${input.width}`;
}

async function decodeBytes(bytes: Uint8Array, channels: number, what: string): Promise<RawImage> {
  // Imported on first use: Node's decoder loads sharp.
  const { decodeImage } = await import('../data/decoders/image.js');
  try {
    return await decodeImage(bytes, { channels: channels as 1 | 3 });
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** The input as a uint8 HWC image with `channels` channels. */
export async function toImage(input: ImageInput, channels: number): Promise<RawImage> {
  const what = describeInput(input);
  if (typeof input === 'string' || input instanceof URL) {
    return decodeBytes(await readImageBytes(input, what), channels, what);
  }
  if (input instanceof Blob) {
    return decodeBytes(new Uint8Array(await input.arrayBuffer()), channels, what);
  }
  if (input instanceof ArrayBuffer) return decodeBytes(new Uint8Array(input), channels, what);
  if (input instanceof Uint8Array) return decodeBytes(input, channels, what);
  if (input instanceof tf.Tensor) {
    if (input.rank !== 3 || input.shape[2] !== channels) {
      throw new Error(`${what}: expected a [height, width, ${channels}] image tensor`);
    }
    const values = await input.data();
    const data = Uint8Array.from(values, (v) => Math.max(0, Math.min(255, Math.round(v))));
    return { data, height: input.shape[0], width: input.shape[1], channels };
  }
  if (!isRawImage(input)) {
    if (channels !== 1 && channels !== 3) throw new Error(`${what}: ${channels} channels asked`);
    const pixels = hostImagePixels(input, channels);
    if (!pixels) throw new Error(`${what}: not an image input predict accepts`);
    return pixels;
  }
  const { data, height, width } = input;
  if (input.channels !== channels || data.length !== height * width * channels) {
    throw new Error(`${what}: expected ${height}x${width}x${channels} uint8 values`);
  }
  return { data, height, width, channels };
}
