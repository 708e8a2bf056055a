/**
 * `videosToTfRecord` (src/data/converters/video.ts): videos generated here (video files encoded by
 * ffmpeg, frame folders) in a class-folder tree and in a DMVR CSV become Model Garden's video
 * SequenceExamples (clip/label/index, clip/label/text, image/encoded), frames in order; the
 * records go through the video parser's evaluation path; bad input names its file or CSV line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsv, videosToTfRecord } from '../../../src/data/converters/video.js';
import { decodeImage, encodePng } from '../../../src/data/decoders/image.js';
import { VideoDecoder } from '../../../src/data/decoders/video.js';
import { readLabelMap } from '../../../src/data/label_map.js';
import { createVideoParser } from '../../../src/data/parsers/video_parser.js';
import { Rng } from '../../../src/core/random.js';
import { readTFRecords } from '../../../src/data/tfrecord/index.js';
import { frameColour, generatedFrames, writeVideo } from '../../video_fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-video-conv-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const H = 16;
const W = 24;
const plane = H * W * 3;

async function records(files: string[]) {
  const dec = new VideoDecoder();
  const out = [];
  for await (const r of readTFRecords(files)) out.push({ ...dec.decode(r.data), bytes: r.data });
  return out;
}

/** Mean absolute difference of a decoded JPEG frame from the original. */
async function meanDiff(jpeg: Uint8Array, want: Uint8Array): Promise<number> {
  const img = await decodeImage(jpeg, { channels: 3 });
  assert.deepEqual([img.height, img.width], [H, W]);
  let s = 0;
  for (let i = 0; i < want.length; i++) s += Math.abs(img.data[i] - want[i]);
  return s / want.length;
}

test('a class-folder tree of video files and frame folders -> SequenceExamples', async () => {
  const root = join(dir, 'tree');
  mkdirSync(join(root, 'jumping'), { recursive: true });
  mkdirSync(join(root, 'archery', 'clip_b_frames'), { recursive: true });
  const a = generatedFrames(5, H, W);
  writeVideo(join(root, 'jumping', 'clip_a.mkv'), a, { t: 5, h: H, w: W }, 'ffv1');
  const c = generatedFrames(7, H, W);
  writeVideo(join(root, 'jumping', 'clip_c.mp4'), c, { t: 7, h: H, w: W }, 'libx264');
  writeFileSync(join(root, 'jumping', 'notes.txt'), 'not a video');
  const pngs: Uint8Array[] = [];
  for (let t = 0; t < 3; t++) {
    const png = await encodePng({
      data: a.slice(t * plane, (t + 1) * plane),
      height: H,
      width: W,
      channels: 3,
    });
    pngs.push(png);
    writeFileSync(join(root, 'archery', 'clip_b_frames', `f${t}.png`), png);
  }
  const s = await videosToTfRecord({ inputDir: root, outputPrefix: join(dir, 'out', 'tree') });
  assert.equal(s.records, 3);
  assert.deepEqual(s.classNames, ['archery', 'jumping']);
  assert.deepEqual(s.skipped, [join(root, 'jumping', 'notes.txt')]);
  const map = await readLabelMap(s.labelMapPath);
  assert.deepEqual(
    [...map.values()].map((it) => [it.id, it.name]),
    [
      [0, 'archery'],
      [1, 'jumping'],
    ],
  );
  const recs = await records(s.files);
  assert.deepEqual(
    recs.map((r) => [r.labels[0], r.frames.length]),
    [
      [0, 3],
      [1, 5],
      [1, 7],
    ],
  );
  // Frame folders keep their files' bytes; video frames are JPEGs of the decoded frames.
  for (let t = 0; t < 3; t++) assert.deepEqual(recs[0].frames[t], pngs[t]);
  for (let t = 0; t < 5; t++) {
    const d = await meanDiff(recs[1].frames[t], a.subarray(t * plane, (t + 1) * plane));
    assert.ok(d < 3, `clip_a frame ${t}: mean |diff| ${d}`);
  }
  // The records are what the video parser reads (evaluation: central clip, resize, crop).
  const parse = createVideoParser({
    feature_shape: [4, 16, 16, 3],
    num_classes: 2,
    min_image_size: 16,
  });
  const out = await parse(recs[2].bytes, {
    training: false,
    rng: new Rng(0),
    index: 0,
    where: 'x',
  });
  assert.deepEqual(out.image.shape, [4, 16, 16, 3]);
  assert.deepEqual([...out.label.data], [0, 1]);
});

test('a DMVR CSV (video_path,start,end,label) with trims, and a given label map', async () => {
  const videos = join(dir, 'csv_videos');
  mkdirSync(videos);
  const n = 20;
  writeVideo(join(videos, 'long.mkv'), generatedFrames(n, H, W), { t: n, h: H, w: W }, 'ffv1', 10);
  const csv = join(dir, 'train.csv');
  writeFileSync(
    csv,
    'video_path,start,end,label\nlong.mkv,0.5,1.5,"zumba"\nlong.mkv,,,abseiling\n',
  );
  const labelMap = join(dir, 'labels.pbtxt');
  writeFileSync(
    labelMap,
    "item { id: 0 name: 'abseiling' }\nitem { id: 1 name: 'yoga' }\nitem { id: 2 name: 'zumba' }\n",
  );
  const s = await videosToTfRecord({
    csv,
    videoRoot: videos,
    outputPrefix: join(dir, 'out', 'csv'),
    labelMap,
  });
  const recs = await records(s.files);
  assert.deepEqual(
    recs.map((r) => [r.labels[0], r.frames.length]),
    [
      [2, 10],
      [0, n],
    ],
  );
  // The trimmed clip starts at frame 5 (10 fps, 0.5 s).
  const first = await decodeImage(recs[0].frames[0], { channels: 3 });
  const want = frameColour(5);
  const at = ((H - 2) * W + 1) * 3;
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(first.data[at + c] - want[c]) <= 3);
  assert.equal(
    readFileSync(s.labelMapPath, 'utf8'),
    readFileSync(join(dir, 'out', 'csv.label_map.pbtxt'), 'utf8'),
  );
  assert.deepEqual(s.classNames, ['abseiling', 'yoga', 'zumba']);
});

test('bad input: one-line errors naming the CSV line or file', async () => {
  const videos = join(dir, 'csv_videos');
  const bad = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const out = join(dir, 'out', 'bad');
  await assert.rejects(
    videosToTfRecord({ csv: bad('a.csv', 'path,label\nx,y\n'), outputPrefix: out }),
    /a\.csv: the header must name video_path and label/,
  );
  await assert.rejects(
    videosToTfRecord({
      csv: bad('b.csv', 'video_path,start,end,label\nlong.mkv,zero,1,yoga\n'),
      videoRoot: videos,
      outputPrefix: out,
    }),
    /b\.csv line 2: start 'zero' is not a time in seconds/,
  );
  await assert.rejects(
    videosToTfRecord({
      csv: bad('c.csv', 'video_path,label\nmissing.mp4,yoga\n'),
      videoRoot: videos,
      outputPrefix: out,
    }),
    /c\.csv line 2: cannot read video '.*missing\.mp4': no such file or directory/,
  );
  await assert.rejects(
    videosToTfRecord({ inputDir: join(dir, 'tree'), csv: join(dir, 'c.csv'), outputPrefix: out }),
    /give an input folder or a CSV \(one of them\)/,
  );
  assert.deepEqual(parseCsv('a,"b ""q"", c"\r\n1,2\n', 'x'), [
    ['a', 'b "q", c'],
    ['1', '2'],
  ]);
});
