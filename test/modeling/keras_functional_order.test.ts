import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kerasLayerOrder } from '../../src/modeling/keras_functional_order.js';

test('Keras order: decreasing depth to the outputs, ties by depth-first discovery', () => {
  // 0 input; 1→2→3 a chain; 4 a one-layer branch; 5 = add(4, 3); 6 hangs off the input, unused.
  const nodes = [
    { inputs: [] },
    { inputs: [0] },
    { inputs: [1] },
    { inputs: [2] },
    { inputs: [0] },
    { inputs: [4, 3] },
    { inputs: [0] },
  ];
  // By hand: depths 5:0, 4:1, 3:1, 2:2, 1:3, 0:4; discovery from 5 reaches 4 (2nd) before 3 (4th),
  // so the later-created 4 comes before 3; 6 feeds no output and is dropped.
  assert.deepEqual(kerasLayerOrder(nodes, [5]), [0, 1, 2, 4, 3, 5]);
  // Two outputs, 6 listed first: both have depth 0 and 6 was discovered first.
  assert.deepEqual(kerasLayerOrder(nodes, [6, 5]), [0, 1, 2, 4, 3, 6, 5]);
});

test('Keras order rejects a cycle and an unknown node', () => {
  assert.throws(() => kerasLayerOrder([{ inputs: [1] }, { inputs: [0] }], [1]), /cycle/);
  assert.throws(() => kerasLayerOrder([{ inputs: [3] }], [0]), /unknown node 3/);
});
