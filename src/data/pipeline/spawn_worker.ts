/**
 * Worker threads for the input pipeline's map stage (./worker_pool.ts) in Node. The browser
 * build maps this module to ./spawn_worker.browser.ts (package.json `browser`): no worker
 * threads there, so the pipeline maps in-process (workers = 0).
 */
import type { Worker } from 'node:worker_threads';

const HERE = import.meta.url;

/**
 * The parent's Node options minus those that only make sense for the main script (`-e`, `-p`
 * with their code, `--input-type`): inherited as they are, they stop a worker from starting.
 */
function workerExecArgv(): string[] {
  const argv = process.execArgv;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (['-e', '--eval', '-p', '--print', '--input-type'].includes(a)) i++;
    else if (!/^--(eval|print|input-type)=/.test(a)) out.push(a);
  }
  return out;
}

/**
 * Starts one worker on ./worker.js, or on ./worker.ts when this module itself runs as
 * TypeScript (tests under tsx). Loader hooks registered with `--import` do not reach worker
 * threads on Node 20, so there the worker first registers tsx's loader, then imports the entry.
 */
export async function spawnWorker(): Promise<Worker> {
  const { Worker } = await import('node:worker_threads');
  const runningTs = /\.[cm]?ts$/.test(new URL(HERE).pathname);
  const entry = new URL(runningTs ? './worker.ts' : './worker.js', HERE);
  const execArgv = workerExecArgv();
  if (!runningTs) return new Worker(entry, { execArgv });
  let tsxApi: string | undefined;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch {
    tsxApi = undefined; // some other TypeScript loader: hope it covers workers
  }
  if (!tsxApi) return new Worker(entry, { execArgv });
  const boot =
    `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); ` +
    `return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, execArgv });
}

/** Default worker count: os.availableParallelism() in Node, 0 where node:os is unavailable. */
export async function defaultWorkerCount(): Promise<number> {
  try {
    const os = await import('node:os');
    return os.availableParallelism();
  } catch {
    return 0;
  }
}
