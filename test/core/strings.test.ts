import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestMatch, closestMatches, didYouMean, levenshtein } from '../../src/core/strings.js';

/** Independent reference: the textbook full-matrix recursion. */
function referenceDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([]);
    for (let j = 0; j <= b.length; j++) {
      if (i === 0) d[i].push(j);
      else if (j === 0) d[i].push(i);
      else {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        d[i].push(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost));
      }
    }
  }
  return d[a.length][b.length];
}

test('levenshtein: classic hand-checked pairs', () => {
  assert.equal(levenshtein('kitten', 'sitting'), 3); // k->s, e->i, +g
  assert.equal(levenshtein('flaw', 'lawn'), 2); // -f, +n
  assert.equal(levenshtein('', 'abc'), 3);
  assert.equal(levenshtein('abc', ''), 3);
  assert.equal(levenshtein('same', 'same'), 0);
  assert.equal(levenshtein('decay_stepz', 'decay_steps'), 1);
});

test('levenshtein agrees with the full-matrix reference on random strings', () => {
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const word = () =>
    Array.from({ length: Math.floor(rand() * 8) }, () => 'abcd'[Math.floor(rand() * 4)]).join('');
  for (let n = 0; n < 300; n++) {
    const a = word();
    const b = word();
    assert.equal(levenshtein(a, b), referenceDistance(a, b), `${a} vs ${b}`);
    assert.equal(levenshtein(a, b), levenshtein(b, a));
  }
});

test('closestMatches: nearest first, ties in candidate order, far names left out', () => {
  const keys = ['decay_steps', 'decay_rate', 'initial_learning_rate', 'alpha', 'offset'];
  assert.deepEqual(closestMatches('decay_stepz', keys), ['decay_steps']);
  assert.deepEqual(closestMatches('alpah', keys), ['alpha']);
  assert.deepEqual(closestMatches('zzzzzz', keys), []);
  assert.deepEqual(closestMatches('ab', ['ac', 'xb', 'abc']), ['ac', 'xb', 'abc']);
  assert.deepEqual(closestMatches('ab', ['ac', 'xb', 'abc'], { limit: 2 }), ['ac', 'xb']);
  assert.equal(closestMatch('RESNET', ['resnet', 'mobilenet']), 'resnet');
});

test('didYouMean formats one or several suggestions', () => {
  assert.equal(didYouMean('sgdd', ['sgd', 'adam']), " (did you mean 'sgd'?)");
  assert.equal(didYouMean('ab', ['ac', 'xb']), " (did you mean 'ac' or 'xb'?)");
  assert.equal(didYouMean('ab', ['ac', 'xb', 'abc']), " (did you mean 'ac', 'xb' or 'abc'?)");
  assert.equal(didYouMean('zzzz', ['sgd']), '');
});
