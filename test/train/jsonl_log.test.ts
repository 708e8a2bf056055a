import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlLogger, readJsonlLog } from '../../src/train/jsonl_log.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-jsonl-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('JsonlLogger appends one flushed JSON object per line, across reopenings', () => {
  const path = join(dir, 'log.jsonl');
  const a = new JsonlLogger(path);
  a.log('loss', 0.5, 1, 100.25);
  // Visible on disk before close: nothing is buffered in-process.
  assert.equal(
    readFileSync(path, 'utf8'),
    '{"step":1,"tag":"loss","value":0.5,"wall_time":100.25}\n',
  );
  a.log('loss', Number.NaN, 2, 101);
  a.close();
  const b = new JsonlLogger(path);
  b.log('lr', 0.1, 3, 102);
  b.close();
  assert.deepEqual(readJsonlLog(path), [
    { step: 1, tag: 'loss', value: 0.5, wall_time: 100.25 },
    { step: 2, tag: 'loss', value: null, wall_time: 101 },
    { step: 3, tag: 'lr', value: 0.1, wall_time: 102 },
  ]);
  assert.throws(() => b.log('x', 1, 4), /log\(\) after close\(\)/);
});

test('readJsonlLog names the bad line', () => {
  const path = join(dir, 'bad.jsonl');
  writeFileSync(path, '{"step":1,"tag":"a","value":1,"wall_time":1}\n\n{oops\n');
  assert.throws(() => readJsonlLog(path), /bad\.jsonl:3: not valid JSON/);
});
