/**
 * `vision-garden serve --model M --port P`: an HTTP prediction server (src/api/serve.ts) over a
 * vg model, or an experiment with a checkpoint. SIGTERM or SIGINT stop accepting connections,
 * finish the requests in flight and exit 0.
 */
import type { Command } from 'commander';
import { PredictionServer } from '../api/serve.js';
import {
  initBackend,
  isBackendName,
  tfjsBackendFor,
  usesCompiledSteps,
} from '../core/backend/index.js';
import { openModel } from './predict.js';

interface ServeFlags {
  model?: string;
  experiment?: string;
  config_file: string[];
  params_override: string[];
  checkpoint?: string;
  port: number;
  host: string;
  max_body_bytes: number;
  concurrency: number;
  max_queue: number;
  max_batch: number;
  batch_wait_ms: number;
  top_k: number;
  score_threshold: number;
  backend: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const int = (v: string) => Number(v);

async function runServe(flags: ServeFlags): Promise<void> {
  if (!isBackendName(flags.backend)) {
    throw new Error(`--backend: unknown backend '${flags.backend}'`);
  }
  if (!(Number.isInteger(flags.port) && flags.port >= 0 && flags.port < 65536)) {
    throw new Error(`--port must be an integer in 0..65535, got ${flags.port}`);
  }
  await initBackend(tfjsBackendFor(flags.backend));
  const model = await openModel({
    model: flags.model,
    experiment: flags.experiment,
    configFiles: flags.config_file,
    paramsOverrides: flags.params_override,
    checkpoint: flags.checkpoint,
    images: [],
    compiled: usesCompiledSteps(flags.backend),
  });
  const server = new PredictionServer(model, {
    maxBodyBytes: flags.max_body_bytes,
    concurrency: flags.concurrency,
    maxQueue: flags.max_queue,
    maxBatch: flags.max_batch,
    batchWaitMs: flags.batch_wait_ms,
    decode: { topK: flags.top_k, scoreThreshold: flags.score_threshold },
  });
  const port = await server.listen(flags.port, flags.host);
  console.log(`vision-garden serve: listening on http://${flags.host}:${port} (POST /predict)`);
  await new Promise<void>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      console.error(`vision-garden serve: ${sig}; finishing the requests in flight`);
      void server.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await model.dispose();
  console.error(`vision-garden serve: stopped after ${server.health().served} predictions`);
}

/** Adds the `serve` command to the program. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve predictions over HTTP: POST image bytes (or multipart) to /predict')
    .option('--model <dir>', 'a vg model (vision-garden export --format vg) directory or URL')
    .option('--experiment <name>', 'registered experiment name (with --checkpoint)')
    .option('--config_file <file>', 'YAML config file; repeatable', collect, [])
    .option('--params_override <overrides>', "overrides 'a.b=1,...'; repeatable", collect, [])
    .option('--checkpoint <path>', 'a .vgckpt file, a model_dir or a TF checkpoint')
    .option('--port <port>', 'TCP port (0: any free one)', int, 8080)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--max_body_bytes <n>', 'largest request body; larger ones get 413', int, 10485760)
    .option('--concurrency <n>', 'model runs at a time', int, 1)
    .option('--max_queue <n>', 'images waiting for a run; more get 503', int, 256)
    .option('--max_batch <n>', 'images per run (micro-batching when > 1)', int, 1)
    .option('--batch_wait_ms <ms>', 'with --max_batch > 1: longest wait for a batch', int, 5)
    .option('--top_k <k>', 'classification: classes per answer (query top_k overrides)', int, 5)
    .option(
      '--score_threshold <s>',
      'detection: lowest score answered (query score_threshold overrides)',
      Number,
      0,
    )
    .option(
      '--backend <name>',
      'backend: onnx = the model compiled for ONNX Runtime; else a tfjs backend (default onnx)',
      'onnx',
    )
    .action((flags: ServeFlags) => runServe(flags));
}
