/**
 * The HTTP API's import jobs and Idempotency-Keys on the PostgreSQL store, with two instances on one
 * real database (test/support/postgres.ts): each instance is a PostgresStore, a DncService and the API
 * (lib/api/router.ts) served over real HTTP, as a Node-RED process behind a load balancer would run them.
 * What a client behind the balancer relies on: a job started on A is read (progress, summary, rejected
 * rows) on B; a retry that lands on B replays A's answer and applies nothing twice; the same key sent to
 * both at once is applied once; a restart keeps both; a job whose instance stops is reported failed
 * (DNC_IMPORT_INTERRUPTED), never left running; the database failing is a 503 with a code.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- JSON bodies are untyped here */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { createApiContext, createDncApi, type ApiContext } from '../lib/api/router';
import { DncService } from '../lib/service';
import { PostgresIdempotency } from '../lib/store/postgres/idempotency';
import { PostgresJobRegistry } from '../lib/store/postgres/jobs';
import { grantSql } from '../lib/store/postgres/schema';
import { PostgresStore } from '../lib/store/postgres/store';
import { freshDatabase, requirePostgres } from './support/postgres';

const KEY = randomBytes(32).toString('base64');
const quiet = { warn: (): void => undefined };
const CALLER = { id: 'token-1', access: 'write' as const, principal: 'token-1' };

interface Instance {
  readonly name: string;
  readonly store: PostgresStore;
  readonly ctx: ApiContext;
  readonly base: string;
  /** Stops serving, stops the jobs (as a redeploy does), closes the store. */
  close(): Promise<void>;
}

interface JobTiming {
  readonly saveInterval?: number;
  readonly staleAfter?: number;
}

async function startInstance(url: string, name: string, timing: JobTiming = {}): Promise<Instance> {
  const store = new PostgresStore({
    connectionString: url,
    auditKey: KEY,
    logger: quiet,
    pollInterval: 50,
    instance: name,
  });
  await store.open();
  const service = new DncService({ labels: [{ name: 'DNC_Sales' }], store });
  const ctx = createApiContext({
    id: 'c1',
    service,
    jobs: new PostgresJobRegistry(store, 'c1', { saveInterval: 100, ...timing }),
  });
  const api = createDncApi({ resolve: () => ctx, configParam: false, log: () => undefined });
  const server: Server = createServer((req, res) =>
    api.handle(
      req,
      res,
      () => {
        res.statusCode = 404;
        res.end();
      },
      CALLER,
    ),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stopServing = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    name,
    store,
    ctx,
    base,
    close: async () => {
      await stopServing();
      await ctx.dispose();
      await store.close();
    },
  };
}

interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

async function call(
  at: Instance,
  method: string,
  path: string,
  body?: string | Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const json = body !== undefined && typeof body !== 'string';
  const res = await fetch(at.base + path, {
    method,
    headers: { ...(json ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: json ? JSON.stringify(body) : body,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

function importCsv(at: Instance, csv: string, headers: Record<string, string> = {}): Promise<Answer> {
  return call(at, 'POST', '/imports', csv, { 'Content-Type': 'text/csv', ...headers });
}

/** A CSV of `n` distinct phone numbers to label, with a bad contact every 1000th row. */
function bigCsv(n: number, from = 0): string {
  const lines = ['phone,labels'];
  for (let i = 0; i < n; i++) {
    lines.push(i % 1000 === 999 ? `not-a-number-${i},DNC_Sales` : `+1415${2_000_000 + from + i},DNC_Sales`);
  }
  return `${lines.join('\n')}\n`;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 40_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function finished(at: Instance, id: string): Promise<any> {
  return until(`job ${id} finished`, async () => {
    const res = await call(at, 'GET', `/imports/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body.state === 'queued' || res.body.state === 'running' ? undefined : res.body;
  });
}

let roles = 0;

async function asSuperuser(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The audit records in the database (every instance's). */
async function auditCount(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM dnc.audit')).rows[0].n);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL store: import jobs and idempotency keys shared by the instances', function () {
  this.timeout(90_000);
  requirePostgres();

  let url: string;
  let a: Instance;
  let b: Instance;
  const open: Instance[] = [];

  async function instance(name: string, timing?: JobTiming, at = url): Promise<Instance> {
    const started = await startInstance(at, name, timing);
    open.push(started);
    return started;
  }

  beforeEach(async function () {
    url = await freshDatabase();
    a = await instance('A');
    b = await instance('B');
  });
  afterEach(async function () {
    await Promise.all(open.splice(0).map((i) => i.close().catch(() => undefined)));
  });

  it('an import started on A is read on B: its progress while it runs, then its summary and rejected rows', async function () {
    const rows = 30_000;
    const started = await importCsv(a, bigCsv(rows));
    assert.equal(started.status, 202, started.text);
    const id = started.body.id as string;
    // B knows the job at once (it is recorded before the 202), and sees it move.
    const seen = await call(b, 'GET', `/imports/${id}`);
    assert.equal(seen.status, 200, seen.text);
    assert.ok(['queued', 'running'].includes(seen.body.state));
    const midway = await until('B sees progress while the job runs', async () => {
      const res = await call(b, 'GET', `/imports/${id}`);
      if (res.body.state !== 'running') return res.body.state === 'queued' ? undefined : res.body;
      return res.body.rows.read > 0 ? res.body : undefined;
    });
    assert.equal(midway.state, 'running', 'the job finished before B saw it run: make the file larger');
    assert.ok(midway.progress > 0 && midway.progress < 1, JSON.stringify(midway.progress));

    const onB = await finished(b, id);
    assert.equal(onB.state, 'done', JSON.stringify(onB.error));
    assert.equal(onB.progress, 1);
    const bad = rows / 1000;
    assert.deepEqual(onB.rows, { read: rows, applied: rows - bad, unchanged: 0, failed: bad });
    assert.deepEqual(
      onB.errors.map((e: any) => [e.line, e.code]),
      Array.from({ length: bad }, (_, i) => [(i + 1) * 1000 + 1, 'DNC_INVALID_CONTACT']),
    );
    assert.equal(onB.principal, 'token-1');
    // The same job, whichever instance answers.
    assert.deepEqual((await call(a, 'GET', `/imports/${id}`)).body, onB);
    const listed = await call(b, 'GET', '/imports');
    assert.deepEqual(
      listed.body.jobs.map((j: any) => j.id),
      [id],
    );
    assert.equal(await auditCount(url), rows - bad);
    // An id no job has.
    const other = await call(b, 'GET', `/imports/${randomBytes(8).toString('hex')}`);
    assert.equal(other.status, 404);
    assert.equal(other.body.code, 'DNC_NOT_FOUND');
  });

  it("a retry on B with A's Idempotency-Key replays A's answer and applies nothing twice; another body is a 409", async function () {
    const body = { contact: '+14155550100', labels: ['DNC_Sales'] };
    const first = await call(a, 'POST', '/labels/add', body, { 'Idempotency-Key': 'k-1' });
    assert.equal(first.status, 200, first.text);
    const retry = await call(b, 'POST', '/labels/add', body, { 'Idempotency-Key': 'k-1' });
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(retry.body, first.body);
    assert.equal(await auditCount(url), 1, 'the replay on B wrote nothing');
    const other = await call(
      b,
      'POST',
      '/labels/add',
      { ...body, contact: '+14155550101' },
      {
        'Idempotency-Key': 'k-1',
      },
    );
    assert.equal(other.status, 409);
    assert.equal(other.body.code, 'DNC_IDEMPOTENCY_CONFLICT');
    assert.equal(await auditCount(url), 1);

    // An import too: the retry on B answers with A's job as it is now, and starts no second job.
    const csv = bigCsv(10);
    const job = await importCsv(a, csv, { 'Idempotency-Key': 'imp-1' });
    assert.equal(job.status, 202, job.text);
    await finished(a, job.body.id);
    const again = await importCsv(b, csv, { 'Idempotency-Key': 'imp-1' });
    assert.equal(again.status, 202, again.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, job.body.id);
    assert.equal(again.body.state, 'done');
    assert.equal((await call(b, 'GET', '/imports')).body.jobs.length, 1);
  });

  it('the same key sent to A and B at the same moment is applied exactly once', async function () {
    const rounds = 20;
    const answers = await Promise.all(
      Array.from({ length: rounds }, async (_, i) => {
        const body = { contact: `+1415555${String(i).padStart(4, '0')}`, labels: ['DNC_Sales'] };
        const key = { 'Idempotency-Key': `race-${i}` };
        return Promise.all([
          call(a, 'POST', '/labels/add', body, key),
          call(b, 'POST', '/labels/add', body, key),
        ]);
      }),
    );
    for (const pair of answers) {
      const ran = pair.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null);
      assert.equal(ran.length, 1, JSON.stringify(pair.map((r) => [r.status, r.body])));
      const loser = pair.find((r) => r !== ran[0])!;
      // The other one waited for nothing: still running (409, retry), or already the replay.
      if (loser.status === 409) {
        assert.equal(loser.body.code, 'DNC_IDEMPOTENCY_CONFLICT');
        assert.equal(loser.headers.get('retry-after'), '1');
      } else {
        assert.equal(loser.status, 200, loser.text);
        assert.equal(loser.headers.get('idempotent-replayed'), 'true');
      }
    }
    assert.equal(await auditCount(url), rounds);
  });

  it('a restart keeps the jobs and the keys', async function () {
    const body = { contact: '+14155550100', labels: ['DNC_Sales'] };
    const first = await call(a, 'POST', '/labels/add', body, { 'Idempotency-Key': 'k-restart' });
    assert.equal(first.status, 200, first.text);
    const job = await importCsv(a, bigCsv(20), { 'Idempotency-Key': 'imp-restart' });
    const done = await finished(a, job.body.id);
    await a.close();
    await b.close();
    const a2 = await instance('A2');
    const view = await call(a2, 'GET', `/imports/${job.body.id}`);
    assert.deepEqual(view.body, done);
    const retry = await call(a2, 'POST', '/labels/add', body, { 'Idempotency-Key': 'k-restart' });
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(retry.body, first.body);
    assert.equal(await auditCount(url), 1 + 20);
  });

  it('a job whose instance closes is reported failed, interrupted, with the rows applied before the stop in the trail', async function () {
    const started = await importCsv(a, bigCsv(200_000));
    assert.equal(started.status, 202, started.text);
    const id = started.body.id as string;
    await until('the job runs', async () => {
      const res = await call(b, 'GET', `/imports/${id}`);
      return res.body.state === 'running' && res.body.rows.applied > 0 ? true : undefined;
    });
    await a.close();
    const onB = await call(b, 'GET', `/imports/${id}`);
    assert.equal(onB.body.state, 'failed', JSON.stringify(onB.body));
    assert.equal(onB.body.error.code, 'DNC_IMPORT_INTERRUPTED');
    assert.match(onB.body.error.message, /submit the file again/);
    assert.ok(onB.body.rows.read < 200_000, 'it stopped before the end');
    assert.equal(
      await auditCount(url),
      onB.body.rows.applied,
      'the rows it says were applied are in the trail',
    );
  });

  it('a job whose instance loses the database for good is reported interrupted once its heartbeat is stale', async function () {
    // Instance D connects as a role of its own, so that the database can be taken from D alone: what a
    // killed process or a partitioned host looks like from the other instances (no more saves).
    const role = `dnc_d_${process.pid}_${++roles}`;
    await asSuperuser(url, `CREATE ROLE ${role} SUPERUSER LOGIN`);
    const asRole = new URL(url);
    asRole.username = role;
    const d = await instance('D', {}, asRole.toString());
    const c = await instance('C', { staleAfter: 2_000 });
    const started = await importCsv(d, bigCsv(200_000));
    assert.equal(started.status, 202, started.text);
    const id = started.body.id as string;
    await until('the job runs', async () => {
      const res = await call(c, 'GET', `/imports/${id}`);
      return res.body.state === 'running' && res.body.rows.read > 0 ? true : undefined;
    });
    await asSuperuser(
      url,
      `ALTER ROLE ${role} NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${role}'`,
    );
    const still = await call(c, 'GET', `/imports/${id}`);
    assert.equal(still.body.state, 'running', 'just after the loss nobody knows yet');
    const failed = await until('reported interrupted', async () => {
      const res = await call(c, 'GET', `/imports/${id}`);
      return res.body.state === 'failed' ? res.body : undefined;
    });
    assert.equal(failed.error.code, 'DNC_IMPORT_INTERRUPTED');
    assert.ok(failed.finishedAt !== null);
    // B's bound is the default 30 s: the row says failed now, for every instance.
    assert.equal((await call(b, 'GET', `/imports/${id}`)).body.state, 'failed');
    assert.equal((await call(b, 'GET', '/imports')).body.jobs[0].error.code, 'DNC_IMPORT_INTERRUPTED');
  });

  it('a cancel sent to B stops the job A runs', async function () {
    const started = await importCsv(a, bigCsv(200_000));
    const id = started.body.id as string;
    await until('the job runs', async () => {
      const res = await call(b, 'GET', `/imports/${id}`);
      return res.body.state === 'running' ? true : undefined;
    });
    const cancel = await call(b, 'DELETE', `/imports/${id}`);
    assert.equal(cancel.status, 200, cancel.text);
    const ended = await finished(b, id);
    assert.equal(ended.state, 'cancelled');
    assert.ok(ended.rows.read < 200_000);
    assert.equal((await call(b, 'DELETE', `/imports/nope`)).status, 404);
  });

  it('an instance connected as the least-privilege role (dncflow schema --grant) keeps jobs and keys', async function () {
    const role = `dnc_app_${process.pid}_${++roles}`;
    await asSuperuser(url, `CREATE ROLE ${role} LOGIN; ${grantSql('dnc', role)}`);
    const asRole = new URL(url);
    asRole.username = role;
    const app = await instance('APP', {}, asRole.toString());
    const body = { contact: '+14155550100', labels: ['DNC_Sales'] };
    const first = await call(app, 'POST', '/labels/add', body, { 'Idempotency-Key': 'k-app' });
    assert.equal(first.status, 200, first.text);
    const job = await importCsv(app, bigCsv(10));
    assert.equal(job.status, 202, job.text);
    assert.equal((await finished(app, job.body.id)).state, 'done');
    assert.equal(
      (await call(b, 'POST', '/labels/add', body, { 'Idempotency-Key': 'k-app' })).headers.get(
        'idempotent-replayed',
      ),
      'true',
    );
  });

  it('a database error on these paths is a 503 with a code, never a stack or the connection string', async function () {
    await asSuperuser(url, 'DROP TABLE dnc.idempotency_keys; DROP TABLE dnc.import_jobs');
    const answers = [
      await call(
        a,
        'POST',
        '/labels/add',
        { contact: '+14155550100', labels: ['DNC_Sales'] },
        { 'Idempotency-Key': 'k' },
      ),
      await call(a, 'GET', '/imports'),
      await call(a, 'GET', '/imports/x'),
      await importCsv(a, bigCsv(5)),
    ];
    for (const res of answers) {
      assert.equal(res.status, 503, res.text);
      assert.equal(res.body.code, 'DNC_STORE_UNAVAILABLE');
      assert.ok(!res.text.includes('postgres://') && !/\n\s+at /.test(res.text), res.text);
    }
    assert.equal(await auditCount(url), 0, 'nothing applied without the key');
  });
});

describe('PostgreSQL idempotency keys: abandoned claims and expiry', function () {
  this.timeout(20_000);
  requirePostgres();

  it('a pending claim older than the bound is taken over, and its late answer is dropped', async function () {
    const url = await freshDatabase();
    const store = new PostgresStore({ connectionString: url, auditKey: KEY, logger: quiet, instance: 'A' });
    await store.open();
    try {
      const keys = new PostgresIdempotency(store, { pendingLimit: 300 });
      const first = await keys.claim('scope', 'k', 'f');
      assert.equal(first.kind, 'new');
      assert.equal((await keys.claim('scope', 'k', 'f')).kind, 'running');
      assert.equal((await keys.claim('scope', 'k', 'other')).kind, 'conflict');
      await new Promise((resolve) => setTimeout(resolve, 400));
      const second = await keys.claim('scope', 'k', 'f');
      assert.equal(second.kind, 'new', 'the instance that claimed it is gone: the key is not blocked');
      await keys.complete('scope', 'k', (first as { token: string }).token, {
        status: 200,
        body: { old: true },
      });
      assert.equal((await keys.claim('scope', 'k', 'f')).kind, 'running', 'the old claim answers nothing');
      await keys.complete('scope', 'k', (second as { token: string }).token, {
        status: 200,
        body: { b: 1, a: 2 },
      });
      const replay = await keys.claim('scope', 'k', 'f');
      assert.deepEqual(replay, { kind: 'replay', response: { status: 200, body: { b: 1, a: 2 } } });
      assert.deepEqual(Object.keys((replay as any).response.body), ['b', 'a'], 'members in their order');
    } finally {
      await store.close();
    }
  });

  it('expired keys are claimed anew and pruned from the table', async function () {
    const url = await freshDatabase();
    const store = new PostgresStore({ connectionString: url, auditKey: KEY, logger: quiet, instance: 'A' });
    await store.open();
    try {
      const short = new PostgresIdempotency(store, { ttl: 100 });
      for (const key of ['k1', 'k2', 'k3']) {
        const claim = await short.claim('scope', key, 'f');
        assert.equal(claim.kind, 'new');
        await short.complete('scope', key, (claim as { token: string }).token, { status: 200, body: null });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Another instance's first claim prunes what has expired (k2, k3); k1, expired, is free again.
      const fresh = new PostgresIdempotency(store);
      assert.equal((await fresh.claim('scope', 'k1', 'another body')).kind, 'new', 'an expired key is free');
      assert.equal((await fresh.claim('scope', 'k4', 'f')).kind, 'new');
      await until('pruned', async () => {
        const rows = await store.query<{ key: string }>('SELECT key FROM dnc.idempotency_keys ORDER BY key');
        const left = rows.rows.map((r) => r.key);
        return left.length === 2 ? left : undefined;
      });
    } finally {
      await store.close();
    }
  });
});
