/**
 * What `predict` accepts as an image: a file path or `file:` URL (Node), encoded bytes (JPEG,
 * PNG, GIF, WebP, BMP), a decoded `{data, height, width, channels}` uint8 HWC image, or a
 * [H, W, C] tfjs tensor of 0..255 values. The decoders (sharp) and the file system are imported
 * only when such an input is given.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

export type ImageInput = string | URL | Uint8Array | ArrayBuffer | RawImage | tf.Tensor3D;

/** A short name of an input for messages. */
export function describeInput(input: ImageInput): string {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  if (input instanceof tf.Tensor) return `tensor [${input.shape}]`;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    return `${input.byteLength} image bytes`;
  }
  return `image ${input.height}x${input.width}x${input.channels}`;
}

async function decodeBytes(bytes: Uint8Array, channels: number, what: string): Promise<RawImage> {
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
    const { readFile } = await import('node:fs/promises');
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(input));
    } catch (err) {
      throw new Error(`cannot read image '${what}': ${(err as Error).message}`, { cause: err });
    }
    return decodeBytes(bytes, channels, what);
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
  const { data, height, width } = input;
  if (input.channels !== channels || data.length !== height * width * channels) {
    throw new Error(`${what}: expected ${height}x${width}x${channels} uint8 values`);
  }
  return { data, height, width, channels };
}
