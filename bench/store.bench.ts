/**
 * Embedded store benchmark: load time, memory per contact, durable opt-out throughput and latency
 * (bursts of 1,000 concurrent opt-outs through store.apply and through DncService.addLabels, the path a
 * flow's opt-out takes), lookups, each beside a baseline measured in the same run (plain lowdb, a bare
 * Map, a bare write + fdatasync).
 *
 *   node --expose-gc dist/bench/store.bench.js [--contacts=1000000]
 *
 * The store files are generated once per run in a temp dir: a journal of realistic opt-out records
 * (~335 bytes of JSON each) written directly, then opened once (a full journal replay) and closed (which
 * writes the snapshot). The baseline file holds the same contacts written as lowdb's JSONFile would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { openSync, closeSync, writeSync, fdatasyncSync } from 'node:fs';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import type { AddLabelsChange } from '../lib/store/types';
import {
  LABELS,
  makeChange as makeFixtureChange,
  validNumbers,
  writeJournal as writeFixtureJournal,
  writeKeyedStoreExtras,
} from './fixtures';
import { AuditKey } from '../lib/store/audit-hash';
import { GENESIS_STATE, walkChain } from '../lib/store/journal';
import { heapUsedAfterGc, opsPerSecond, percentile, record, seededRandom, timeMs } from './harness';

const SUITE = 'store';
const quiet = { warn: (): void => undefined };
const argument = process.argv.find((arg) => arg.startsWith('--contacts='));
const CONTACTS = argument ? Number(argument.split('=')[1]) : 1_000_000;
const SMALL_CONTACTS = Math.min(100_000, CONTACTS);

/** The store's contacts: valid numbers, so the figures hold for the store a real flow fills. */
const NUMBERS = validNumbers(CONTACTS + 100_000);
function keyOf(i: number): string {
  return NUMBERS[i];
}
function makeChange(i: number, random: () => number): AddLabelsChange {
  return makeFixtureChange(keyOf(i), random);
}
/** The store's audit key: journals are written keyed, as today's store writes them. */
const KEY = AuditKey.generate();
function writeJournal(path: string, count: number, keyed = true): number {
  return writeFixtureJournal(path, NUMBERS.slice(0, count), keyed ? KEY : undefined);
}

/** The same contacts as a naive lowdb store would hold them: full objects, written by JSONFile. */
function naiveData(count: number): { contacts: unknown[] } {
  const random = seededRandom(42);
  const contacts: unknown[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const change = makeChange(i, random);
    const label = change.labels[0];
    contacts[i] = {
      keys: change.keys,
      labels: [
        {
          label: label.label,
          appliedAt: change.at,
          expiresAt: label.expiresAt,
          source: change.source,
          actor: change.actor,
          reason: change.reason,
          campaign: change.campaign,
          channel: change.channel,
        },
      ],
    };
  }
  return { contacts };
}

async function buildStore(
  dir: string,
  count: number,
): Promise<{ path: string; recordBytes: number; replayMs: number; snapshotMs: number }> {
  const path = join(dir, 'dnc-store.json');
  const recordBytes = writeJournal(join(dir, 'dnc-store.events.ndjson'), count);
  await writeKeyedStoreExtras(path, KEY, count);
  const store = new EmbeddedStore({ path, logger: quiet, snapshotEvery: 10 * count });
  const replayMs = await timeMs(() => store.open());
  const snapshotMs = await timeMs(() => store.close());
  return { path, recordBytes, replayMs, snapshotMs };
}

interface BurstStats {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** The worst p99 of one burst. */
  readonly worstBurstP99: number;
  readonly bursts: number;
}

type Submit = (change: AddLabelsChange) => Promise<unknown>;

const BURST = 1000;
const BURSTS = 5;

/**
 * Before each burst: a forced full GC, then a pause for its concurrent sweeping to finish. The issue
 * asks what the store costs; without this, a mark-compact of the 1M heap (0.35-0.45 s, forced or not)
 * or the sweeping after it, competing for the 2 shared cores, can land inside the 15-40 ms a burst
 * takes. Both are properties of the heap size and the machine, not of the write path.
 */
async function settle(): Promise<void> {
  heapUsedAfterGc();
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

/** BURSTS bursts of 1,000 concurrent opt-outs on new contacts; each resolves only once fsynced. */
async function optOutBursts(submit: Submit, firstIndex: number): Promise<BurstStats> {
  const random = seededRandom(7);
  const all: number[] = [];
  let worstBurstP99 = 0;
  let slowest = 0;
  for (let burst = 0; burst < BURSTS; burst++) {
    const changes = Array.from({ length: BURST }, (_, i) =>
      makeChange(firstIndex + burst * BURST + i, random),
    );
    await settle();
    const latencies: number[] = [];
    const start = performance.now();
    await Promise.all(
      changes.map(async (change) => {
        const began = performance.now();
        await submit(change);
        latencies.push(performance.now() - began);
      }),
    );
    slowest = Math.max(slowest, performance.now() - start);
    latencies.sort((a, b) => a - b);
    worstBurstP99 = Math.max(worstBurstP99, percentile(latencies, 99));
    all.push(...latencies);
  }
  all.sort((a, b) => a - b);
  return {
    perSecond: (BURST * 1000) / slowest,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: all[all.length - 1],
    worstBurstP99,
    bursts: BURSTS,
  };
}

/** The floor under a burst: its bytes (1,000 journal records) written with one write and one fdatasync. */
async function fsyncFloorMs(dir: string): Promise<number> {
  const path = join(dir, 'fsync-floor.bin');
  const bytes = Buffer.alloc(BURST * 460, 97);
  const times: number[] = [];
  const fd = openSync(path, 'a');
  try {
    for (let i = 0; i < BURSTS; i++) {
      await settle();
      const start = performance.now();
      writeSync(fd, bytes);
      fdatasyncSync(fd);
      times.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
    rmSync(path);
  }
  times.sort((a, b) => a - b);
  return times[times.length - 1];
}

/** The real path of an opt-out: DncService.addLabels parses and validates the contact and labels, then applies. */
function serviceSubmit(store: EmbeddedStore): Submit {
  const service = new DncService({
    labels: LABELS.map((name) => ({ name })),
    store,
    defaultCountry: 'US',
  });
  return (change) =>
    service.addLabels({
      contact: change.keys[0],
      labels: change.labels.map((label) => label.label),
      source: change.source,
      actor: change.actor,
      reason: change.reason,
      campaign: change.campaign,
      channel: change.channel,
      at: change.at,
    });
}

function recordBursts(
  label: string,
  path: string,
  stats: BurstStats,
  floorMs: number,
  throughputBaseline?: { case: string; value: number },
): void {
  const what = `${stats.bursts} bursts of 1,000 concurrent durable opt-outs on the ${label} store, ${path}`;
  record({
    suite: SUITE,
    case: `${what}: throughput (slowest burst)`,
    value: Math.round(stats.perSecond),
    unit: 'opt-outs/s',
    ...(throughputBaseline ? { baseline: throughputBaseline } : {}),
    goal: '>= 1000 opt-outs/s',
    met: stats.perSecond >= 1000,
  });
  record({
    suite: SUITE,
    case: `${what}: p99 latency (worst burst)`,
    value: Number(stats.worstBurstP99.toFixed(1)),
    unit: 'ms',
    baseline: {
      case: 'one write + fdatasync of a burst-sized journal append (slowest of 5)',
      value: Number(floorMs.toFixed(1)),
    },
    goal: '<= 100 ms',
    met: stats.worstBurstP99 <= 100,
    note: `all ${stats.bursts * BURST}: p50 ${stats.p50.toFixed(1)} ms, p99 ${stats.p99.toFixed(1)} ms, max ${stats.max.toFixed(1)} ms; forced GC + 1 s pause before each burst`,
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dnc-store-bench-'));
  try {
    const { Low } = await import('lowdb');
    const { JSONFile } = await import('lowdb/node');
    const label = CONTACTS >= 1_000_000 ? `${CONTACTS / 1_000_000}M` : `${CONTACTS / 1000}k`;

    // ---- files for the large store
    const largeDir = join(dir, 'large');
    rmSync(largeDir, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(largeDir);
    const large = await buildStore(largeDir, CONTACTS);
    record({
      suite: SUITE,
      case: `journal record size`,
      value: Math.round(large.recordBytes),
      unit: 'bytes/record',
    });
    record({
      suite: SUITE,
      case: `open from journal only (full replay + chain check), ${label} contacts`,
      value: large.replayMs / 1000,
      unit: 's',
    });
    record({
      suite: SUITE,
      case: `write snapshot on close, ${label} contacts`,
      value: large.snapshotMs / 1000,
      unit: 's',
    });

    // ---- baseline file: the same contacts written as lowdb's JSONFile would
    const baselinePath = join(dir, 'lowdb-baseline.json');
    {
      const db = new Low(new JSONFile<{ contacts: unknown[] }>(baselinePath), { contacts: [] });
      db.data = naiveData(CONTACTS);
      await db.write();
    }
    heapUsedAfterGc();
    const baselineLoadMs = await timeMs(async () => {
      const db = new Low(new JSONFile<{ contacts: unknown[] }>(baselinePath), { contacts: [] });
      await db.read();
    });
    rmSync(baselinePath);

    // ---- load + memory
    const heapBefore = heapUsedAfterGc();
    const store = new EmbeddedStore({ path: large.path, logger: quiet });
    const loadMs = await timeMs(() => store.open());
    const heapAfter = heapUsedAfterGc();
    record({
      suite: SUITE,
      case: `load ${label}-contact store at start (snapshot + journal tail)`,
      value: loadMs / 1000,
      unit: 's',
      baseline: { case: 'plain lowdb JSONFile read of the same contacts', value: baselineLoadMs / 1000 },
      goal: CONTACTS >= 1_000_000 ? '<= 5 s' : undefined,
      met: CONTACTS >= 1_000_000 ? loadMs <= 5000 : undefined,
    });
    const bytesPerContact = (heapAfter - heapBefore) / store.status().contacts;
    record({
      suite: SUITE,
      case: `heap per contact, ${label} contacts with one label each`,
      value: Math.round(bytesPerContact),
      unit: 'bytes/contact',
      goal: '< 600 bytes/contact',
      met: bytesPerContact < 600,
    });

    // ---- lookups
    const sampleRandom = seededRandom(3);
    const sample = Array.from({ length: 100_000 }, () => keyOf(Math.floor(sampleRandom() * CONTACTS)));
    const bareMap = new Map<string, object>();
    for (let i = 0; i < CONTACTS; i++) bareMap.set(keyOf(i), { i });
    let found = 0;
    const baselineLookups = opsPerSecond(() => {
      for (const key of sample) if (bareMap.get(key) !== undefined) found++;
      return sample.length;
    });
    bareMap.clear();
    const lookups = opsPerSecond(() => {
      for (const key of sample) if (store.lookup(key) !== undefined) found++;
      return sample.length;
    });
    if (found === 0) throw new Error('no key found');
    record({
      suite: SUITE,
      case: `lookups on the ${label} store`,
      value: Math.round(lookups),
      unit: 'lookups/s',
      baseline: { case: 'bare Map.get on the same keys', value: Math.round(baselineLookups) },
    });

    // ---- what verifying the whole chain costs (at every open, and for a full verify())
    {
      const journal = join(largeDir, 'dnc-store.events.ndjson');
      heapUsedAfterGc();
      const keyedMs = await timeMs(async () => {
        const walked = await walkChain({ path: journal, start: 0, state: GENESIS_STATE, key: KEY.export() });
        if (walked.problem || walked.state.seq < CONTACTS) throw new Error('the chain does not verify');
      });
      record({
        suite: SUITE,
        case: `verify the whole keyed chain (HMAC-SHA256 per line, no parse), ${label} records, one thread`,
        value: Number((keyedMs / 1000).toFixed(2)),
        unit: 's',
        note: `${((keyedMs / CONTACTS) * 1000).toFixed(2)} s per million records; at open it runs in a worker thread beside the snapshot's parse`,
      });
      const legacyPath = join(dir, 'legacy.events.ndjson');
      writeJournal(legacyPath, SMALL_CONTACTS, false);
      const legacyMs = await timeMs(async () => {
        const walked = await walkChain({
          path: legacyPath,
          start: 0,
          state: GENESIS_STATE,
          key: KEY.export(),
        });
        if (walked.problem || walked.state.legacy !== SMALL_CONTACTS)
          throw new Error('the chain does not verify');
      });
      rmSync(legacyPath);
      record({
        suite: SUITE,
        case: `verify an unkeyed (0.1.0) chain (parse + canonical JSON + sha256 per record), ${SMALL_CONTACTS / 1000}k records`,
        value: Number((legacyMs / 1000).toFixed(2)),
        unit: 's',
        note: `${((legacyMs / SMALL_CONTACTS) * 1000).toFixed(2)} s per million records`,
      });
    }

    // ---- checks while two loops call verify() back to back (GET /audit/verify from a read token)
    {
      const service = new DncService({
        labels: LABELS.map((name) => ({ name })),
        store,
        defaultCountry: 'US',
      });
      const plan = service.plan({ labels: ['DNC_Sales', 'DNC_Marketing'], channel: 'voice' });
      const at = Date.UTC(2026, 10, 28);
      /**
       * Open loop: a check arrives every 2 ms whatever happens; its latency runs from its arrival to
       * its answer, so a blocked event loop shows as queued arrivals.
       */
      const checkLatencies = async (durationMs: number): Promise<number[]> => {
        const latencies: number[] = [];
        const start = performance.now();
        let next = start;
        let i = 0;
        while (next - start < durationMs) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          else await new Promise((resolve) => setImmediate(resolve));
          while (next <= performance.now() && next - start < durationMs) {
            if (service.checkWithPlan(sample[i++ % sample.length], plan, at).allowed) found++;
            latencies.push(performance.now() - next);
            next += 2;
          }
        }
        return latencies.sort((a, b) => a - b);
      };
      await settle();
      const quietChecks = await checkLatencies(3000);
      let stop = false;
      let verifies = 0;
      const loop = async (): Promise<void> => {
        while (!stop) {
          const result = await store.verify();
          if (!result.ok) throw new Error(`verify failed: ${result.problem}`);
          verifies++;
        }
      };
      const loops = [loop(), loop()];
      // Long enough to cover the first full walk (which runs in a worker) and the incremental ones after it.
      const loadedChecks = await checkLatencies(8000);
      stop = true;
      await Promise.all(loops);
      const quietP99 = percentile(quietChecks, 99);
      const loadedP99 = percentile(loadedChecks, 99);
      record({
        suite: SUITE,
        case: `check p99 under two concurrent verify() loops, ${label} store (a check every 2 ms, open loop)`,
        value: Number(loadedP99.toFixed(2)),
        unit: 'ms',
        baseline: { case: 'the same checks with no verify loop', value: Number(quietP99.toFixed(2)) },
        goal: 'within 2x of no load (or <= 5 ms)',
        met: loadedP99 <= Math.max(2 * quietP99, 5),
        note: `${verifies} verify() calls in 8 s (the first walks the whole chain in a worker, the rest check new records only); max ${loadedChecks[loadedChecks.length - 1].toFixed(1)} ms`,
      });
    }

    // ---- durable opt-outs on the large store: store.apply, then the real path through DncService
    const floorMs = await fsyncFloorMs(dir);
    const largeApply = await optOutBursts((change) => store.apply(change), CONTACTS);
    recordBursts(label, 'store.apply', largeApply, floorMs);
    const largeService = await optOutBursts(serviceSubmit(store), CONTACTS + BURSTS * BURST);
    recordBursts(label, 'DncService.addLabels', largeService, floorMs);

    // ---- writes while a snapshot of the large store is being written
    {
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const random = seededRandom(11);
      const latencies: number[] = [];
      let next = CONTACTS + 2 * BURSTS * BURST;
      let snapshotDone = false;
      const snapshotMs = timeMs(() => store.snapshotNow()).finally(() => (snapshotDone = true));
      while (!snapshotDone) {
        const began = performance.now();
        await Promise.all(Array.from({ length: 10 }, () => store.apply(makeChange(next++, random))));
        latencies.push(performance.now() - began);
      }
      delay.disable();
      latencies.sort((a, b) => a - b);
      record({
        suite: SUITE,
        case: `opt-out latency while a ${label} snapshot is written (batches of 10): p99`,
        value: Number(percentile(latencies, 99).toFixed(1)),
        unit: 'ms',
        note: `${latencies.length} batches during a ${((await snapshotMs) / 1000).toFixed(2)} s snapshot; max ${latencies[latencies.length - 1].toFixed(1)} ms; event loop delay max ${(delay.max / 1e6).toFixed(1)} ms`,
      });
    }
    await store.close();
    rmSync(largeDir, { recursive: true, force: true });

    // ---- durable opt-outs on a 100k store, against a naive lowdb store writing the file per change
    const smallLabel = `${SMALL_CONTACTS / 1000}k`;
    const smallDir = join(dir, 'small');
    (await import('node:fs')).mkdirSync(smallDir);
    const small = await buildStore(smallDir, SMALL_CONTACTS);
    const smallStore = new EmbeddedStore({ path: small.path, logger: quiet });
    await smallStore.open();
    const smallApply = await optOutBursts((change) => smallStore.apply(change), SMALL_CONTACTS);
    const smallService = await optOutBursts(serviceSubmit(smallStore), SMALL_CONTACTS + BURSTS * BURST);
    await smallStore.close();

    const naivePath = join(dir, 'naive.json');
    const naive = new Low(new JSONFile<{ contacts: unknown[] }>(naivePath), naiveData(SMALL_CONTACTS));
    await naive.write();
    const naiveRandom = seededRandom(7);
    const naiveWrites = 5;
    const naiveMs = await timeMs(async () => {
      for (let i = 0; i < naiveWrites; i++) {
        const change = makeChange(SMALL_CONTACTS + i, naiveRandom);
        naive.data.contacts.push({ keys: change.keys, labels: change.labels });
        await naive.write();
      }
    });
    const naiveBaseline = {
      case: `naive lowdb store, db.write() per change (${naiveWrites} writes, no fsync)`,
      value: Number(((naiveWrites * 1000) / naiveMs).toFixed(2)),
    };
    recordBursts(smallLabel, 'store.apply', smallApply, floorMs, naiveBaseline);
    recordBursts(smallLabel, 'DncService.addLabels', smallService, floorMs, naiveBaseline);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
