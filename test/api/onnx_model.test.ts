/**
 * `loadOnnxModel` (src/api/onnx_model.ts): an ONNX file from `toOnnx` carries the model's
 * description in metadata_props, and predicts as the tfjs model does; `withProviderFallback`
 * takes the first execution provider that opens a session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import {
  createModel,
  loadOnnxModel,
  toOnnx,
  withProviderFallback,
  ONNX_METADATA_KEY,
  type ClassificationPrediction,
  type OrtRuntime,
} from '../../src/index.js';
import { initBackend } from '../../src/core/backend/index.js';
import { appendOnnxMetadata, readOnnxMetadata } from '../../src/export/onnx_metadata.js';
import { onnxRoot } from '../../src/engine/onnx_proto.js';

await initBackend('cpu');

/** A 40x56 PNG: a bright disc on a dark gradient. */
async function testPng(): Promise<Uint8Array> {
  const h = 40;
  const w = 56;
  const px = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inDisc = (x - 30) ** 2 + (y - 18) ** 2 < 12 ** 2;
      px.set(inDisc ? [250, 200, 40] : [x * 3, y * 4, 60], (y * w + x) * 3);
    }
  }
  return new Uint8Array(
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

test('metadata_props appended to a serialised model read back, and the model still decodes', () => {
  const ModelProto = onnxRoot().lookupType('onnx.ModelProto');
  const bytes = ModelProto.encode(
    ModelProto.fromObject({ ir_version: 8, producer_name: 'p', doc_string: 'd' }),
  ).finish();
  const out = appendOnnxMetadata(bytes, { a: 'x', b: '{"k":[1,2]}' });
  assert.deepEqual(readOnnxMetadata(out), { a: 'x', b: '{"k":[1,2]}' });
  assert.deepEqual(readOnnxMetadata(bytes), {});
  const back = ModelProto.toObject(ModelProto.decode(out)) as Record<string, unknown>;
  assert.equal(back.producer_name, 'p');
  assert.equal(back.doc_string, 'd');
  assert.throws(() => readOnnxMetadata(Uint8Array.of(0x0a, 0x05, 1)), /not a valid ONNX model/);
});

test('loadOnnxModel predicts as the tfjs model: top-5 labels and scores to 1e-4', async () => {
  const vm = await createModel('compact_resnet_shapes');
  const bytes = await toOnnx(vm);
  const meta = JSON.parse(readOnnxMetadata(bytes)[ONNX_METADATA_KEY]) as Record<string, unknown>;
  assert.equal(meta.task_type, 'image_classification');
  assert.equal(meta.experiment, 'compact_resnet_shapes');
  const om = await loadOnnxModel(bytes);
  assert.deepEqual(om.preprocessing, vm.preprocessing);
  const png = await testPng();
  const want = (await vm.predict(png)) as ClassificationPrediction;
  const got = (await om.predict(png)) as ClassificationPrediction;
  assert.equal(got.kind, 'classification');
  assert.deepEqual(
    got.classes.map((c) => c.label),
    want.classes.map((c) => c.label),
  );
  got.classes.forEach((c, i) =>
    assert.ok(
      Math.abs(c.score - want.classes[i].score) <= 1e-4,
      `${c.score} vs ${want.classes[i].score}`,
    ),
  );
  // A batch of two through the dynamic batch axis gives the same per image.
  const two = (await om.predictBatch([png, png])) as ClassificationPrediction[];
  assert.deepEqual(two[1].classes, got.classes);
  await om.dispose();
  await vm.dispose();
  // A file without the metadata is refused with a message that says why; a cut one too.
  const ModelProto = onnxRoot().lookupType('onnx.ModelProto');
  const bare = ModelProto.encode(ModelProto.fromObject({ ir_version: 8 })).finish();
  await assert.rejects(loadOnnxModel(bare), /no 'vision_garden' metadata/);
  await assert.rejects(loadOnnxModel(bytes.subarray(0, bytes.length - 3)), /not a valid ONNX/);
});

test('withProviderFallback skips a provider that cannot open the session', async () => {
  const vm = await createModel('compact_resnet_shapes');
  const bytes = await toOnnx(vm);
  await vm.dispose();
  const chosen: [string, string[]][] = [];
  const runtime = withProviderFallback(
    ort as unknown as OrtRuntime,
    ['no-such-provider', 'cpu'],
    (p, f) => chosen.push([p, f]),
  );
  const om = await loadOnnxModel(bytes, { runtime });
  assert.equal(chosen.length, 1);
  assert.equal(chosen[0][0], 'cpu');
  assert.equal(chosen[0][1].length, 1);
  assert.match(chosen[0][1][0], /^no-such-provider: /);
  await om.dispose();
  const none = withProviderFallback(ort as unknown as OrtRuntime, ['no-such-provider']);
  await assert.rejects(
    loadOnnxModel(bytes, { runtime: none }),
    /no execution provider could run the model \(no-such-provider: /,
  );
});
