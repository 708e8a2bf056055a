/**
 * Image bytes <-> uint8 pixels for the decoders and converters: JPEGs through libturbojpeg when
 * it is installed, everything else (and JPEGs without it) through sharp (libvips).
 *
 * Decoding follows `tf.io.decode_image(bytes, channels)`: JPEG, PNG (also GIF's first frame,
 * WebP) and BMP (./bmp.ts, TF's own BMP rules; channels 1 is refused for BMP as TF does);
 * channels 3 gives RGB (grey expanded, alpha dropped without compositing), channels 1 gives
 * one grey channel. No EXIF rotation is applied and embedded ICC profiles are ignored, as in TF.
 *
 * JPEGs go to the system's libjpeg-turbo when it is installed (./turbojpeg.ts): with TF's default
 * `dct_method` (the fast integer IDCT) the pixels are exactly TF's, and channels 1 is libjpeg's
 * grey (the Y component), as in TF. Without it, or with `jpegDecoder: 'sharp'`, sharp decodes
 * with the accurate IDCT whatever `dctMethod` asks (TF's 'INTEGER_ACCURATE' exactly; on the COCO128
 * photos 1.2 levels from TF's default on average, at most 23, as bench/data_pipeline_decode.ts
 * prints) and computes grey from RGB. {@link jpegDecoderInUse} says which.
 */
import sharp from 'sharp';
import { bmpHeader, decodeBmp } from './bmp.js';
import { ExampleDecodeError, type RecordContext } from './errors.js';
import { sniffImageFormat, type DecodedImage, type ImageFormat } from './image_format.js';
import { loadTurboJpeg, TurboJpegError, type DctMethod, type TurboJpeg } from './turbojpeg.js';

export type { DctMethod } from './turbojpeg.js';
export type JpegDecoder = 'auto' | 'turbojpeg' | 'sharp';

export { sniffImageFormat, type DecodedImage, type ImageFormat } from './image_format.js';

export interface DecodeImageOptions {
  /** 3 (RGB, default) or 1 (grey). */
  channels?: 1 | 3;
  /** Record the bytes came from, for error messages. */
  record?: RecordContext;
  /** Feature key the bytes came from, for error messages. */
  key?: string;
  /** TF's `dct_method` for JPEGs; default 'INTEGER_FAST' (TF's default). */
  dctMethod?: DctMethod;
  /**
   * JPEG decoder: 'auto' (default; libturbojpeg when installed, else sharp), or one of them
   * ('turbojpeg' fails when the library is missing). Default from `VISION_GARDEN_JPEG_DECODER`.
   */
  jpegDecoder?: JpegDecoder;
  /**
   * A buffer the pixels may be decoded into (from its start) when it is large enough, sparing an
   * allocation per image; the result's data is then a view of it. Only libturbojpeg uses it.
   */
  into?: Uint8Array;
}

/** The decoder asked for: the option, else `VISION_GARDEN_JPEG_DECODER`, else 'auto'. */
function jpegDecoderOption(opt: JpegDecoder | undefined): JpegDecoder {
  const v = opt ?? process.env.VISION_GARDEN_JPEG_DECODER ?? 'auto';
  if (v !== 'auto' && v !== 'turbojpeg' && v !== 'sharp') {
    throw new TypeError(
      `JPEG decoder must be 'auto', 'turbojpeg' or 'sharp' (option jpegDecoder or ` +
        `VISION_GARDEN_JPEG_DECODER), got '${v}'`,
    );
  }
  return v;
}

/**
 * The decoder `decodeImage` uses for JPEGs with the given choice (default: the environment's),
 * with the library path for libturbojpeg.
 */
export async function jpegDecoderInUse(
  choice?: JpegDecoder,
): Promise<{ decoder: 'turbojpeg' | 'sharp'; path?: string }> {
  const tj = await turboJpegFor(choice);
  return tj ? { decoder: 'turbojpeg', path: tj.path } : { decoder: 'sharp' };
}

/** libturbojpeg for `choice`, or null when sharp decodes; 'turbojpeg' without it throws. */
async function turboJpegFor(choice: JpegDecoder | undefined): Promise<TurboJpeg | null> {
  const c = jpegDecoderOption(choice);
  if (c === 'sharp') return null;
  const tj = await loadTurboJpeg();
  if (!tj && c === 'turbojpeg') throw new Error(turboMissing);
  return tj;
}

const turboMissing =
  "jpegDecoder 'turbojpeg': libturbojpeg could not be loaded (install libturbojpeg0 on " +
  'Debian/Ubuntu or jpeg-turbo with Homebrew, or set VISION_GARDEN_TURBOJPEG to its path)';

/** Decodes encoded image bytes to uint8 HWC pixels; undecodable bytes throw ExampleDecodeError. */
export async function decodeImage(
  bytes: Uint8Array,
  opts: DecodeImageOptions = {},
): Promise<DecodedImage> {
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3) {
    throw new TypeError(`decodeImage: channels must be 1 or 3, got ${String(channels)}`);
  }
  const fail = (detail: string, cause?: unknown) =>
    new ExampleDecodeError(opts.record ?? {}, opts.key, detail, { cause });
  if (bytes.length === 0) throw fail('image bytes are empty');
  const format = sniffImageFormat(bytes);
  if (format === 'unknown') {
    const head = Buffer.from(bytes.subarray(0, 8)).toString('hex');
    throw fail(`undecodable image: not JPEG, PNG, GIF, BMP or WebP (first bytes ${head})`);
  }
  const dct = opts.dctMethod ?? 'INTEGER_FAST';
  if (dct !== 'INTEGER_FAST' && dct !== 'INTEGER_ACCURATE') {
    throw new TypeError(`dctMethod must be 'INTEGER_FAST' or 'INTEGER_ACCURATE', got '${dct}'`);
  }
  if (format === 'bmp') {
    // TF's DecodeBmpV2 refuses channels=1 ("`channels` must be 0, 3 or 4 for BMP").
    if (channels === 1) throw fail('undecodable bmp image: channels must be 3 for BMP (as TF)');
    try {
      return decodeBmp(bytes);
    } catch (err) {
      throw fail(`undecodable bmp image (${(err as Error).message})`, err);
    }
  }
  const tj = format === 'jpeg' ? await turboJpegFor(opts.jpegDecoder) : null;
  if (tj) {
    try {
      return tj.decode(bytes, channels, dct, opts.into);
    } catch (err) {
      if (!(err instanceof TurboJpegError && err.unsupported)) {
        throw fail(`undecodable jpeg image (${(err as Error).message})`, err);
      }
    }
  }
  try {
    // ignoreIcc: TF's decoders never apply an embedded ICC profile; sharp would convert such
    // images to sRGB through it (66 of the 128 COCO128 JPEGs carry one; on 26 the pixels then
    // differ from TF's by up to 138 levels), and the transform costs about half the decode time.
    let img = sharp(bytes, { failOn: 'error', ignoreIcc: true });
    img = channels === 1 ? img.toColourspace('b-w') : img.removeAlpha().toColourspace('srgb');
    const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) {
      throw new Error(`decoder produced ${info.channels} channels, wanted ${channels}`);
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      height: info.height,
      width: info.width,
      channels,
    };
  } catch (err) {
    throw fail(`undecodable ${format} image (${(err as Error).message})`, err);
  }
}

/**
 * Encodes a row-major `[height, width]` uint8 array as an 8-bit greyscale PNG (what Model
 * Garden's `tfrecord_lib.encode_mask_as_png` writes for masks).
 */
export async function encodeGrayPng(
  pixels: Uint8Array,
  height: number,
  width: number,
): Promise<Uint8Array> {
  if (pixels.length !== height * width) {
    throw new TypeError(`encodeGrayPng: ${pixels.length} pixels for a ${height}x${width} image`);
  }
  const png = await sharp(pixels, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** Encodes row-major HWC uint8 pixels (1 or 3 channels) as PNG. */
export async function encodePng(image: DecodedImage): Promise<Uint8Array> {
  if (image.channels === 1) return encodeGrayPng(image.data, image.height, image.width);
  const png = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels as 3 | 4 },
  })
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** Height and width from the image header, without decoding the pixels. */
export async function imageSize(
  bytes: Uint8Array,
  where = 'image',
): Promise<{ height: number; width: number; format: ImageFormat }> {
  try {
    if (sniffImageFormat(bytes) === 'bmp') {
      const { height, width } = bmpHeader(bytes);
      return { height, width, format: 'bmp' };
    }
    const m = await sharp(bytes).metadata();
    if (!m.height || !m.width) throw new Error('no dimensions in header');
    return { height: m.height, width: m.width, format: sniffImageFormat(bytes) };
  } catch (err) {
    throw new Error(`${where}: undecodable image (${(err as Error).message})`, { cause: err });
  }
}
