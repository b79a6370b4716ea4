/**
 * The HTTP API under load, on 127.0.0.1, mounted the way Node-RED mounts it (an express app whose JSON
 * body-parser runs first, the router under /dnc):
 * - import of 1,000,000 CSV rows through POST /dnc/imports: total time (goal <= 60 s), progress polled
 *   and printed every second, heap sampled during the job (the store's own growth is reported apart);
 * - export of 1,000,000 contacts through GET /dnc/export: time and peak heap above the store's;
 * - POST /dnc/check with 50 concurrent keep-alive clients (load from a worker thread, so it has its own
 *   core): requests per second, against a bare express JSON route on the same server as the baseline.
 *
 * `node --expose-gc dist/bench/api.bench.js [rows]` (default 1,000,000).
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createApiContext, createDncApi } from '../lib/api/router';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import { LABELS, validNumbers } from './fixtures';
import { heapUsedAfterGc, record } from './harness';

const CONCURRENCY = 50;
const LOAD_SECONDS = 5;

interface LoadJob {
  port: number;
  path: string;
  body: string;
  seconds: number;
}

/** Worker: keeps CONCURRENCY requests in flight for `seconds`; posts the count of 200s. */
async function loadWorker(job: LoadJob): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let ok = 0;
  let failed = 0;
  const deadline = performance.now() + job.seconds * 1000;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: job.port,
          path: job.path,
          method: 'POST',
          agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(job.body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) ok++;
            else failed++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(job.body);
    });
  const client = async () => {
    while (performance.now() < deadline) await one();
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  parentPort!.postMessage({ ok, failed, seconds });
}

function runLoad(job: LoadJob): Promise<{ ok: number; failed: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: job });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

function fetchText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'dnc-api-bench-'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- express comes with node-red (devDependency)
  const express = require('express') as typeof import('express');
  try {
    const store = new EmbeddedStore({ path: join(dir, 'store.json'), logger: { warn: () => undefined } });
    await store.open();
    const service = new DncService({
      labels: LABELS.map((name) => ({ name, channels: name === 'DNC_SMS' ? ['sms'] : [] })),
      store,
    });
    const context = createApiContext({ id: 'bench', service });
    const api = createDncApi({ resolve: () => context, configParam: true });
    const app = express();
    app.use(express.json({ limit: '5mb' }));
    app.post('/bare', (_req, res) => {
      res.json({ allowed: true });
    });
    app.use('/dnc', (req, res, next) =>
      api.handle(req as never, res as unknown as ServerResponse, next, { id: 'bench', access: 'write' }),
    );
    const server = createServer(app as unknown as (req: IncomingMessage, res: ServerResponse) => void);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;

    // ---------------------------------------------------------------- import
    process.stderr.write(`generating ${rows} rows...\n`);
    const numbers = validNumbers(rows);
    const csvPath = join(dir, 'import.csv');
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(csvPath);
      out.on('error', reject);
      let chunk = 'contact,labels,source,reason\n';
      for (let i = 0; i < numbers.length; i++) {
        chunk += `${numbers[i]},${LABELS[i % LABELS.length]},import,bulk load ${i % 97}\n`;
        if (chunk.length > 1 << 20) {
          out.write(chunk);
          chunk = '';
        }
      }
      out.end(chunk, resolve);
    });
    const csvBytes = statSync(csvPath).size;
    const heapBefore = heapUsedAfterGc();
    let peakHeap = process.memoryUsage().heapUsed;
    const sampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 50);
    const t0 = performance.now();
    const accepted = await new Promise<{ id: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/dnc/imports',
          method: 'POST',
          headers: { 'Content-Type': 'text/csv', 'Content-Length': csvBytes },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => (res.statusCode === 202 ? resolve(JSON.parse(text)) : reject(new Error(text))));
        },
      );
      req.on('error', reject);
      createReadStream(csvPath).pipe(req);
    });
    const uploadMs = performance.now() - t0;
    let job: { state: string; progress: number; rows: Record<string, number>; rowsPerSecond: number };
    // Live heap (after a forced GC) a few times during the job: what the import retains, unlike the
    // sampled heapUsed above, which also counts garbage not yet collected.
    let peakLive = 0;
    let polls = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      if (++polls % 5 === 0) peakLive = Math.max(peakLive, heapUsedAfterGc());
      job = JSON.parse(await fetchText(port, `/dnc/imports/${accepted.id}`));
      process.stderr.write(
        `  import ${job.state} ${(job.progress * 100).toFixed(1)}% rows ${job.rows.read} applied ${job.rows.applied} (${job.rowsPerSecond}/s)\n`,
      );
      if (job.state !== 'queued' && job.state !== 'running') break;
    }
    const importSeconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const heapAfter = heapUsedAfterGc();
    const mb = (bytes: number) => Math.round(bytes / 1048576);
    record({
      suite: 'api',
      case: `import ${rows} CSV rows (upload + job)`,
      value: importSeconds,
      unit: 's',
      goal: rows >= 1_000_000 ? '<= 60 s' : undefined,
      met: rows >= 1_000_000 ? importSeconds <= 60 && job.state === 'done' : undefined,
      note: `${job.state}, applied ${job.rows.applied}, failed ${job.rows.failed}; upload ${Math.round(uploadMs)} ms; ${mb(csvBytes)} MB file`,
    });
    record({
      suite: 'api',
      case: 'import: peak heap above the store it fills',
      value: mb(Math.max(0, peakHeap - heapAfter)),
      unit: 'MB',
      note: `heap before ${mb(heapBefore)} MB, peak ${mb(peakHeap)} MB, after (store holds ${rows} contacts) ${mb(heapAfter)} MB; includes garbage not yet collected`,
    });
    record({
      suite: 'api',
      case: 'import: peak live heap during the job (after GC) above the filled store',
      value: mb(Math.max(0, peakLive - heapAfter)),
      unit: 'MB',
      note: `sampled every 5 s with a forced GC; the store grows during the job, so this bounds what the import itself holds`,
    });

    // ---------------------------------------------------------------- export
    const exportHeapBefore = heapUsedAfterGc();
    let exportPeak = process.memoryUsage().heapUsed;
    const exportSampler = setInterval(() => {
      exportPeak = Math.max(exportPeak, process.memoryUsage().heapUsed);
    }, 50);
    const t1 = performance.now();
    const exported = await new Promise<{ bytes: number; lines: number }>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/dnc/export?format=csv' }, (res) => {
        let bytes = 0;
        let lines = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
        });
        res.on('end', () => resolve({ bytes, lines }));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    const exportSeconds = (performance.now() - t1) / 1000;
    clearInterval(exportSampler);
    record({
      suite: 'api',
      case: `export ${exported.lines - 1} contacts (CSV, streamed)`,
      value: exportSeconds,
      unit: 's',
      note: `${mb(exported.bytes)} MB, ${Math.round((exported.lines - 1) / exportSeconds)} rows/s`,
    });
    record({
      suite: 'api',
      case: 'export: peak heap above the store',
      value: mb(Math.max(0, exportPeak - exportHeapBefore)),
      unit: 'MB',
      note: `heap before ${mb(exportHeapBefore)} MB, peak ${mb(exportPeak)} MB`,
    });

    // ---------------------------------------------------------------- checks
    const body = JSON.stringify({ contact: numbers[12345], channel: 'voice' });
    await runLoad({ port, path: '/bare', body, seconds: 1 }); // warm up
    const bare = await runLoad({ port, path: '/bare', body, seconds: LOAD_SECONDS });
    const checks = await runLoad({ port, path: '/dnc/check', body, seconds: LOAD_SECONDS });
    const bareRps = bare.ok / bare.seconds;
    const checkRps = checks.ok / checks.seconds;
    record({
      suite: 'api',
      case: `POST /dnc/check, ${CONCURRENCY} concurrent clients`,
      value: Math.round(checkRps),
      unit: 'req/s',
      baseline: { case: 'bare express JSON route, same server', value: Math.round(bareRps) },
      note: `failed ${checks.failed}; store of ${store.status().contacts} contacts`,
    });
    server.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  void loadWorker(workerData as LoadJob);
}
