/**
 * PostgreSQL store benchmark (issue 12's figures), on a throwaway PostgreSQL server started for the run
 * (test/support/postgres.ts: fsync on, the distribution's defaults otherwise):
 *
 * - cold start of an instance against the trail of N contacts (default 1M): from the whole trail, then
 *   from a snapshot (the goal), and the time to write that snapshot; heap per contact;
 * - checks on that instance: single checks/s and a batch of N contacts through DncService, the code path
 *   of the check suite;
 * - durable opt-outs from 50 concurrent writers spread over two instances (two processes, 25 each), and
 *   the same writers on one instance (what sharing the chain head costs);
 * - propagation A -> B over 1,000 opt-outs;
 * - catch-up of B after a disconnection (30 s; 6 s in a scaled-down run, with B's maxStaleness cut to 4 s
 *   so it still fails closed) during which A made 10,000 changes. B connects as a role of its own; the
 *   disconnection is that role losing LOGIN and its sessions terminated, so B's pool and change feed fail
 *   and every reconnect is refused until LOGIN is given back.
 *
 * Each figure sits beside a baseline measured in the same run on the same server: the embedded store
 * with the same contacts (checks, memory), plain SQL doing the least the figure needs (reading the trail,
 * one INSERT + COMMIT per opt-out, a bare NOTIFY -> LISTEN, reading the missed records).
 *
 *   node --expose-gc dist/bench/postgres.bench.js         (npm run bench -- postgres)
 *   DNC_BENCH_SCALE=0.01 node --expose-gc dist/bench/postgres.bench.js   (10k contacts, shorter phases)
 *
 * The orchestrator (this script without arguments) starts the server, fills the trail and runs the
 * instances as child processes of this same script (`--instance`), each with one PostgresStore, driven
 * over IPC. Times that cross processes are read from the system's monotonic clock (process.hrtime),
 * which every process on the machine shares.
 *
 * The trail is filled with SQL in bulk, each record sealed exactly as the store's writer seals it
 * (recordContent + sealRecord with the shared audit key), then VACUUM ANALYZE (a database that has been
 * running has its hint bits set; a freshly loaded table would make the first reader write them).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { isDncError } from '../lib/errors';
import { clearPhoneMemo } from '../lib/phone/e164-validity';
import { DncService } from '../lib/service';
import { AuditKey, GENESIS_HASH, sealRecord } from '../lib/store/audit-hash';
import { normaliseChange, recordContent } from '../lib/store/changes';
import { EmbeddedStore } from '../lib/store/embedded';
import { PostgresStore } from '../lib/store/postgres/store';
import type { AddLabelsChange, DncStore } from '../lib/store/types';
import { freshDatabase, testPostgres } from '../test/support/postgres';
import { LABELS, makeChange, validNumbers, writeJournal } from './fixtures';
import { heapUsedAfterGc, opsPerSecond, percentile, record, seededRandom, timeMs } from './harness';

const SUITE = 'postgres';
const quiet = { warn: (): void => undefined };

/** The system's monotonic clock in ms: the same clock in every process on the machine. */
function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

// ------------------------------------------------------------------------------------------------
// Instance process: one PostgresStore, driven by the orchestrator.

/** Valid numbers of this instance's own changes (a seed per instance, none of them in the filled trail). */
let fresh: string[] = [];
let freshNext = 0;
const freshRandom = seededRandom(99);

function nextChange(): AddLabelsChange {
  const key = fresh[freshNext++ % fresh.length];
  return makeChange(key, freshRandom);
}

function serviceFor(store: DncStore): DncService {
  return new DncService({
    labels: LABELS.map((name) => ({ name, channels: name === 'DNC_SMS' ? ['sms'] : [] })),
    store,
    defaultCountry: 'US',
  });
}

/** The real path of an opt-out, as the store suite's: DncService parses, validates, applies. */
function submit(service: DncService, change: AddLabelsChange): Promise<unknown> {
  return service.addLabels({
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

/** What the checks cost on one store, in the check suite's order and on its inputs. */
function measureChecks(
  store: DncStore,
  inputs: readonly string[],
  contacts: number,
): { single: number; batchMs: number; blocked: number } {
  // Both stores start from an empty validity memo: the second one measured must not inherit it warm.
  clearPhoneMemo();
  const dnc = serviceFor(store);
  const plan = dnc.plan({ labels: ['DNC_Sales', 'DNC_Marketing'], channel: 'voice' });
  const at = Date.UTC(2026, 10, 28);
  const sample = inputs.slice(0, 200_000);
  let blocked = 0;
  const single = opsPerSecond(() => {
    for (const input of sample) if (!dnc.checkWithPlan(input, plan, at).allowed) blocked++;
    return sample.length;
  }, 2000);
  const batchInputs = inputs.slice(0, contacts);
  dnc.checkMany([], { labels: ['DNC_Sales'] });
  const start = now();
  const summary = dnc.checkMany(batchInputs, {
    labels: ['DNC_Sales', 'DNC_Marketing'],
    channel: 'voice',
    at,
  }).summary;
  const batchMs = now() - start;
  if (blocked === 0 || summary.blocked === 0) throw new Error('the checks found no labelled contact');
  return { single, batchMs, blocked: summary.blocked };
}

interface WriterRun {
  count: number;
  lastEnd: number;
  latencies: Float64Array;
}

/** `writers` closed loops (each waits for its acknowledgement, then writes again) from startAt to endAt. */
async function closedLoops(
  writers: number,
  startAt: number,
  endAt: number,
  write: (writer: number) => Promise<unknown>,
): Promise<WriterRun> {
  const latencies: number[] = [];
  let lastEnd = 0;
  await sleep(startAt - now());
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      while (now() < endAt) {
        const began = now();
        await write(writer);
        lastEnd = now();
        latencies.push(lastEnd - began);
      }
    }),
  );
  return { count: latencies.length, lastEnd, latencies: Float64Array.from(latencies) };
}

/** Open loop: one call every intervalMs whatever the previous ones do; resolves with each one's end time. */
async function openLoop(count: number, intervalMs: number, call: (i: number) => Promise<unknown>) {
  const done: Promise<number>[] = [];
  const start = now();
  for (let i = 0; i < count; i++) {
    await sleep(start + i * intervalMs - now());
    done.push(call(i).then(() => now()));
  }
  return Promise.all(done);
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The records after `after`, read as the store reads them (pages of 5,000 by seq), not parsed. */
async function readTrail(url: string, after: number): Promise<{ ms: number; records: number }> {
  const client = await connect(url);
  try {
    const start = now();
    let records = 0;
    let seq = after;
    for (;;) {
      const rows = await client.query<{ seq: string; line: string }>(
        'SELECT seq, line FROM dnc.audit WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT 5000',
        [seq, Number.MAX_SAFE_INTEGER],
      );
      records += rows.rows.length;
      if (rows.rows.length > 0) seq = Number(rows.rows[rows.rows.length - 1].seq);
      if (rows.rows.length < 5000) break;
    }
    return { ms: now() - start, records };
  } finally {
    await client.end();
  }
}

function instanceProcess(): void {
  let store: PostgresStore | undefined;
  let service: DncService | undefined;
  let url = '';
  let seen: Map<string, number> | undefined;
  let probe: Client | undefined;

  const handlers: Record<string, (args: Record<string, unknown>) => unknown> = {
    async open(args) {
      url = String(args.url);
      fresh = validNumbers(Number(args.fresh), Number(args.seed));
      const heapBefore = heapUsedAfterGc();
      const rssBefore = process.memoryUsage().rss;
      store = new PostgresStore({
        connectionString: url,
        auditKey: String(args.key),
        instance: String(args.instance),
        maxStaleness: Number(args.maxStaleness),
        logger: quiet,
        ...(args.snapshotEvery !== undefined ? { snapshotEvery: Number(args.snapshotEvery) } : {}),
      });
      const openMs = await timeMs(() => store!.open());
      // After an open from a snapshot the trail before it is walked in the background: timed on its own,
      // and over before the heap is read and the checks are measured.
      const trailCheckedMs = await timeMs(() => store!.trailChecked());
      const heap = heapUsedAfterGc() - heapBefore;
      const rss = process.memoryUsage().rss - rssBefore;
      service = serviceFor(store);
      store.onChange((rec) => {
        if (seen === undefined) return;
        const at = now();
        const key = rec.keys[0];
        // Seen means B's own lookup answers with it, which is what a check on B reads.
        try {
          if (!seen.has(key) && store!.lookup(key) !== undefined) seen.set(key, at);
        } catch {
          // failing closed: not seen yet
        }
      });
      const status = store.status();
      if (status.state !== 'ready') throw new Error(`the store is ${status.state} after the open`);
      return {
        openMs,
        trailCheckedMs,
        heap,
        rss,
        contacts: status.contacts,
        snapshotSeq: status.snapshotSeq,
      };
    },
    async snapshot() {
      let written = false;
      const ms = await timeMs(async () => {
        written = await store!.snapshot();
      });
      return { ms, written };
    },

    readTrail: (args) => readTrail(String(args.url), Number(args.after)),
    async checks(args) {
      // The check suite's inputs: half stored contacts, half valid numbers the store does not hold.
      const contacts = Number(args.contacts);
      const numbers = validNumbers(2 * contacts);
      const inputs = numbers
        .filter((_, i) => i % 2 === 0)
        .concat(numbers.filter((_, i) => i % 2 === 1))
        .map((v) => (' ' + v).slice(1));
      const postgres = measureChecks(store!, inputs, contacts);
      await store!.close();
      store = undefined;
      service = undefined;
      // The baseline: the embedded store opened on a journal of the same contacts.
      const dir = mkdtempSync(join(tmpdir(), 'dnc-pg-bench-embedded-'));
      try {
        writeJournal(join(dir, 'dnc-store.events.ndjson'), numbers.slice(0, contacts));
        const embedded = new EmbeddedStore({ path: join(dir, 'dnc-store.json'), logger: quiet });
        const heapBefore = heapUsedAfterGc();
        await embedded.open();
        const heap = heapUsedAfterGc() - heapBefore;
        const embeddedChecks = measureChecks(embedded, inputs, contacts);
        await embedded.close();
        return { postgres, embedded: embeddedChecks, embeddedHeap: heap };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async writers(args) {
      const s = service!;
      return closedLoops(Number(args.writers), Number(args.startAt), Number(args.endAt), () =>
        submit(s, nextChange()),
      );
    },
    async baselineWriters(args) {
      // One INSERT per opt-out, committed on its own (autocommit), into a table shaped and indexed as the
      // trail; no chain, no grouping: the naive durable write on the same server.
      const clients = await Promise.all(
        Array.from({ length: Number(args.writers) }, () => connect(String(args.url))),
      );
      try {
        return await closedLoops(Number(args.writers), Number(args.startAt), Number(args.endAt), (w) => {
          const change = normaliseChange(nextChange());
          return clients[w].query(
            `INSERT INTO dnc_bench.optouts (line, keys, labels, source, at, instance)
             VALUES ($1, $2, $3, $4, $5, $6)`,
            [JSON.stringify(change), change.keys, change.labels, change.source, new Date(change.at), 'naive'],
          );
        });
      } finally {
        await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
      }
    },
    async writeCount(args) {
      const s = service!;
      let left = Number(args.count);
      let last = '';
      await Promise.all(
        Array.from({ length: Number(args.writers) }, async () => {
          while (left > 0) {
            left--;
            const change = nextChange();
            await submit(s, change);
            last = change.keys[0];
          }
        }),
      );
      return { seq: store!.status().seq, last };
    },
    async propagationSend(args) {
      const s = service!;
      const keys: string[] = [];
      const acked = await openLoop(Number(args.count), Number(args.interval), () => {
        const change = nextChange();
        keys.push(change.keys[0]);
        return submit(s, change);
      });
      return { keys, acked: Float64Array.from(acked) };
    },
    watchStart() {
      seen = new Map();
    },
    async watchStop(args) {
      const keys = args.keys as string[];
      const deadline = now() + 10_000;
      while (seen!.size < keys.length && now() < deadline) await sleep(10);
      const result = Float64Array.from(keys, (key) => seen!.get(key) ?? NaN);
      seen = undefined;
      return result;
    },
    async probeListen() {
      probe = await connect(url);
      seen = new Map();
      probe.on('notification', (message) => {
        const at = now();
        if (message.payload !== undefined && !seen!.has(message.payload)) seen!.set(message.payload, at);
      });
      await probe.query('LISTEN dnc_bench_probe');
    },
    async probeStop(args) {
      const result = (await handlers.watchStop(args)) as Float64Array;
      await probe?.end();
      probe = undefined;
      return result;
    },
    async probeSend(args) {
      // A few connections, as the store's pool: one NOTIFY may start before the previous one returned.
      const pool = new Pool({ connectionString: url, max: 4 });
      pool.on('error', () => undefined);
      try {
        // Connected before the first NOTIFY is timed.
        await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT 1')));
        const keys: string[] = [];
        const acked = await openLoop(Number(args.count), Number(args.interval), (i) => {
          keys.push(`probe-${i}`);
          return pool.query('SELECT pg_notify($1, $2)', ['dnc_bench_probe', `probe-${i}`]);
        });
        return { keys, acked: Float64Array.from(acked) };
      } finally {
        await pool.end();
      }
    },
    status() {
      const status = store!.status();
      return { seq: status.seq, contacts: status.contacts, state: status.state };
    },
    /** Whether a check on this instance would be answered now, or fail closed. */
    answers(args) {
      try {
        store!.lookup(String(args.key));
        return 'answers';
      } catch (error) {
        return isDncError(error) ? error.code : String(error);
      }
    },
    /** Resolves when this instance's lookups answer again and hold `key`, with its view at `seq`. */
    async waitCaughtUp(args) {
      const target = Number(args.seq);
      const key = String(args.key);
      const deadline = now() + 60_000;
      for (;;) {
        try {
          if (store!.status().seq >= target && store!.lookup(key) !== undefined) return now();
        } catch {
          // still failing closed
        }
        if (now() > deadline) throw new Error('the instance did not catch up within 60 s');
        await sleep(1);
      }
    },
    async close() {
      await store?.close();
      store = undefined;
    },
  };

  process.on('message', (message: { id: number; cmd: string; args: Record<string, unknown> }) => {
    const handler = handlers[message.cmd];
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (result) => process.send!({ id: message.id, result }),
        (error: unknown) =>
          process.send!({ id: message.id, error: (error as Error).message ?? String(error) }),
      );
  });
  // The orchestrator is gone: nothing left to measure.
  process.on('disconnect', () => process.exit(0));
}

// ------------------------------------------------------------------------------------------------
// Orchestrator.

class Instance {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(readonly name: string) {
    this.child = fork(__filename, ['--instance'], {
      execArgv: ['--expose-gc', '--max-old-space-size=16384'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error !== undefined) waiting?.reject(new Error(`${name}: ${message.error}`));
      else waiting?.resolve(message.result);
    });
    this.child.on('exit', (code) => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`${name} exited (${code})`));
      this.pending.clear();
    });
  }

  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = ++this.nextId;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, args });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    await this.call('close').catch(() => undefined);
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    await exited;
  }
}

interface OpenResult {
  openMs: number;
  trailCheckedMs: number;
  snapshotSeq: number;
  heap: number;
  rss: number;
  contacts: number;
}

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

function sorted(values: ArrayLike<number>): number[] {
  return Array.from(values).sort((a, b) => a - b);
}

function ms(value: number): number {
  return Number(value.toFixed(1));
}

/**
 * Writes the trail of `contacts` opt-outs (one new contact each) with SQL in bulk, every record sealed
 * as the store's writer seals it, and moves the chain head; returns the numbers written.
 */
async function fillTrail(admin: Client, contacts: number, key: AuditKey): Promise<void> {
  const numbers = validNumbers(contacts);
  const random = seededRandom(42);
  let prev = GENESIS_HASH;
  await admin.query('BEGIN');
  const BATCH = 10_000;
  for (let from = 0; from < contacts; from += BATCH) {
    const seqs: number[] = [];
    const lines: string[] = [];
    const keys: string[] = [];
    const labels: string[] = [];
    const sources: string[] = [];
    const ats: string[] = [];
    for (let i = from; i < Math.min(contacts, from + BATCH); i++) {
      const change = normaliseChange(makeChange(numbers[i], random));
      // The first record the key MACs names it, as the writer's switch-over record does.
      const content = recordContent(i + 1, prev, change, change.labels!, i === 0 ? key.id : undefined);
      const sealed = sealRecord(content, key);
      prev = sealed.record.hash;
      seqs.push(i + 1);
      lines.push(sealed.line.slice(0, -1));
      keys.push(change.keys[0]);
      labels.push(change.labels![0]);
      sources.push(change.source);
      ats.push(sealed.record.at);
    }
    await admin.query(
      `INSERT INTO dnc.audit (seq, line, keys, labels, source, at, instance)
       SELECT s, l, ARRAY[k], ARRAY[lb], src, a::timestamptz, 'bench-fill'
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(s, l, k, lb, src, a)`,
      [seqs, lines, keys, labels, sources, ats],
    );
  }
  await admin.query('UPDATE dnc.chain_head SET seq = $1, hash = $2, chain_key = $3 WHERE id = 1', [
    contacts,
    prev,
    key.id,
  ]);
  await admin.query('COMMIT');
  await admin.query('VACUUM ANALYZE dnc.audit');
}

async function orchestrate(): Promise<void> {
  const scale = Number(process.env.DNC_BENCH_SCALE ?? '1');
  if (!(scale > 0 && scale <= 10)) throw new Error('DNC_BENCH_SCALE must be a number in (0, 10]');
  const full = scale >= 1;
  const CONTACTS = Math.round(1_000_000 * scale);
  const label = CONTACTS >= 1_000_000 ? `${CONTACTS / 1_000_000}M` : `${CONTACTS / 1000}k`;
  /** How long each writer phase runs. */
  const WRITE_MS = full ? 10_000 : 3_000;
  const WRITERS = 50;
  const PROPAGATIONS = 1_000;
  const PROPAGATION_INTERVAL = 5;
  const CATCH_UP_CHANGES = 10_000;
  // A smaller run waits less, with maxStaleness cut below the wait, so B still fails closed during the
  // disconnection and comes back through the same path: the poll reconnects, reads the missed records.
  const DISCONNECT_MS = full ? 30_000 : 6_000;
  const MAX_STALENESS = full ? 30_000 : 4_000;
  const FRESH = Math.round(full ? 200_000 : 60_000);

  const server = await testPostgres();
  const url = await freshDatabase();
  const database = new URL(url).pathname.slice(1);
  const admin = await connect(url);
  const key = AuditKey.generate();
  const instances: Instance[] = [];
  const started = (name: string): Instance => {
    const instance = new Instance(name);
    instances.push(instance);
    return instance;
  };
  try {
    // The schema, made by a store as at any first start.
    const creator = new PostgresStore({ connectionString: url, auditKey: key.export(), logger: quiet });
    await creator.open();
    await creator.close();
    log(`filling the trail with ${label} opt-outs...`);
    const fillMs = await timeMs(() => fillTrail(admin, CONTACTS, key));
    log(`filled in ${(fillMs / 1000).toFixed(1)} s`);
    await admin.query(`CREATE SCHEMA dnc_bench;
      CREATE SEQUENCE dnc_bench.optout_seq;
      CREATE TABLE dnc_bench.optouts (LIKE dnc.audit INCLUDING ALL);
      ALTER TABLE dnc_bench.optouts ALTER seq SET DEFAULT nextval('dnc_bench.optout_seq');
      CREATE ROLE bench_b LOGIN SUPERUSER;`);
    const urlB = server.urlFor(database, 'bench_b');

    // ---- cold start and checks, on an instance of its own
    {
      const c = started('C');
      const floor = await c.call<{ ms: number; records: number }>('readTrail', { url, after: 0 });
      const openArgs = { url, key: key.export(), maxStaleness: 30_000, fresh: 1, seed: 5 };
      // No snapshot in the database yet (and none written automatically): the whole trail is read.
      const unsnapped = await c.call<OpenResult>('open', {
        ...openArgs,
        instance: 'bench-c0',
        snapshotEvery: Number.MAX_SAFE_INTEGER,
      });
      if (unsnapped.contacts !== CONTACTS || unsnapped.snapshotSeq !== 0)
        throw new Error(`C holds ${unsnapped.contacts} contacts, snapshot ${unsnapped.snapshotSeq}`);
      record({
        suite: SUITE,
        case: `cold start of an instance against ${label} contacts with no snapshot (reads, verifies and folds the whole trail)`,
        value: Number((unsnapped.openMs / 1000).toFixed(2)),
        unit: 's',
        baseline: {
          case: 'SELECT the whole trail in the same pages, no parse or verify',
          value: Number((floor.ms / 1000).toFixed(2)),
        },
        note: `${((unsnapped.openMs / CONTACTS) * 1000).toFixed(2)} s per million records: the first start after an upgrade to snapshots, or with every snapshot unusable`,
      });
      const snapshot = await c.call<{ ms: number; written: boolean }>('snapshot', {});
      if (!snapshot.written) throw new Error('C wrote no snapshot');
      record({
        suite: SUITE,
        case: `writing a snapshot of ${label} contacts (the leader, in the background)`,
        value: Number((snapshot.ms / 1000).toFixed(2)),
        unit: 's',
        baseline: {
          case: 'cold start from the whole trail (what a snapshot saves every later start)',
          value: Number((unsnapped.openMs / 1000).toFixed(2)),
        },
      });
      await c.stop();
      // A process of its own, as a real start is (and nothing of C's left on its heap).
      const d = started('D');
      const opened = await d.call<OpenResult>('open', { ...openArgs, instance: 'bench-d' });
      if (opened.contacts !== CONTACTS || opened.snapshotSeq !== CONTACTS)
        throw new Error(`C holds ${opened.contacts} contacts, snapshot ${opened.snapshotSeq}`);
      record({
        suite: SUITE,
        case: `cold start of an instance against ${label} contacts (reads the newest snapshot and the trail after it)`,
        value: Number((opened.openMs / 1000).toFixed(2)),
        unit: 's',
        baseline: {
          case: 'cold start from the whole trail, same run',
          value: Number((unsnapped.openMs / 1000).toFixed(2)),
        },
        goal: full ? '<= 5 s' : undefined,
        met: full ? opened.openMs <= 5000 : undefined,
        note:
          `checks answered from then on; the walk of the ${label} records before the snapshot (verify, in the background)` +
          ` took ${(opened.trailCheckedMs / 1000).toFixed(1)} s more (fixed costs included: connect, schema check, LISTEN)`,
      });
      const checks = await d.call<{
        postgres: { single: number; batchMs: number; blocked: number };
        embedded: { single: number; batchMs: number; blocked: number };
        embeddedHeap: number;
      }>('checks', { contacts: CONTACTS });
      record({
        suite: SUITE,
        case: `heap per contact of a PostgreSQL instance's view, ${label} contacts with one label each`,
        value: Math.round(opened.heap / CONTACTS),
        unit: 'bytes/contact',
        baseline: {
          case: 'embedded store opened on the same contacts',
          value: Math.round(checks.embeddedHeap / CONTACTS),
        },
        note: `process RSS grew ${Math.round(opened.rss / CONTACTS)} bytes/contact (${Math.round(opened.rss / 2 ** 20)} MiB) during the open`,
      });
      record({
        suite: SUITE,
        case: `single checks, E.164 input, on a PostgreSQL instance with ${label} contacts (DncService)`,
        value: Math.round(checks.postgres.single),
        unit: 'checks/s',
        baseline: {
          case: 'the same checks on the embedded store',
          value: Math.round(checks.embedded.single),
        },
        goal: '>= 1,000,000 checks/s',
        met: checks.postgres.single >= 1_000_000,
      });
      record({
        suite: SUITE,
        case: `batch check of ${label} distinct contacts on a PostgreSQL instance (DncService.checkMany)`,
        value: Number((checks.postgres.batchMs / 1000).toFixed(3)),
        unit: 's',
        baseline: {
          case: 'the same batch on the embedded store',
          value: Number((checks.embedded.batchMs / 1000).toFixed(3)),
        },
        goal: full ? '<= 2 s' : undefined,
        met: full ? checks.postgres.batchMs <= 2000 : undefined,
        note: `${checks.postgres.blocked} blocked (embedded: ${checks.embedded.blocked})`,
      });
      if (checks.postgres.blocked !== checks.embedded.blocked)
        throw new Error('the PostgreSQL and embedded stores decided differently');
      await d.stop();
    }

    // ---- two instances, A and B, in two processes; B connects as its own role (for the disconnection)
    const a = started('A');
    const b = started('B');
    const common = { key: key.export(), fresh: FRESH, maxStaleness: MAX_STALENESS };
    await a.call<OpenResult>('open', { ...common, url, instance: 'bench-a', seed: 101 });
    await b.call<OpenResult>('open', { ...common, url: urlB, instance: 'bench-b', seed: 202 });

    // ---- durable opt-outs: 25 writers on each instance; baseline: 25 naive writers in each process
    const writePhase = async (
      cmd: string,
      parts: readonly { instance: Instance; target: string; writers: number }[],
    ): Promise<{ perSecond: number; latencies: number[] }> => {
      const startAt = now() + 500;
      const endAt = startAt + WRITE_MS;
      const runs = await Promise.all(
        parts.map(({ instance, target, writers }) =>
          instance.call<WriterRun>(cmd, { writers, startAt, endAt, url: target }),
        ),
      );
      const count = runs.reduce((sum, run) => sum + run.count, 0);
      const end = Math.max(...runs.map((run) => run.lastEnd));
      return {
        perSecond: (count * 1000) / (end - startAt),
        latencies: sorted(runs.flatMap((run) => Array.from(run.latencies))),
      };
    };
    const spreadOver = [
      { instance: a, target: url, writers: WRITERS / 2 },
      { instance: b, target: urlB, writers: WRITERS / 2 },
    ];
    log('durable opt-outs: naive writers...');
    const naive = await writePhase('baselineWriters', spreadOver);
    log('durable opt-outs: the store on two instances...');
    const stores = await writePhase('writers', spreadOver);
    log('durable opt-outs: the store on one instance...');
    const single = await writePhase('writers', [{ instance: a, target: url, writers: WRITERS }]);
    const what = `${WRITERS} concurrent writers (closed loops) over two instances in two processes, ${WRITE_MS / 1000} s, DncService.addLabels`;
    const naiveThroughput = {
      case: `one INSERT + COMMIT per opt-out from ${WRITERS} concurrent clients (25 per process)`,
      value: Math.round(naive.perSecond),
    };
    const latencyNote = (run: { latencies: number[] }): string =>
      `p50 ${percentile(run.latencies, 50).toFixed(1)} ms, p99 ${percentile(run.latencies, 99).toFixed(1)} ms, max ${run.latencies[run.latencies.length - 1].toFixed(1)} ms`;
    record({
      suite: SUITE,
      case: `durable opt-outs, ${what}: throughput`,
      value: Math.round(stores.perSecond),
      unit: 'opt-outs/s',
      baseline: naiveThroughput,
      goal: '>= 5,000 opt-outs/s',
      met: stores.perSecond >= 5000,
      note: `${stores.latencies.length} opt-outs; the trail held ${label} records`,
    });
    const storeP99 = percentile(stores.latencies, 99);
    record({
      suite: SUITE,
      case: `durable opt-outs, ${what}: p99 latency`,
      value: ms(storeP99),
      unit: 'ms',
      baseline: {
        case: `one INSERT + COMMIT per opt-out from ${WRITERS} concurrent clients: p99`,
        value: ms(percentile(naive.latencies, 99)),
      },
      goal: '<= 50 ms',
      met: storeP99 <= 50,
      note: `${latencyNote(stores)} (naive: ${latencyNote(naive)})`,
    });
    // Not a goal of the issue: what the same writers get from one instance, where no transaction waits
    // for the other instance's lock or folds its records first (the cost of sharing the chain head).
    record({
      suite: SUITE,
      case: `durable opt-outs, the same ${WRITERS} writers on one instance: throughput`,
      value: Math.round(single.perSecond),
      unit: 'opt-outs/s',
      baseline: naiveThroughput,
      note: latencyNote(single),
    });

    // ---- propagation A -> B: from A's acknowledgement to B's lookup answering with the contact
    log('propagation A -> B...');
    const spread = async (
      start: string,
      send: string,
      stop: string,
    ): Promise<{ latencies: number[]; missing: number }> => {
      await b.call(start);
      const sent = await a.call<{ keys: string[]; acked: Float64Array }>(send, {
        count: PROPAGATIONS,
        interval: PROPAGATION_INTERVAL,
      });
      const seen = await b.call<Float64Array>(stop, { keys: sent.keys });
      const latencies = sorted(
        Array.from(seen, (at, i) => at - sent.acked[i]).filter((v) => !Number.isNaN(v)),
      );
      return { latencies, missing: PROPAGATIONS - latencies.length };
    };
    const bare = await spread('probeListen', 'probeSend', 'probeStop');
    const propagation = await spread('watchStart', 'propagationSend', 'watchStop');
    if (propagation.missing > 0) throw new Error(`${propagation.missing} opt-outs never reached B`);
    const baseNote = `bare NOTIFY -> LISTEN between the same processes: p50 ${percentile(bare.latencies, 50).toFixed(2)} ms`;
    const pcase = `propagation A -> B over ${PROPAGATIONS} opt-outs (one every ${PROPAGATION_INTERVAL} ms on A), A's acknowledgement to B's lookup`;
    record({
      suite: SUITE,
      case: `${pcase}: p50`,
      value: Number(percentile(propagation.latencies, 50).toFixed(2)),
      unit: 'ms',
      baseline: {
        case: 'pg_notify on A acknowledged -> notification on B (LISTEN): p50',
        value: Number(percentile(bare.latencies, 50).toFixed(2)),
      },
      note: `${propagation.latencies.filter((v) => v < 0).length} negative (B folded the record before A's process had read its COMMIT reply)`,
    });
    const propagationP99 = percentile(propagation.latencies, 99);
    record({
      suite: SUITE,
      case: `${pcase}: p99`,
      value: Number(propagationP99.toFixed(2)),
      unit: 'ms',
      baseline: {
        case: 'pg_notify on A acknowledged -> notification on B (LISTEN): p99',
        value: Number(percentile(bare.latencies, 99).toFixed(2)),
      },
      goal: '<= 250 ms',
      met: propagationP99 <= 250,
      note: `max ${propagation.latencies[propagation.latencies.length - 1].toFixed(1)} ms; ${baseNote}`,
    });

    // ---- catch-up: B cut off (its role may not log in, its sessions terminated), A writes 10,000 changes
    log(
      `catch-up: B disconnected for ${DISCONNECT_MS / 1000} s while A writes ${CATCH_UP_CHANGES} changes...`,
    );
    const before = await b.call<{ seq: number }>('status');
    await admin.query('ALTER ROLE bench_b NOLOGIN');
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'bench_b'`);
    const cutAt = now();
    const written = await a.call<{ seq: number; last: string }>('writeCount', {
      count: CATCH_UP_CHANGES,
      writers: WRITERS,
    });
    const writtenMs = now() - cutAt;
    await sleep(cutAt + DISCONNECT_MS - now());
    // B's view was last confirmed a moment before the cut: give maxStaleness that moment to run out, so
    // that B has failed closed (the path measured) before the database comes back.
    let whileCut = await b.call<string>('answers', { key: written.last });
    for (let tries = 0; whileCut === 'answers' && tries < 40; tries++) {
      await sleep(50);
      whileCut = await b.call<string>('answers', { key: written.last });
    }
    if (whileCut === 'answers') throw new Error('B still answered checks past maxStaleness while cut off');
    const caughtUp = b.call<number>('waitCaughtUp', { seq: written.seq, key: written.last });
    await b.call('status'); // B is polling for its view before the role may log in again
    const restoredAt = now();
    await admin.query('ALTER ROLE bench_b LOGIN');
    const catchUpMs = (await caughtUp) - restoredAt;
    const [statusA, statusB] = await Promise.all([
      a.call<{ seq: number; contacts: number }>('status'),
      b.call<{ seq: number; contacts: number }>('status'),
    ]);
    if (statusA.seq !== statusB.seq || statusA.contacts !== statusB.contacts)
      throw new Error(
        `B caught up to ${statusB.seq}/${statusB.contacts}, A is at ${statusA.seq}/${statusA.contacts}`,
      );
    const tail = await b.call<{ ms: number; records: number }>('readTrail', { url: urlB, after: before.seq });
    record({
      suite: SUITE,
      case: `catch-up of B after ${DISCONNECT_MS / 1000} s disconnected while A made ${written.seq - before.seq} changes: database back -> B's checks answer with every change`,
      value: Number((catchUpMs / 1000).toFixed(3)),
      unit: 's',
      baseline: {
        case: `SELECT the ${tail.records} missed records in the same pages, no parse or verify`,
        value: Number((tail.ms / 1000).toFixed(3)),
      },
      goal: '<= 2 s',
      met: catchUpMs <= 2000,
      note:
        `cut off for ${((restoredAt - cutAt) / 1000).toFixed(1)} s; checks on B then: ${whileCut} (maxStaleness ${MAX_STALENESS / 1000} s);` +
        ` A wrote the changes in ${(writtenMs / 1000).toFixed(1)} s; B waits for its next poll (1 s) to reconnect`,
    });
  } finally {
    await Promise.all(instances.map((instance) => instance.stop().catch(() => undefined)));
    await admin.end().catch(() => undefined);
  }
}

if (process.argv.includes('--instance')) {
  instanceProcess();
} else {
  // Interrupted: exit through process.exit so the throwaway server is stopped and its files removed.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  orchestrate().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
