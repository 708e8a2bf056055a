import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { crc32c, maskedCrc32c } from '../../src/core/crc32c.js';
import { sharedData } from '../helpers.js';

test('crc32c matches the RFC 3720 check values', () => {
  // RFC 3720 B.4: 32 bytes of zeros -> 0x8a9136aa; 32 bytes of 0xff -> 0x62a8ab43;
  // 0..31 ascending -> 0x46dd794e. "123456789" -> 0xe3069283 (the standard check value).
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
});

test('crc32c can continue over split buffers', () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
  assert.equal(crc32c(data.subarray(333), crc32c(data.subarray(0, 333))), crc32c(data));
});

test('masked crc follows TensorFlow masking', () => {
  const c = crc32c(new TextEncoder().encode('123456789'));
  const expected = ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
  assert.equal(maskedCrc32c(new TextEncoder().encode('123456789')), expected);
});

test('masked crc equals the length CRC TensorFlow wrote in a golden TFRecord', () => {
  const buf = readFileSync(sharedData('tfrecord-golden', 'classification.tfrecord'));
  const header = new Uint8Array(buf.buffer, buf.byteOffset, 12);
  assert.equal(maskedCrc32c(header.subarray(0, 8)), buf.readUInt32LE(8));
});
