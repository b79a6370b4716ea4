/**
 * A Node-RED plugin for the reliability suite only (test/reliability): it reads the runtime from inside,
 * where a test outside the process cannot look, and answers GET <admin root>/test-probe with:
 * - the heap after a full collection (`?gc=1`; the process runs with --expose-gc), and the RSS;
 * - live handles and requests by type (process.getActiveResourcesInfo: timers, sockets, file requests),
 *   and live intervals including unref'd ones;
 * - listeners per event on `process` and on the runtime's event bus;
 * - the routes of the admin and the HTTP-in apps (express 4 router stacks);
 * - the event loop's delay (perf_hooks.monitorEventLoopDelay: p50, p99, max) and every stall over 100 ms
 *   (a 20 ms timer that fired late), with the store snapshots written meanwhile (the files the embedded
 *   store renames into place, watched in the user directory) and the garbage collections over 50 ms
 *   (PerformanceObserver), so a stall can be put down to a snapshot or a collection.
 * `?reset=1` starts the delay figures and the lists of stalls and snapshots afresh.
 *
 * It is loaded from a folder that test/support/reliability.ts writes (a package.json naming this file).
 */
import * as fs from 'node:fs';
import { PerformanceObserver, constants, monitorEventLoopDelay, performance } from 'node:perf_hooks';

interface ProbeRed {
  settings: { userDir?: string };
  events: NodeJS.EventEmitter;
  httpAdmin: RouterApp;
  httpNode: RouterApp;
  plugins: { registerPlugin(id: string, definition: { type: string }): void };
}

interface RouterApp {
  get(
    path: string,
    handler: (req: { query: Record<string, unknown> }, res: { json(v: unknown): void }) => void,
  ): void;
  _router?: { stack: unknown[] };
}

/** What the probe answers (test/support/reliability.ts reads it as ProbeReading). */
interface Reading {
  readonly heapUsed: number;
  readonly rss: number;
  readonly resources: Record<string, number>;
  readonly listeners: Record<string, number>;
  readonly adminRoutes: number;
  readonly nodeRoutes: number;
  readonly loop: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly stalls: ReadonlyArray<{ readonly at: number; readonly ms: number }>;
  readonly snapshots: readonly number[];
  readonly collections: ReadonlyArray<{ readonly at: number; readonly ms: number }>;
}

const TICK_MS = 20;
const RESOLUTION_MS = 10;
const STALL_MS = 100;

export = function (RED: ProbeRed): void {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let stalls: Array<{ at: number; ms: number }> = [];
  let snapshots: number[] = [];
  let last = performance.now();
  // Collections over 50 ms (mark-compact mostly): a stall they overlap is put down to them.
  let collections: Array<{ at: number; ms: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // The probe's own forced collections (gc=1) are not the traffic's.
      const flags = (entry as { detail?: { flags?: number } }).detail?.flags ?? 0;
      if (entry.duration > 50 && (flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) === 0)
        collections.push({
          at: Math.round(performance.timeOrigin + entry.startTime + entry.duration),
          ms: Math.round(entry.duration),
        });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const ticker = setInterval(() => {
    const now = performance.now();
    const late = now - last - TICK_MS;
    if (late > STALL_MS) stalls.push({ at: Date.now(), ms: Math.round(late) });
    last = now;
  }, TICK_MS);
  ticker.unref();
  const userDir = RED.settings.userDir;
  if (userDir !== undefined) {
    try {
      const watcher = fs.watch(userDir, (_event, file) => {
        // The embedded store writes its snapshot beside the journal and renames it into place.
        if (typeof file === 'string' && /^dnc-store\.json$/.test(file)) snapshots.push(Date.now());
      });
      watcher.unref();
    } catch {
      // no watching: snapshots are not reported
    }
  }

  // Live intervals, unref'd ones included (getActiveResourcesInfo lists only those that keep the process
  // alive, and the package unrefs its own): an interval a node or a store forgets to clear at close
  // would grow with every deploy. Plugins load before nodes, so every node's intervals pass through here.
  const intervals = new Set<unknown>();
  const realSetInterval = globalThis.setInterval;
  const realClearInterval = globalThis.clearInterval;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const timer = realSetInterval(...args);
    intervals.add(timer);
    return timer;
  }) as typeof setInterval;
  globalThis.clearInterval = (timer?: Parameters<typeof clearInterval>[0]) => {
    intervals.delete(timer);
    realClearInterval(timer);
  };

  RED.plugins.registerPlugin('dnc-test-probe', { type: 'dnc-test-probe' });
  RED.httpAdmin.get('/test-probe', (req, res) => {
    const reset = req.query.reset === '1';
    // The delay figures are read before a forced collection, and the collection's own pause is not a
    // stall: the reading describes the traffic, not the probe.
    // The histogram's samples are the time between its timer's runs: the delay is what exceeds the
    // sampling interval.
    const delay = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    const loop = {
      p50: delay(histogram.percentile(50)),
      p99: delay(histogram.percentile(99)),
      max: delay(histogram.max),
    };
    const stallsSoFar = stalls;
    const snapshotsSoFar = snapshots;
    const collectionsSoFar = collections;
    if (reset) {
      stalls = [];
      snapshots = [];
      collections = [];
    }
    const gc = (globalThis as { gc?: () => void }).gc;
    const collect = req.query.gc === '1' && gc !== undefined;
    if (collect) {
      gc();
      gc();
      last = performance.now();
    }
    const resources: Record<string, number> = {};
    for (const name of process.getActiveResourcesInfo()) resources[name] = (resources[name] ?? 0) + 1;
    resources['Interval (live, unref included)'] = intervals.size;
    const listeners: Record<string, number> = {};
    for (const name of process.eventNames())
      listeners[`process:${String(name)}`] = process.listenerCount(name);
    for (const name of RED.events.eventNames())
      listeners[`RED:${String(name)}`] = RED.events.listenerCount(name);
    const memory = process.memoryUsage();
    const reading: Reading = {
      heapUsed: memory.heapUsed,
      rss: memory.rss,
      resources,
      listeners,
      adminRoutes: RED.httpAdmin._router?.stack.length ?? -1,
      nodeRoutes: RED.httpNode._router?.stack.length ?? -1,
      loop,
      stalls: stallsSoFar,
      snapshots: snapshotsSoFar,
      collections: collectionsSoFar,
    };
    if (!reset) {
      res.json(reading);
      return;
    }
    if (!collect) {
      histogram.reset();
      res.json(reading);
      return;
    }
    // After a collection the histogram and the stall ticker record its pause at their next run: start
    // afresh after those, so that the next reading holds the traffic's delays, not the probe's.
    setTimeout(() => {
      histogram.reset();
      stalls = [];
      snapshots = [];
      collections = [];
      last = performance.now();
      res.json(reading);
    }, 50);
  });
};
