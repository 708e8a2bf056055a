/**
 * JPEG decoding through the system's libjpeg-turbo (its TurboJPEG API, `libturbojpeg`), called
 * with koffi (a C FFI shipped as prebuilt binaries in its npm tarball). Optional: when the library
 * or koffi cannot be loaded, {@link loadTurboJpeg} resolves to null and callers use sharp.
 *
 * Why: TensorFlow's `decode_jpeg` is libjpeg-turbo called with its default flags, the fast
 * integer IDCT (`dct_method=''` → JDCT_IFAST) and fancy upsampling. TurboJPEG with
 * TJFLAG_FASTDCT gives exactly those pixels (byte-equal on every JPEG golden written by TF), which
 * sharp cannot (libvips always asks for the accurate IDCT), and it decodes in the calling thread
 * at about 3 ms per COCO image against sharp's 7 (libvips' pipeline and thread hand-offs cost
 * more than the decode itself at that size); see bench/data_pipeline_decode.ts.
 *
 * The decode is synchronous: a worker thread that is terminated never has a decode in flight on
 * another thread. Each thread (main or worker) loads its own handle once.
 *
 * Library lookup: `VISION_GARDEN_TURBOJPEG` (a path) if set, else the platform's usual names
 * (Debian/Ubuntu package libturbojpeg0, Homebrew jpeg-turbo, vcpkg/MSYS turbojpeg.dll).
 */
import type { DecodedImage } from './image.js';

/** TF's `dct_method`: '' and 'INTEGER_FAST' are TF's default; 'INTEGER_ACCURATE' is slower. */
export type DctMethod = 'INTEGER_FAST' | 'INTEGER_ACCURATE';

// turbojpeg.h (libjpeg-turbo 2.x API, present in 2.0+ and 3.x).
const TJPF_RGB = 0;
const TJPF_GRAY = 6;
const TJFLAG_FASTDCT = 2048;
const TJFLAG_ACCURATEDCT = 4096;
const TJERR_WARNING = 0;
const TJCS_CMYK = 3;
const TJCS_YCCK = 4;

/** Thrown for bytes libjpeg-turbo cannot decode; `unsupported`: valid, but another decoder's job. */
export class TurboJpegError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
    this.name = 'TurboJpegError';
  }
}

export interface TurboJpeg {
  /** The library file that was loaded. */
  readonly path: string;
  /**
   * Decodes JPEG bytes to HWC uint8 with 3 (RGB) or 1 (libjpeg's grey: the Y component), into
   * the start of `into` when it is large enough (the pixels are then a view of it).
   */
  decode(bytes: Uint8Array, channels: 1 | 3, dct: DctMethod, into?: Uint8Array): DecodedImage;
}

function candidatePaths(): string[] {
  const env = process.env.VISION_GARDEN_TURBOJPEG;
  if (env) return [env];
  if (process.platform === 'darwin') {
    return [
      '/opt/homebrew/opt/jpeg-turbo/lib/libturbojpeg.dylib',
      '/usr/local/opt/jpeg-turbo/lib/libturbojpeg.dylib',
      'libturbojpeg.dylib',
    ];
  }
  if (process.platform === 'win32') return ['turbojpeg.dll', 'libturbojpeg.dll'];
  return ['libturbojpeg.so.0', 'libturbojpeg.so'];
}

/**
 * Whether a libjpeg warning makes the bytes undecodable, as TF's decode_jpeg judges them. TF's
 * memory source fails the decode when libjpeg asks for bytes past the end of the buffer (unless
 * `try_recover_truncated`); libjpeg-turbo's pads the stream instead and warns "Premature end of
 * JPEG file" (JWRN_JPEG_EOF). Every other warning (extraneous bytes before a marker, a corrupt
 * but complete scan: "premature end of data segment") decodes, in TF and here. TurboJPEG keeps
 * only the first warning's text, so a stream whose first warning was another one counts as
 * truncated when no end-of-image marker follows its first scan.
 */
function fatalWarning(text: string, bytes: Uint8Array): boolean {
  return /^Premature end of JPEG file/.test(text) || !endsAfterScan(bytes);
}

/**
 * True when an EOI marker (FF D9) follows the first start-of-scan. The segments before it are
 * walked by their lengths, so an EXIF thumbnail's EOI does not count; entropy-coded data cannot
 * hold FF D9 (an FF there is followed by 00 or a restart marker).
 */
function endsAfterScan(bytes: Uint8Array): boolean {
  let i = 2; // after SOI
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) {
      i++; // extraneous bytes before a marker, which libjpeg skips too
      continue;
    }
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xda) break; // SOS
    i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
  }
  for (let j = bytes.length - 2; j > i; j--) {
    if (bytes[j] === 0xff && bytes[j + 1] === 0xd9) return true;
  }
  return false;
}

type Fn = (...args: unknown[]) => unknown;

async function load(): Promise<TurboJpeg | null> {
  let koffi: (typeof import('koffi'))['default'];
  try {
    koffi = (await import('koffi')).default;
  } catch {
    return null;
  }
  for (const path of candidatePaths()) {
    let lib: ReturnType<typeof koffi.load>;
    try {
      lib = koffi.load(path);
    } catch {
      continue;
    }
    const f = (decl: string): Fn => lib.func(decl) as unknown as Fn;
    const init = f('void *tjInitDecompress()');
    const header = f(
      'int tjDecompressHeader3(void *h, const uint8_t *buf, unsigned long size, _Out_ int *w, ' +
        '_Out_ int *ht, _Out_ int *subsamp, _Out_ int *colorspace)',
    );
    const decompress = f(
      'int tjDecompress2(void *h, const uint8_t *buf, unsigned long size, _Out_ uint8_t *dst, ' +
        'int w, int pitch, int ht, int pf, int flags)',
    );
    const errorText = f('const char *tjGetErrorStr2(void *h)');
    const errorCode = f('int tjGetErrorCode(void *h)');
    const handle = init();
    if (!handle) continue;
    const w = [0];
    const h = [0];
    const subsamp = [0];
    const colorspace = [0];
    return {
      path,
      decode(bytes, channels, dct, into) {
        if (header(handle, bytes, bytes.length, w, h, subsamp, colorspace) !== 0) {
          const text = String(errorText(handle));
          if (errorCode(handle) !== TJERR_WARNING || fatalWarning(text, bytes)) {
            throw new TurboJpegError(text);
          }
        }
        if (colorspace[0] === TJCS_CMYK || colorspace[0] === TJCS_YCCK) {
          // TurboJPEG does not convert these to RGB; sharp does.
          throw new TurboJpegError('CMYK/YCCK JPEG', true);
        }
        const width = w[0];
        const height = h[0];
        const size = width * height * channels;
        const data = into && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
        const flags = dct === 'INTEGER_ACCURATE' ? TJFLAG_ACCURATEDCT : TJFLAG_FASTDCT;
        const pf = channels === 1 ? TJPF_GRAY : TJPF_RGB;
        if (decompress(handle, bytes, bytes.length, data, width, 0, height, pf, flags) !== 0) {
          const text = String(errorText(handle));
          if (errorCode(handle) !== TJERR_WARNING || fatalWarning(text, bytes)) {
            throw new TurboJpegError(text);
          }
        }
        return { data, height, width, channels };
      },
    };
  }
  return null;
}

let loaded: Promise<TurboJpeg | null> | undefined;

/** This thread's TurboJPEG decoder, or null when libturbojpeg (or koffi) is not available. */
export function loadTurboJpeg(): Promise<TurboJpeg | null> {
  loaded ??= load().catch(() => null);
  return loaded;
}
