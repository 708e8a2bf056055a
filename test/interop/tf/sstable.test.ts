/**
 * The table format under TensorBundle's `.index` and the snappy decompressor: hand-derived
 * snappy streams (format_description.txt), multi-block tables with restart points, and a table
 * whose blocks are snappy-compressed by an independent test-only compressor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snappyDecompress } from '../../../src/interop/tf/snappy.js';
import { buildTable, readTable } from '../../../src/interop/tf/sstable.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

test('snappy: hand-encoded literals and copies', () => {
  // "abcabcabcabc": length 12; literal "abc" (tag (3-1)<<2 = 0x08); copy-1 len 9 offset 3
  // (tag ((9-4)<<2)|1 = 0x15, offset byte 3).
  assert.equal(
    text(snappyDecompress(Uint8Array.of(12, 0x08, 97, 98, 99, 0x15, 3))),
    'abcabcabcabc',
  );
  // Overlapping run: "a" then copy-2 (tag ((20-1)<<2)|2 = 0x4e) offset 1 (LE16) → 21 'a'.
  assert.equal(text(snappyDecompress(Uint8Array.of(21, 0x00, 97, 0x4e, 1, 0))), 'a'.repeat(21));
  // Copy-4 (tag ((3-1)<<2)|3 = 0x0b) offset 2 (LE32): "xy" + "xyx".
  assert.equal(text(snappyDecompress(Uint8Array.of(5, 0x04, 120, 121, 0x0b, 2, 0, 0, 0))), 'xyxyx');
  // Long literal: tag 60<<2 = 0xf0, one length byte (len-1 = 69).
  const long = new Uint8Array(2 + 1 + 70);
  long.set([70, 0xf0, 69]);
  long.fill(122, 3);
  assert.equal(text(snappyDecompress(long)), 'z'.repeat(70));
  assert.throws(
    () => snappyDecompress(Uint8Array.of(5, 0x01, 5), 'blk'),
    /blk: corrupt snappy data/,
  );
  assert.throws(() => snappyDecompress(Uint8Array.of(4, 0x08, 97, 98, 99)), /corrupt snappy/);
});

/** A small independent snappy compressor (greedy 4-byte matches, copy-2 elements). */
function snappyCompress(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let n = src.length;
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  const literal = (from: number, to: number) => {
    for (let s = from; s < to; s += 60) {
      const len = Math.min(60, to - s);
      out.push((len - 1) << 2, ...src.subarray(s, s + len));
    }
  };
  const last = new Map<number, number>();
  let lit = 0;
  let i = 0;
  while (i + 4 <= src.length) {
    const h = src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24);
    const cand = last.get(h);
    last.set(h, i);
    if (cand !== undefined && i - cand < 65536) {
      let len = 4;
      while (i + len < src.length && len < 64 && src[cand + len] === src[i + len]) len++;
      literal(lit, i);
      const off = i - cand;
      out.push(((len - 1) << 2) | 2, off & 0xff, off >>> 8);
      i += len;
      lit = i;
    } else {
      i++;
    }
  }
  literal(lit, src.length);
  return Uint8Array.from(out);
}

const keys = Array.from(
  { length: 300 },
  (_, i) => `model/layer_${String(i).padStart(4, '0')}/kernel`,
);
const entries = keys.map((k, i) => ({
  key: bytes(k),
  value: bytes(`value-${i}-`.repeat(1 + (i % 5))),
}));

test('table: many blocks with restart points read back in order', () => {
  const table = buildTable(entries, { blockSize: 256, restartInterval: 4 });
  const back = readTable(table, 't.index');
  assert.deepEqual(
    back.map((e) => [text(e.key), text(e.value)]),
    entries.map((e) => [text(e.key), text(e.value)]),
  );
  assert.throws(() => buildTable([entries[1], entries[0]]), /strictly increasing/);
});

test('table: snappy-compressed blocks (type 1) are decompressed and checksummed', () => {
  const plain = buildTable(entries, { blockSize: 1024 });
  const packed = buildTable(entries, { blockSize: 1024, snappy: snappyCompress });
  assert.ok(packed.length < plain.length * 0.8, `${packed.length} vs ${plain.length}`);
  const back = readTable(packed, 'packed.index');
  assert.deepEqual(
    back.map((e) => text(e.key)),
    keys,
  );
  assert.deepEqual(
    back.map((e) => text(e.value)),
    entries.map((e) => text(e.value)),
  );
  const bad = packed.slice();
  bad[40] ^= 0x04;
  assert.throws(
    () => readTable(bad, 'packed.index'),
    /packed\.index: data block at offset 0: block checksum mismatch/,
  );
});
