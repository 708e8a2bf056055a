/**
 * The prediction server (src/api/serve.ts, `vision-garden serve`) over real HTTP on loopback: a
 * bounded burst of 400 requests, 32 at a time, mixing valid images (raw bytes and multipart)
 * with bad ones. Every valid answer equals the library's in-process prediction of the same
 * bytes, every bad request gets its 4xx, no tensor is leaked and the heap does not grow. The
 * CLI finishes a request in flight on SIGTERM and exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, saveModel, type ClassificationPrediction } from '../../src/index.js';
import { multipartFile, PredictionServer } from '../../src/api/serve.js';
import { initBackend } from '../../src/core/backend/index.js';
import { REPO_ROOT } from '../helpers.js';
import { noiseImage, randomizeWeights } from '../fixture_writers.js';

await initBackend('cpu');
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function multipart(file: Buffer, boundary: string): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n`),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n` +
        'Content-Type: image/png\r\n\r\n',
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

test('multipartFile takes the file part, byte for byte', () => {
  const file = Buffer.from([0, 13, 10, 45, 45, 255, 13, 10]); // CR LF '--' inside the data
  assert.deepEqual(
    multipartFile(multipart(file, 'XyZ'), 'multipart/form-data; boundary=XyZ'),
    file,
  );
  assert.deepEqual(
    multipartFile(multipart(file, 'a b'), 'multipart/form-data; boundary="a b"'),
    file,
  );
  assert.throws(() => multipartFile(file, 'multipart/form-data'), /without a boundary/);
});

interface Case {
  path: string;
  method: string;
  body?: Buffer;
  type?: string;
  /** Expected status, and for 200 the expected prediction. */
  status: number;
  expect?: ClassificationPrediction;
  error?: RegExp;
}

async function call(port: number, c: Case): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${c.path}`, {
    method: c.method,
    body: c.body,
    headers: c.type ? { 'content-type': c.type } : {},
  });
  return { status: res.status, json: await res.json() };
}

function assertPrediction(got: unknown, want: ClassificationPrediction, what: string): void {
  const g = got as ClassificationPrediction;
  assert.equal(g.kind, 'classification', what);
  assert.deepEqual(
    g.classes.map((c) => [c.id, c.label]),
    want.classes.map((c) => [c.id, c.label]),
    what,
  );
  g.classes.forEach((c, i) => {
    assert.ok(Math.abs(c.score - want.classes[i].score) < 1e-4, `${what}: class ${i} score`);
  });
}

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

test('a burst of 400 requests, 32 concurrent, valid and bad: answers, 4xx, flat memory', async () => {
  // Compiled on ONNX Runtime, as `vision-garden serve` runs by default.
  const vm = await createModel('compact_resnet_shapes', { compiled: true });
  randomizeWeights(vm, 7);
  const images = await Promise.all([
    noiseImage(32, 32, 1),
    noiseImage(40, 56, 2),
    noiseImage(64, 48, 3, true),
    noiseImage(17, 90, 4),
  ]);
  // Expected: the same weights predicting eagerly on the tfjs backend, one image at a time.
  const eager = await createModel('compact_resnet_shapes');
  randomizeWeights(eager, 7);
  const expected: ClassificationPrediction[] = [];
  for (const img of images) {
    const p = await eager.predict(new Uint8Array(img), { topK: 3 });
    expected.push(p as ClassificationPrediction);
  }
  await eager.dispose();
  const big = Buffer.alloc(70_000, 7);
  const cases: Case[] = [
    ...images.map((body, i) => ({
      path: '/predict?top_k=3',
      method: 'POST',
      body,
      type: 'application/octet-stream',
      status: 200,
      expect: expected[i],
    })),
    {
      path: '/predict?top_k=3',
      method: 'POST',
      body: multipart(images[1], 'b0undary'),
      type: 'multipart/form-data; boundary=b0undary',
      status: 200,
      expect: expected[1],
    },
    {
      path: '/predict',
      method: 'POST',
      body: Buffer.from('not an image'),
      status: 400,
      error: /cannot decode the image/,
    },
    {
      path: '/predict',
      method: 'POST',
      body: images[0].subarray(0, 60),
      status: 400,
      error: /cannot decode the image/,
    },
    {
      path: '/predict',
      method: 'POST',
      body: Buffer.alloc(0),
      status: 400,
      error: /empty request body/,
    },
    {
      path: '/predict?top_k=0',
      method: 'POST',
      body: images[0],
      status: 400,
      error: /top_k must be a positive integer/,
    },
    {
      path: '/predict',
      method: 'POST',
      body: big,
      status: 413,
      error: /exceeds the limit of 65536 bytes/,
    },
    { path: '/predict', method: 'GET', status: 405, error: /use POST/ },
    { path: '/elsewhere', method: 'POST', body: images[0], status: 404, error: /no route/ },
  ];
  const server = new PredictionServer(vm, {
    maxBodyBytes: 65536,
    concurrency: 2,
    maxBatch: 4,
    batchWaitMs: 2,
    maxQueue: 1000,
  });
  const port = await server.listen(0);
  try {
    const burst = async (n: number, parallel: number) => {
      const latencies: number[] = [];
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const i = next++;
          const c = cases[i % cases.length];
          const t0 = performance.now();
          const r = await call(port, c);
          latencies.push(performance.now() - t0);
          const what = `request ${i}: ${c.method} ${c.path} (case ${i % cases.length})`;
          assert.equal(r.status, c.status, `${what}: ${JSON.stringify(r.json)}`);
          if (c.expect) assertPrediction(r.json, c.expect, what);
          else assert.match((r.json as { error: string }).error, c.error!, what);
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: parallel }, worker));
      return { latencies, seconds: (performance.now() - t0) / 1000 };
    };

    await burst(100, 32); // warm-up: caches, connection pools
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const tensors0 = tf.memory().numTensors;
    const { latencies, seconds } = await burst(400, 32);
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    assert.equal(tf.memory().numTensors, tensors0, 'tensors leaked by the burst');
    assert.ok(heapGrowth < 16 * 2 ** 20, `heap grew by ${(heapGrowth / 2 ** 20).toFixed(1)} MiB`);
    const health = await call(port, { path: '/healthz', method: 'GET', status: 200 });
    assert.equal(health.status, 200);
    assert.deepEqual(
      {
        ...(health.json as Record<string, unknown>),
        served: (health.json as { served: number }).served > 0,
      },
      {
        status: 'ok',
        task: 'image_classification',
        experiment: 'compact_resnet_shapes',
        in_flight: 1,
        queued: 0,
        running: 0,
        served: true,
      },
    );
    console.log(
      `serve burst (400 requests, 32 concurrent, ${cases.length} kinds): p50 ${quantile(latencies, 0.5).toFixed(1)} ms, ` +
        `p99 ${quantile(latencies, 0.99).toFixed(1)} ms, ${(400 / seconds).toFixed(0)} requests/s, ` +
        `heap growth ${(heapGrowth / 2 ** 20).toFixed(2)} MiB`,
    );
    await server.close();
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  } finally {
    await server.close();
    await vm.dispose();
  }
});

test('a full queue answers 503 with Retry-After; the queued image is still answered', async () => {
  const vm = await createModel('compact_resnet_shapes');
  // One image may wait, and it waits up to 1 s for a second one to join its batch.
  const server = new PredictionServer(vm, { maxQueue: 1, maxBatch: 2, batchWaitMs: 1000 });
  const port = await server.listen(0);
  try {
    const img = await noiseImage(32, 32, 5);
    const first = call(port, { path: '/predict', method: 'POST', body: img, status: 200 });
    while (server.health().queued < 1) await new Promise((r) => setTimeout(r, 10));
    const res = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', body: img });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.deepEqual(await res.json(), { error: 'server busy: 1 images queued' });
    const r = await first;
    assert.equal(r.status, 200);
    assertPrediction(
      r.json,
      (await vm.predict(new Uint8Array(img))) as ClassificationPrediction,
      'queued',
    );
  } finally {
    await server.close();
    await vm.dispose();
  }
});

test('a chunked body (no Content-Length) is refused with 413 once it passes the limit', async () => {
  const vm = await createModel('compact_resnet_shapes');
  const server = new PredictionServer(vm, { maxBodyBytes: 50_000 });
  const port = await server.listen(0);
  try {
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/predict' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      assert.equal(req.getHeader('content-length'), undefined);
      req.write(Buffer.alloc(30_000, 1));
      req.end(Buffer.alloc(30_000, 2));
    });
    assert.equal(r.status, 413);
    assert.deepEqual(JSON.parse(r.body), {
      error: 'request body exceeds the limit of 50000 bytes',
    });
    assert.equal(server.health().in_flight, 0);
  } finally {
    await server.close();
    await vm.dispose();
  }
});

test('vision-garden serve: SIGTERM finishes the request in flight, then exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vg-serve-'));
  const vm = await createModel('compact_resnet_shapes');
  randomizeWeights(vm, 3);
  await saveModel(vm, join(dir, 'model'));
  const img = await noiseImage(40, 40, 6);
  const want = (await vm.predict(new Uint8Array(img), { topK: 5 })) as ClassificationPrediction;
  await vm.dispose();

  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'vision-garden.js'),
      'serve',
      '--model',
      join(dir, 'model'),
      '--port',
      '0',
      '--backend',
      'cpu',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
  });

  // A request whose body is half sent when SIGTERM arrives.
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/predict',
        headers: { 'content-length': img.length },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.write(img.subarray(0, 100));
    (async () => {
      // Once the server counts it in flight (besides the health check itself), stop the server.
      for (;;) {
        const h = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
          in_flight: number;
        };
        if (h.in_flight >= 2) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      req.end(img.subarray(100));
    })().catch(reject);
  });
  const r = await answer;
  assert.equal(r.status, 200, r.body);
  assertPrediction(JSON.parse(r.body), want, 'request in flight at SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /SIGTERM; finishing the requests in flight/);
  assert.match(stderr, /stopped after 1 predictions/);
});
