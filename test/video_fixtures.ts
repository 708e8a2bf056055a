/**
 * Small generated videos for the video tests: frames drawn here, encoded by the system ffmpeg
 * (no downloaded data).
 */
import { spawnSync } from 'node:child_process';

/** T frames of h x w RGB: a flat colour that changes with t, and a white square moving right. */
export function generatedFrames(t: number, h: number, w: number): Uint8Array {
  const out = new Uint8Array(t * h * w * 3);
  for (let f = 0; f < t; f++) {
    const bg = frameColour(f);
    const x0 = Math.min(w - 4, 2 + 2 * f);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = ((f * h + y) * w + x) * 3;
        const inSquare = y >= 4 && y < 8 && x >= x0 && x < x0 + 4;
        for (let c = 0; c < 3; c++) out[at + c] = inSquare ? 255 : bg[c];
      }
    }
  }
  return out;
}

/** The background colour of frame f of {@link generatedFrames}. */
export function frameColour(f: number): [number, number, number] {
  return [(20 + 23 * f) % 256, 90, (200 + 37 * f) % 256];
}

/**
 * Encodes RGB frames [T, h, w, 3] into `path` with ffmpeg: `codec` 'ffv1' (lossless), 'libx264'
 * (mp4), 'libvpx' (webm) or 'mjpeg' (avi).
 */
export function writeVideo(
  path: string,
  frames: Uint8Array,
  shape: { t: number; h: number; w: number },
  codec: 'ffv1' | 'libx264' | 'libvpx' | 'mjpeg',
  fps = 10,
): void {
  const args = ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24'];
  args.push('-s', `${shape.w}x${shape.h}`, '-r', String(fps), '-i', 'pipe:0', '-c:v', codec);
  if (codec === 'libx264') args.push('-pix_fmt', 'yuv444p', '-qp', '0');
  if (codec === 'libvpx') args.push('-b:v', '1M');
  if (codec === 'mjpeg') args.push('-q:v', '2');
  args.push(path);
  const r = spawnSync('ffmpeg', args, { input: frames });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.toString()}`);
}
