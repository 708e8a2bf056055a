/**
 * Video files decoded through the system ffmpeg (src/data/decoders/video_file.ts): frames of
 * videos generated here come back in order, exactly for a lossless codec and close for lossy
 * ones; trim / fps / minResize select and resize as ffmpeg's filters do; frame folders decode in
 * name order; a missing ffmpeg, a missing file and a file that is not a video give one-line errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeFrameFolder,
  decodeVideoFile,
  decodeVideoPath,
  parsePpmStream,
} from '../../../src/data/decoders/video_file.js';
import { encodePng } from '../../../src/data/decoders/image.js';
import { frameColour, generatedFrames, writeVideo } from '../../video_fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-video-file-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const T = 6;
const H = 16;
const W = 24;
const frames = generatedFrames(T, H, W);
const plane = H * W * 3;

test('a lossless (ffv1 .mkv) video decodes to the exact frames, in order', async () => {
  const file = join(dir, 'exact.mkv');
  writeVideo(file, frames, { t: T, h: H, w: W }, 'ffv1');
  const got = await decodeVideoFile(file);
  assert.equal(got.length, T);
  for (let t = 0; t < T; t++) {
    assert.deepEqual([got[t].height, got[t].width, got[t].channels], [H, W, 3]);
    assert.deepEqual(got[t].data, frames.subarray(t * plane, (t + 1) * plane), `frame ${t}`);
  }
});

for (const [ext, codec, tol] of [
  ['mp4', 'libx264', 2],
  ['webm', 'libvpx', 24],
  ['avi', 'mjpeg', 24],
] as const) {
  test(`a .${ext} (${codec}) video decodes to its frames, in order`, async () => {
    const file = join(dir, `clip.${ext}`);
    writeVideo(file, frames, { t: T, h: H, w: W }, codec);
    const got = await decodeVideoFile(file);
    assert.equal(got.length, T);
    for (let t = 0; t < T; t++) {
      // A background pixel far from the square has frame t's colour.
      const at = ((H - 2) * W + 1) * 3;
      const want = frameColour(t);
      for (let c = 0; c < 3; c++) {
        assert.ok(
          Math.abs(got[t].data[at + c] - want[c]) <= tol,
          `frame ${t} channel ${c}: ${got[t].data[at + c]} vs ${want[c]}`,
        );
      }
    }
  });
}

test('trim, fps and minResize: the frames ffmpeg selects, short side resized', async () => {
  const file = join(dir, 'long.mkv');
  const n = 20;
  writeVideo(file, generatedFrames(n, H, W), { t: n, h: H, w: W }, 'ffv1', 10);
  // 10 fps: [0.5 s, 1.5 s) holds frames 5..14.
  const trimmed = await decodeVideoFile(file, { start: 0.5, end: 1.5 });
  assert.equal(trimmed.length, 10);
  assert.deepEqual([...trimmed[0].data.subarray(0, 3)], frameColour(5));
  // 5 fps keeps every second frame.
  const halved = await decodeVideoFile(file, { fps: 5 });
  assert.equal(halved.length, 10);
  assert.deepEqual([...halved[1].data.subarray(0, 3)], frameColour(2));
  // 16x24 with short side 32 -> 32x48.
  const big = await decodeVideoFile(file, { minResize: 32 });
  assert.deepEqual([big[0].height, big[0].width], [32, 48]);
});

test('a frame folder decodes in name order; options for files are refused for folders', async () => {
  const folder = join(dir, 'frames');
  mkdirSync(folder);
  for (let t = 0; t < 3; t++) {
    const png = await encodePng({
      data: frames.slice(t * plane, (t + 1) * plane),
      height: H,
      width: W,
      channels: 3,
    });
    writeFileSync(join(folder, `frame_${String(t).padStart(3, '0')}.png`), png);
  }
  writeFileSync(join(folder, 'notes.txt'), 'not a frame');
  const got = await decodeVideoPath(folder);
  assert.equal(got.length, 3);
  for (let t = 0; t < 3; t++) {
    assert.deepEqual(got[t].data, frames.subarray(t * plane, (t + 1) * plane));
  }
  await assert.rejects(decodeVideoPath(folder, { fps: 5 }), /fps applies to video files/);
  await assert.rejects(decodeFrameFolder(dir + '/nope'), /cannot read frame folder .*ENOENT/);
});

test('one-line errors: ffmpeg missing, no such file, not a video', async () => {
  const file = join(dir, 'exact.mkv');
  await assert.rejects(
    decodeVideoFile(file, { ffmpeg: join(dir, 'no-ffmpeg') }),
    (err: Error) =>
      /ffmpeg was not found .*apt-get install ffmpeg/.test(err.message) &&
      !err.message.includes('\n'),
  );
  await assert.rejects(
    decodeVideoFile(join(dir, 'missing.mp4')),
    /cannot read video '.*missing\.mp4': no such file or directory/,
  );
  const text = join(dir, 'notes.mp4');
  writeFileSync(text, 'this is not a video\n');
  await assert.rejects(decodeVideoFile(text), (err: Error) => {
    assert.match(err.message, /notes\.mp4: not a video ffmpeg can decode \(.+\)/);
    assert.ok(!err.message.includes('\n'), err.message);
    return true;
  });
  await assert.rejects(decodeVideoFile(file, { fps: 0 }), /fps must be > 0/);
  // 6 frames of 16x24x3 = 6912 bytes: a 5000-byte budget stops ffmpeg.
  await assert.rejects(
    decodeVideoFile(file, { maxBytes: 5000 }),
    /cannot read video '.*exact\.mkv': the decoded frames pass .* MiB; trim the video/,
  );
  assert.equal((await decodeVideoFile(file, { maxBytes: 6912 + 6 * 20 })).length, T);
});

test('PPM stream parsing: frames of different sizes, truncated output refused', () => {
  const enc = (w: number, h: number, v: number) => {
    const head = new TextEncoder().encode(`P6\n${w} ${h}\n255\n`);
    const out = new Uint8Array(head.length + w * h * 3);
    out.set(head);
    out.fill(v, head.length);
    return out;
  };
  const a = enc(2, 1, 7);
  const b = enc(1, 3, 9);
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  const got = parsePpmStream(both, 'x');
  assert.deepEqual(
    got.map((f) => [f.height, f.width, f.data[0], f.data.length]),
    [
      [1, 2, 7, 6],
      [3, 1, 9, 9],
    ],
  );
  assert.throws(
    () => parsePpmStream(both.subarray(0, both.length - 1), 'x'),
    /ends inside a frame/,
  );
});
