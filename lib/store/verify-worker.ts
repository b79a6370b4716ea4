/** Runs one chain walk (journal.ts walkChain) off the main thread and posts its result. */
import { parentPort, workerData } from 'node:worker_threads';
import { walkChain, type ChainWalk } from './journal';

walkChain(workerData as ChainWalk).then(
  (result) => parentPort?.postMessage({ result }),
  (error: unknown) =>
    parentPort?.postMessage({ error: error instanceof Error ? error.message : String(error) }),
);
