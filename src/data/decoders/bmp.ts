/**
 * BMP decoding with the rules of TensorFlow's `decode_bmp` / `decode_image` (DecodeBmpV2 in
 * tensorflow/core/kernels/image/decode_image_op.cc), which sharp's libvips build cannot read:
 *
 * - header fields (little-endian): pixel-data offset at byte 10, width at 18, height at 22
 *   (negative: rows stored top-down, else bottom-up), bits per pixel at 28;
 * - 8, 24 or 32 bits per pixel (1, 3 or 4 channels); compression and palette are not read, so an
 *   8-bit image's indices are taken as grey levels, as TF does;
 * - rows are padded to 4 bytes, and the file must be exactly offset + padded rows long;
 * - output RGB: grey repeated, BGR and BGRA reordered (alpha dropped); TF refuses `channels=1`.
 */

export interface BmpPixels {
  data: Uint8Array;
  height: number;
  width: number;
  channels: 3;
}

/** Height and width from a BMP header (TF's checks), without decoding the pixels. */
export function bmpHeader(bytes: Uint8Array): {
  offset: number;
  width: number;
  height: number;
  topDown: boolean;
  inChannels: number;
  rowSize: number;
} {
  if (bytes.length < 32) {
    throw new Error(`incomplete BMP: ${bytes.length} bytes, the header needs at least 32`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offset = view.getInt32(10, true);
  const width = view.getInt32(18, true);
  const signedHeight = view.getInt32(22, true);
  const bpp = view.getInt16(28, true);
  const inChannels = Math.trunc(bpp / 8);
  if (inChannels !== 1 && inChannels !== 3 && inChannels !== 4) {
    throw new Error(`BMP with ${bpp} bits per pixel: only 8, 24 and 32 are decoded (as TF)`);
  }
  if (width <= 0) throw new Error(`BMP width must be positive, got ${width}`);
  if (signedHeight === 0) throw new Error('BMP height must be nonzero');
  if (offset < 0) throw new Error(`BMP pixel-data offset must be nonnegative, got ${offset}`);
  const height = Math.abs(signedHeight);
  if (width * height >= Math.floor(0x7fffffff / 8)) {
    throw new Error(`BMP of ${width}x${height} pixels is too large`);
  }
  const rowSize = Math.floor((inChannels * width + 3) / 4) * 4;
  const diff = bytes.length - offset - rowSize * height;
  if (diff !== 0) {
    throw new Error(
      `BMP size ${bytes.length} should be the pixel offset ${offset} + ${height} rows of ` +
        `${rowSize} bytes, but differs by ${diff}`,
    );
  }
  return { offset, width, height, topDown: signedHeight < 0, inChannels, rowSize };
}

/** Decodes BMP bytes to RGB HWC uint8 pixels (see the module comment). */
export function decodeBmp(bytes: Uint8Array): BmpPixels {
  const { offset, width, height, topDown, inChannels, rowSize } = bmpHeader(bytes);
  const out = new Uint8Array(height * width * 3);
  for (let i = 0; i < height; i++) {
    const row = offset + (topDown ? i : height - 1 - i) * rowSize;
    for (let j = 0; j < width; j++) {
      const src = row + j * inChannels;
      const dst = (i * width + j) * 3;
      if (inChannels === 1) {
        out[dst] = out[dst + 1] = out[dst + 2] = bytes[src];
      } else {
        out[dst] = bytes[src + 2];
        out[dst + 1] = bytes[src + 1];
        out[dst + 2] = bytes[src];
      }
    }
  }
  return { data: out, height, width, channels: 3 };
}
