/**
 * `vision-garden data video-to-tfrecord` end to end: a class-folder tree with a video file
 * (encoded here by ffmpeg) and a DMVR CSV with a trim and `--fps`, read back as Model Garden's
 * video SequenceExamples; flags that contradict each other are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VideoDecoder } from '../../src/data/decoders/video.js';
import { readTFRecords } from '../../src/data/tfrecord/index.js';
import { generatedFrames, writeVideo } from '../video_fixtures.js';
import { runData } from './run_data.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-video-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

async function frameCounts(prefix: string, shards: number) {
  const files = Array.from(
    { length: shards },
    (_, i) =>
      `${prefix}-${String(i).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.tfrecord`,
  );
  const dec = new VideoDecoder();
  const out: [number, number][] = [];
  for await (const r of readTFRecords(files)) {
    const ex = dec.decode(r.data);
    out.push([ex.labels[0], ex.frames.length]);
  }
  return out;
}

test('video-to-tfrecord: a folder tree of video files, and a DMVR CSV with --fps', async () => {
  const root = join(dir, 'videos');
  mkdirSync(join(root, 'left'), { recursive: true });
  mkdirSync(join(root, 'right'), { recursive: true });
  const f = generatedFrames(6, 16, 16);
  writeVideo(join(root, 'left', 'a.mp4'), f, { t: 6, h: 16, w: 16 }, 'libx264');
  writeVideo(join(root, 'right', 'b.avi'), f, { t: 6, h: 16, w: 16 }, 'mjpeg');
  const out = await runData([
    'video-to-tfrecord',
    '--input',
    root,
    '--output',
    join(dir, 'out', 'tree'),
    '--num_shards',
    '2',
  ]);
  assert.match(out, /wrote 2 examples to 2 shard\(s\)/);
  assert.match(out, /2 classes: left, right/);
  assert.match(out, /label map: .*tree\.label_map\.pbtxt/);
  assert.deepEqual(await frameCounts(join(dir, 'out', 'tree'), 2), [
    [0, 6],
    [1, 6],
  ]);

  const csv = join(dir, 'list.csv');
  writeFileSync(csv, 'video_path,start,end,label\nleft/a.mp4,0.2,,left\nright/b.avi,,,right\n');
  const out2 = await runData([
    'video-to-tfrecord',
    '--csv',
    csv,
    '--video_root',
    root,
    '--fps',
    '5',
    '--output',
    join(dir, 'out', 'csv'),
  ]);
  assert.match(out2, /wrote 2 examples/);
  // 6 frames at 10 fps = 0.6 s: from 0.2 s at 5 fps 2 frames, the whole video at 5 fps 3.
  assert.deepEqual(await frameCounts(join(dir, 'out', 'csv'), 1), [
    [0, 2],
    [1, 3],
  ]);
  await assert.rejects(
    runData([
      'video-to-tfrecord',
      '--input',
      root,
      '--video_root',
      root,
      '--output',
      join(dir, 'x'),
    ]),
    /video_root applies to a CSV input/,
  );
  await assert.rejects(
    runData(['video-to-tfrecord', '--input', root, '--fps', '0', '--output', join(dir, 'x')]),
    /expected a positive number, got '0'/,
  );
});
