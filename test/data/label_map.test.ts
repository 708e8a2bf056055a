import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatPbtxtLabelMap,
  labelMapFormatOf,
  parseCsvLabelMap,
  parseJsonLabelMap,
  parsePbtxtLabelMap,
} from '../../src/data/label_map.js';
import { readLabelMap } from '../../src/data/label_map.js';
import { sharedData } from '../helpers.js';

const entries = (m: Map<number, { name: string; displayName?: string }>) =>
  [...m.entries()].map(([id, it]) => [id, it.name, it.displayName]);

test('pbtxt: items with id / name / display_name, comments, quotes and unknown fields', () => {
  const text = `# COCO-style
item {
  name: "/m/01g317"
  id: 1
  display_name: "person"
}
item { id: 2 name: 'bicycle' keypoints { id: 0 label: "x" } }
item: { id: 3; display_name: 'it\\'s' }
`;
  assert.deepEqual(entries(parsePbtxtLabelMap(text)), [
    [1, '/m/01g317', 'person'],
    [2, 'bicycle', undefined],
    [3, "it's", "it's"],
  ]);
  assert.throws(
    () => parsePbtxtLabelMap('item { name: "x" }', 'lm.pbtxt'),
    /lm.pbtxt:1: item has no id/,
  );
  assert.throws(
    () => parsePbtxtLabelMap('item { id: 1 name: "a" }\nitem { id: 1 name: "b" }'),
    /id 1 appears twice/,
  );
  assert.throws(
    () => parsePbtxtLabelMap('thing { id: 1 }', 'f'),
    /f:1: expected 'item', got 'thing'/,
  );
  // formatted text parses back to the same map
  const m = parsePbtxtLabelMap(text);
  assert.deepEqual(entries(parsePbtxtLabelMap(formatPbtxtLabelMap(m))), entries(m));
});

test('CSV and JSON label maps', () => {
  assert.deepEqual(entries(parseCsvLabelMap('id,name\n0,cat\n1,"dog, big",Dog\n\n')), [
    [0, 'cat', undefined],
    [1, 'dog, big', 'Dog'],
  ]);
  assert.throws(
    () => parseCsvLabelMap('0,cat\nx,dog', 'm.csv'),
    /m.csv:2: id must be an integer, got 'x'/,
  );
  assert.deepEqual(entries(parseJsonLabelMap('{"1": "person", "3": "car"}')), [
    [1, 'person', undefined],
    [3, 'car', undefined],
  ]);
  assert.deepEqual(entries(parseJsonLabelMap('["a", "b"]')), [
    [0, 'a', undefined],
    [1, 'b', undefined],
  ]);
  assert.deepEqual(entries(parseJsonLabelMap('[{"id": 5, "name": "x", "display_name": "X"}]')), [
    [5, 'x', 'X'],
  ]);
  assert.equal(labelMapFormatOf('a/b.pbtxt'), 'pbtxt');
  assert.throws(() => labelMapFormatOf('a/b.yaml'), /cannot tell the label map format/);
});

test('a COCO instances file reads as a label map of its categories', async () => {
  const m = await readLabelMap(sharedData('coco128', 'annotations', 'instances_train2017.json'));
  assert.equal(m.size, 80); // README: 80 categories, ids 1..90 with gaps
  assert.equal(m.get(1)?.name, 'person');
  assert.equal(m.get(90)?.name, 'toothbrush');
});
