/**
 * The PostgreSQL store on a real server (test/support/postgres.ts): the store contract, and what only
 * a shared store has to get right: two instances on one database see each other's changes in order,
 * the trail refuses UPDATE and DELETE, a role without CREATE is told which migration to run, a second
 * instance with another audit key is refused, and a database that goes away fails checks closed after
 * maxStaleness and recovers without a restart.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { waitFor } from './support/node-red-process';
import { AttemptRefused } from '../lib/attempt-recorder';
import { isDncError } from '../lib/errors';
import type { PolicyDefinition } from '../lib/policy';
import { DncService } from '../lib/service';
import { grantSql, migrationSql } from '../lib/store/postgres/schema';
import { PostgresStore, type PostgresStoreOptions } from '../lib/store/postgres/store';
import type { AuditRecord, ContactState } from '../lib/store/types';
import { addChange, describeStoreContract, removeChange, type TamperKind } from './store-contract';
import { freshDatabase, requirePostgres, testPostgres } from './support/postgres';

const quiet = { warn: (): void => undefined };
const KEY = randomBytes(32).toString('base64');

function openStore(url: string, extra: Partial<PostgresStoreOptions> = {}): PostgresStore {
  return new PostgresStore({
    connectionString: url,
    auditKey: KEY,
    logger: quiet,
    pollInterval: 50,
    ...extra,
  });
}

/** Runs SQL as the superuser with triggers off: what an attacker with the database's files could do. */
async function asSuperuser(url: string, sql: string, values: unknown[] = []): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET session_replication_role = 'replica'");
    await client.query(sql, values);
  } finally {
    await client.end();
  }
}

async function queryRows<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

function heldLabels(contact: ContactState | undefined): string[] {
  return (contact?.labels ?? []).map((label) => label.label).sort();
}

async function tamperTrail(url: string, kind: TamperKind, seq: number): Promise<void> {
  if (kind === 'edit') {
    await asSuperuser(
      url,
      `UPDATE dnc.audit SET line = replace(line, '"reason":"asked not to be called"', '"reason":"edited afterwards"') WHERE seq = $1`,
      [seq],
    );
  } else if (kind === 'delete') {
    await asSuperuser(url, 'DELETE FROM dnc.audit WHERE seq = $1', [seq]);
  } else {
    await asSuperuser(
      url,
      `UPDATE dnc.audit a SET line = b.line FROM (SELECT seq, line FROM dnc.audit WHERE seq IN ($1::bigint, $1::bigint + 1)) b
        WHERE a.seq IN ($1::bigint, $1::bigint + 1) AND b.seq <> a.seq`,
      [seq],
    );
  }
}

describe('PostgreSQL store', function () {
  this.timeout(30_000);
  requirePostgres();

  describeStoreContract('postgres', async () => {
    const url = await freshDatabase();
    let current = openStore(url);
    await current.open();
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = openStore(url);
        await current.open();
        return current;
      },
      cleanup: () => current.close(),
      tamper: (kind, seq) => tamperTrail(url, kind, seq),
      forceSnapshot: async (store) => {
        assert.equal(
          await (store as PostgresStore).snapshot(),
          true,
          'the only instance leads and writes one',
        );
      },
      dropSnapshot: () => asSuperuser(url, 'DELETE FROM dnc.snapshots'),
    };
  });

  describe('snapshots', function () {
    let url: string;
    const stores: PostgresStore[] = [];
    const opened = async (extra: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> => {
      const store = openStore(url, extra);
      stores.push(store);
      await store.open();
      return store;
    };
    const number = (i: number): string => `+1415700${String(i).padStart(4, '0')}`;

    beforeEach(async function () {
      url = await freshDatabase();
    });
    afterEach(async function () {
      await Promise.all(stores.splice(0).map((store) => store.close()));
    });

    /** 60 opt-outs, linked keys on some, removals on others; the leader writes a snapshot every 25 records. */
    async function writeHistory(store: PostgresStore): Promise<void> {
      for (let i = 0; i < 60; i++) {
        const keys = i % 7 === 0 ? [number(i), `c${i}@example.com`] : [number(i)];
        await store.apply(addChange(keys, ['DNC_Sales'], { principal: `agent-${i % 3}` }));
        if (i % 5 === 4) await store.apply(removeChange([number(i)], ['DNC_Sales']));
      }
    }

    function viewOf(store: PostgresStore): unknown[] {
      return [...store.contacts()]
        .map((contact) => ({
          keys: [...contact.keys].sort(),
          labels: contact.labels.map((label) => ({ ...label })),
        }))
        .sort((x, y) => x.keys[0].localeCompare(y.keys[0]));
    }

    it('the leader writes snapshots as the trail grows; a new instance starts from the newest and holds the same state', async function () {
      const a = await opened({ instance: 'A', snapshotEvery: 25, minSnapshotInterval: 0 });
      await writeHistory(a);
      // The leader writes them in the background, once it leads (its lock is taken at a poll, which may
      // come after the writes) and whenever 25 records have come since the last one: wait until none is
      // under way and none is due, or B could open from a snapshot written after the query below.
      let snapshots: Array<{ seq: string }> = [];
      await waitFor(
        'the leader to have written every snapshot due',
        async () => {
          await a.snapshotWritten();
          snapshots = await queryRows<{ seq: string }>(url, 'SELECT seq FROM dnc.snapshots ORDER BY seq');
          const newest = Number(snapshots[snapshots.length - 1]?.seq ?? 0);
          return newest > 0 && a.status().seq - newest < 25 ? true : undefined;
        },
        20000,
      );
      // 72 records: a snapshot once 25 have come since the last (at 25 and 50 when A led from the start;
      // one at 72 when its lock came after the writes), the older ones deleted beyond two.
      assert.ok(snapshots.length >= 1 && snapshots.length <= 2, `${snapshots.length} snapshots kept`);
      const newest = Number(snapshots[snapshots.length - 1].seq);
      assert.ok(newest >= 25 && newest <= 72, `newest snapshot at ${newest}`);
      const warnings: string[] = [];
      const b = await opened({ instance: 'B', logger: { warn: (message) => warnings.push(message) } });
      assert.equal(b.status().snapshotSeq, newest, 'B started from the newest snapshot');
      assert.deepEqual(warnings, []);
      assert.equal(b.status().seq, a.status().seq);
      assert.equal(b.status().contacts, a.status().contacts);
      assert.deepEqual(viewOf(b), viewOf(a));
      assert.deepEqual(b.lookup(`c7@example.com`)?.keys.slice().sort(), [number(7), 'c7@example.com'].sort());
      assert.equal(b.lookup(number(4))?.labels.length ?? 0, 0, 'a removal before the snapshot holds');
      // B follows on from the snapshot as from a full read.
      await a.apply(addChange([number(900)], ['DNC_Sales']));
      await b.catchUp();
      assert.deepEqual(heldLabels(b.lookup(number(900))), ['DNC_Sales']);
      assert.deepEqual(await b.verify(), { ok: true, records: 73 });
    });

    it('a snapshot altered in the database is not used: the instance reads the trail and says why', async function () {
      const a = await opened({ instance: 'A' });
      await writeHistory(a);
      assert.equal(await a.snapshot(), true);
      // Someone with write access to the table clears the opt-out of contact 1 in the snapshot.
      await asSuperuser(
        url,
        `UPDATE dnc.snapshot_parts SET data = replace(data, '${number(1)}', '+14150000000')`,
      );
      const warnings: string[] = [];
      const b = await opened({ instance: 'B', logger: { warn: (message) => warnings.push(message) } });
      assert.equal(b.status().snapshotSeq, 0, 'no snapshot used');
      assert.match(warnings.join('\n'), /snapshot at record 72 is not used: its MAC does not verify/);
      assert.deepEqual(
        heldLabels(b.lookup(number(1))),
        ['DNC_Sales'],
        'the opt-out holds: read from the trail',
      );
      assert.equal(b.lookup('+14150000000'), undefined);
      assert.deepEqual(viewOf(b), viewOf(a));
    });

    it('a snapshot written with another audit key is not used', async function () {
      const a = await opened({ instance: 'A' });
      await writeHistory(a);
      assert.equal(await a.snapshot(), true);
      await asSuperuser(url, `UPDATE dnc.snapshots SET key_id = 'another-key-id'`);
      const warnings: string[] = [];
      const b = await opened({ instance: 'B', logger: { warn: (message) => warnings.push(message) } });
      assert.equal(b.status().snapshotSeq, 0);
      assert.match(warnings.join('\n'), /written with audit key another-key-id/);
      assert.deepEqual(viewOf(b), viewOf(a));
    });

    it('a record before the snapshot altered in the trail fails the instance closed once its background walk reaches it', async function () {
      const a = await opened({ instance: 'A' });
      await writeHistory(a);
      assert.equal(await a.snapshot(), true);
      await a.close();
      await tamperTrail(url, 'edit', 1);
      const b = await opened({ instance: 'B' });
      assert.equal(b.status().snapshotSeq, 72);
      const start = Date.now();
      while (b.status().state === 'ready' && Date.now() - start < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(b.status().state, 'unavailable');
      assert.match(String(b.status().error?.message), /fails verification at record 1/);
      assert.throws(
        () => b.lookup(number(0)),
        (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
      );
    });
  });

  describe('two instances on one database', function () {
    let url: string;
    let a: PostgresStore;
    let b: PostgresStore;

    beforeEach(async function () {
      url = await freshDatabase();
      a = openStore(url, { instance: 'A' });
      b = openStore(url, { instance: 'B' });
      await Promise.all([a.open(), b.open()]);
    });
    afterEach(async function () {
      await Promise.all([a.close(), b.close()]);
    });

    async function until(condition: () => boolean, ms = 2000): Promise<number> {
      const start = Date.now();
      while (!condition()) {
        if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return Date.now() - start;
    }

    it('an opt-out acknowledged on A is enforced on B within a second, and back', async function () {
      await a.apply(addChange(['+14155550100'], ['DNC_Sales']));
      await until(() => b.lookup('+14155550100')?.labels[0]?.label === 'DNC_Sales', 1000);
      await b.apply(removeChange(['+14155550100'], ['DNC_Sales']));
      await until(() => a.lookup('+14155550100')?.labels.length === 0, 1000);
    });

    it('concurrent writes on both instances form one gapless chain that both follow and verify', async function () {
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        const store = i % 2 === 0 ? a : b;
        writes.push(store.apply(addChange([`+1415700${String(i).padStart(4, '0')}`], ['DNC_Sales'])));
      }
      await Promise.all(writes);
      await until(() => a.status().seq === 200 && b.status().seq === 200);
      assert.deepEqual(await a.verify(), { ok: true, records: 200 });
      assert.deepEqual(await b.verify(), { ok: true, records: 200 });
      assert.equal(a.status().contacts, 200);
      assert.equal(b.status().contacts, 200);
      const trail = await a.audit();
      assert.deepEqual(
        trail.map((record) => record.seq),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
    });

    it('a write folds in what the other instance committed first: a repeat is unchanged, keys link', async function () {
      await a.apply(addChange(['+14155550101'], ['DNC_Sales']));
      // B writes at once, before any notification reached it: its transaction reads A's record first.
      const repeat = await b.apply(addChange(['+14155550101', 'x@example.com'], ['DNC_Sales']));
      assert.deepEqual(repeat.changed, []);
      assert.deepEqual(repeat.unchanged, ['DNC_Sales']);
      assert.deepEqual([...repeat.contact!.keys].sort(), ['+14155550101', 'x@example.com']);
      assert.equal(repeat.record.seq, 2);
    });

    it('tells listeners whether a change came through this instance or another', async function () {
      const seen: { seq: number; origin: unknown }[] = [];
      b.onChange((record: AuditRecord, _contact: ContactState | undefined, origin: unknown) =>
        seen.push({ seq: record.seq, origin }),
      );
      await a.apply(addChange(['+14155550102'], ['DNC_Sales']));
      await until(() => seen.length === 1);
      await b.apply(addChange(['+14155550103'], ['DNC_Sales']));
      assert.deepEqual(seen, [
        { seq: 1, origin: 'remote' },
        { seq: 2, origin: 'local' },
      ]);
    });

    it('one instance leads (it alone reports expiries); when it goes, the other takes over', async function () {
      assert.equal([a.leads(), b.leads()].filter(Boolean).length, 1);
      const [leader, other] = a.leads() ? [a, b] : [b, a];
      await leader.close();
      await until(() => other.leads(), 3000);
    });

    it('an instance that opens later does not announce the history it loads', async function () {
      await a.apply(addChange(['+14155550140'], ['DNC_Sales']));
      const late = openStore(url, { instance: 'C' });
      const heard: number[] = [];
      late.onChange((record) => heard.push(record.seq));
      await late.open();
      try {
        assert.equal(late.lookup('+14155550140')?.labels[0].label, 'DNC_Sales');
        await a.apply(addChange(['+14155550141'], ['DNC_Sales']));
        await until(() => heard.length === 1, 2000);
        assert.deepEqual(heard, [2]);
      } finally {
        await late.close();
      }
    });

    it('shares attempt records: an attempt recorded on A counts on B', async function () {
      const at = Date.now();
      const rnd = [
        {
          number: '+14155550104',
          answer: 'no' as const,
          consentDate: '2025-01-05',
          queriedAt: new Date(at).toISOString(),
        },
      ];
      await a.recordAttempt({
        keys: ['+14155550104'],
        at,
        attempt: true,
        outcome: null,
        channel: 'voice',
        campaign: 'spring',
        source: 'dialer',
        rnd,
      });
      await until(() => b.attempts('+14155550104', at - 1).length === 1);
      assert.deepEqual(b.attempts('+14155550104', at - 1)[0].rnd, rnd);
      await b.recordAttempt({
        keys: ['+14155550104'],
        at: at + 1,
        attempt: true,
        outcome: 'refusal',
        channel: 'voice',
        campaign: 'spring',
        source: 'dialer',
      });
      assert.deepEqual(
        b.attempts('+14155550104', at - 1).map((r) => r.outcome),
        [null, 'refusal'],
      );
    });
  });

  it('the trail refuses UPDATE, DELETE and TRUNCATE, even from the role that writes it', async function () {
    const url = await freshDatabase();
    const store = openStore(url);
    await store.open();
    try {
      await store.apply(addChange(['+14155550105'], ['DNC_Sales']));
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        for (const sql of [
          "UPDATE dnc.audit SET source = 'x'",
          'DELETE FROM dnc.audit',
          'TRUNCATE dnc.audit',
        ]) {
          await assert.rejects(client.query(sql), /append-only/);
        }
      } finally {
        await client.end();
      }
      assert.deepEqual(await store.verify(), { ok: true, records: 1 });
    } finally {
      await store.close();
    }
  });

  it('a role that may not create the tables is told which migration to run, and checks fail closed', async function () {
    const url = await freshDatabase();
    const server = await testPostgres();
    const database = new URL(url).pathname.slice(1);
    const admin = new Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE dnc_app_${database} LOGIN`);
      await admin.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    } finally {
      await admin.end();
    }
    const store = openStore(server.urlFor(database, `dnc_app_${database}`));
    await assert.rejects(
      store.open(),
      (error: unknown) =>
        isDncError(error) &&
        error.code === 'DNC_STORE_UNAVAILABLE' &&
        /migrations? 1 \(audit trail, chain head, attempts\), 2 \(snapshots/.test(error.message) &&
        /npx dncflow schema/.test(error.message),
    );
    assert.equal(store.status().state, 'unavailable');
    assert.throws(
      () => store.lookup('+14155550106'),
      (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
    );
    await store.close();

    // The owner runs what `dncflow schema` prints and grants the least privilege: the role now works,
    // and still cannot rewrite history.
    const owner = new Client({ connectionString: url });
    await owner.connect();
    try {
      await owner.query(migrationSql('dnc'));
      await owner.query(grantSql('dnc', `dnc_app_${database}`));
    } finally {
      await owner.end();
    }
    const appUrl = server.urlFor(database, `dnc_app_${database}`);
    const granted = openStore(appUrl);
    await granted.open();
    try {
      await granted.apply(addChange(['+14155550106'], ['DNC_Sales']));
      await granted.recordAttempt({
        keys: ['+14155550106'],
        at: Date.now(),
        attempt: true,
        outcome: null,
        channel: 'voice',
        campaign: null,
        source: 'dialer',
      });
      assert.equal(await granted.pruneAttempts(Date.now() + 1), 1);
      assert.deepEqual(await granted.verify(), { ok: true, records: 1 });
      // Snapshots: written, replaced (the older deleted) and read back under the same grants.
      assert.equal(await granted.snapshot(), true);
      await granted.apply(addChange(['+14155550107'], ['DNC_Sales']));
      assert.equal(await granted.snapshot(), true);
      await granted.apply(addChange(['+14155550108'], ['DNC_Sales']));
      assert.equal(await granted.snapshot(), true);
      const reader = openStore(appUrl);
      await reader.open();
      assert.equal(reader.status().snapshotSeq, 3);
      await reader.close();
      assert.deepEqual(await queryRows(url, 'SELECT seq::int FROM dnc.snapshots ORDER BY seq'), [
        { seq: 2 },
        { seq: 3 },
      ]);
      const app = new Client({ connectionString: appUrl });
      await app.connect();
      try {
        await assert.rejects(app.query("UPDATE dnc.audit SET source = 'x'"), /append-only|permission denied/);
        await assert.rejects(app.query('CREATE TABLE dnc.extra (id int)'), /permission denied/);
      } finally {
        await app.end();
      }
    } finally {
      await granted.close();
    }
  });

  it('refuses an instance whose audit key is not the shared trail key', async function () {
    const url = await freshDatabase();
    const first = openStore(url);
    await first.open();
    await first.apply(addChange(['+14155550107'], ['DNC_Sales']));
    const other = openStore(url, { auditKey: randomBytes(32).toString('base64') });
    await assert.rejects(other.open(), /every instance sharing the database needs the same key/);
    await Promise.all([first.close(), other.close()]);
  });

  it('opens by itself once the database it could not reach at start answers, without a restart', async function () {
    this.timeout(60_000);
    const server = await testPostgres();
    const url = await freshDatabase();
    const first = openStore(url);
    await first.open();
    await first.apply(addChange(['+14155550150'], ['DNC_Sales']));
    await first.close();
    server.stop('immediate');
    const store = openStore(url);
    try {
      await assert.rejects(
        store.open(),
        (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
      );
      assert.throws(
        () => store.lookup('+14155550150'),
        (error: unknown) => isDncError(error),
      );
    } finally {
      server.start();
    }
    const start = Date.now();
    while (store.status().state !== 'ready') {
      if (Date.now() - start > 20_000) throw new Error('did not open');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(store.lookup('+14155550150')?.labels[0].label, 'DNC_Sales');
    await store.close();
  });

  it('two instances that each made their own key on an empty trail: the second is refused at its first write', async function () {
    const url = await freshDatabase();
    const a = openStore(url);
    const b = openStore(url, { auditKey: randomBytes(32).toString('base64') });
    await Promise.all([a.open(), b.open()]);
    try {
      await a.apply(addChange(['+14155550110'], ['DNC_Sales']));
      await assert.rejects(
        b.apply(addChange(['+14155550111'], ['DNC_Sales'])),
        (error: unknown) =>
          isDncError(error) &&
          error.code === 'DNC_STORE_UNAVAILABLE' &&
          /give every instance the same key/.test(error.message),
      );
      // B still enforces A's opt-out, and the trail holds one key's records only.
      assert.equal(b.lookup('+14155550110')?.labels[0].label, 'DNC_Sales');
      assert.deepEqual(await a.verify(), { ok: true, records: 1 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails checks closed after maxStaleness without the database, and recovers without a restart', async function () {
    this.timeout(60_000);
    const server = await testPostgres();
    const url = await freshDatabase();
    const store = openStore(url, { maxStaleness: 500 });
    await store.open();
    try {
      await store.apply(addChange(['+14155550108'], ['DNC_Sales']));
      server.stop('immediate');
      try {
        // Within maxStaleness the view still answers; after it, every lookup fails closed.
        await new Promise((resolve) => setTimeout(resolve, 900));
        assert.throws(
          () => store.lookup('+14155550108'),
          (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
        );
        assert.equal(store.status().state, 'unavailable');
      } finally {
        server.start();
      }
      const start = Date.now();
      while (store.status().state !== 'ready') {
        if (Date.now() - start > 20_000) throw new Error('did not recover');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(store.lookup('+14155550108')?.labels[0].label, 'DNC_Sales');
      await store.apply(addChange(['+14155550109'], ['DNC_Sales']));
      assert.deepEqual(await store.verify(), { ok: true, records: 2 });
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL store: the local spool while the database is unreachable', function () {
  this.timeout(60_000);
  requirePostgres();
  let dir: string;
  let spoolPath: string;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'dnc-spool-'));
    spoolPath = join(dir, 'dnc-postgres-dnc.spool.ndjson');
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  async function until(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
    const start = Date.now();
    while (!(await condition())) {
      if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('acknowledges changes as queued, enforces them at once, and commits them in order when it returns', async function () {
    const server = await testPostgres();
    const url = await freshDatabase();
    const a = openStore(url, { spoolPath, maxStaleness: 60_000 });
    const b = openStore(url);
    await Promise.all([a.open(), b.open()]);
    try {
      await a.apply(addChange(['+14155550120'], ['DNC_Sales']));
      server.stop('immediate');
      let first, second;
      try {
        first = await a.apply(addChange(['+14155550121'], ['DNC_Sales'], { reason: 'heard while down' }));
        second = await a.apply(removeChange(['+14155550120'], ['DNC_Sales']));
        assert.equal(first.queued, true);
        assert.equal(second.queued, true);
        assert.equal(first.record.seq, 0);
        // Enforced here at once, durable in the spool (0600) before it was acknowledged.
        assert.equal(a.lookup('+14155550121')?.labels[0].label, 'DNC_Sales');
        assert.equal(a.lookup('+14155550120')?.labels.length, 0);
        assert.equal(statSync(spoolPath).mode & 0o777, 0o600);
        assert.equal((await readFile(spoolPath, 'utf8')).trim().split('\n').length, 2);
      } finally {
        server.start();
      }
      await until(async () => (await a.audit()).length === 3, 15_000, 'the spool written');
      const trail = await a.audit();
      assert.deepEqual(
        trail.map((r) => [r.seq, r.op, r.keys[0]]),
        [
          [1, 'add', '+14155550120'],
          [2, 'add', '+14155550121'],
          [3, 'remove', '+14155550120'],
        ],
      );
      // The record keeps the time the change was heard, and the other instance follows it.
      assert.equal(trail[1].at, first.record.at);
      await until(() => b.lookup('+14155550121')?.labels[0]?.label === 'DNC_Sales', 5_000, 'B follows');
      assert.equal(b.lookup('+14155550120')?.labels.length, 0);
      assert.equal((await readFile(spoolPath, 'utf8')).trim(), '');
      assert.deepEqual(await b.verify(), { ok: true, records: 3 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps what was queued across a restart of the instance, and writes it once', async function () {
    const server = await testPostgres();
    const url = await freshDatabase();
    const a = openStore(url, { spoolPath, maxStaleness: 60_000 });
    await a.open();
    await a.apply(addChange(['+14155550122'], ['DNC_Sales']));
    server.stop('immediate');
    try {
      assert.equal((await a.apply(addChange(['+14155550123'], ['DNC_Sales']))).queued, true);
      await a.close();
    } finally {
      server.start();
    }
    const again = openStore(url, { spoolPath });
    await again.open();
    try {
      await until(
        async () => (await again.audit()).length === 2,
        15_000,
        'the spool written after the restart',
      );
      assert.equal(again.lookup('+14155550123')?.labels[0].label, 'DNC_Sales');
      // A spooled change whose COMMIT did go through (its answer lost) is not written twice.
      const committed = (await again.audit())[1];
      const client = new Client({ connectionString: url });
      await client.connect();
      const row = await client.query<{ change_id: string }>('SELECT change_id FROM dnc.audit WHERE seq = 2');
      await client.end();
      await again.close();
      await writeFile(
        spoolPath,
        `${JSON.stringify({ id: row.rows[0].change_id, change: { op: 'add', keys: committed.keys, labels: ['DNC_Sales'], expiresAt: [null], at: Date.parse(committed.at), source: 'api', actor: null, reason: null, campaign: null, channel: null, principal: null } })}\n`,
      );
      const third = openStore(url, { spoolPath });
      await third.open();
      await until(async () => (await readFile(spoolPath, 'utf8')).trim() === '', 10_000, 'the spool emptied');
      assert.equal((await third.audit()).length, 2);
      await third.close();
    } finally {
      await again.close();
    }
  });

  it('past maxStaleness checks fail closed, but an opt-out through the service is still taken into the spool, not refused', async function () {
    const server = await testPostgres();
    const url = await freshDatabase();
    const a = openStore(url, { spoolPath, maxStaleness: 300 });
    await a.open();
    const service = new DncService({ labels: [{ name: 'DNC_Sales' }], store: a });
    try {
      server.stop('immediate');
      try {
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.equal(a.status().state, 'unavailable');
        assert.throws(
          () => a.lookup('+14155550125'),
          (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
        );
        const outcome = await service.addLabels({
          contact: '+14155550125',
          labels: ['DNC_Sales'],
          source: 'ivr',
          reason: 'said stop during the outage',
        });
        assert.equal(outcome.queued, true);
        assert.equal((await readFile(spoolPath, 'utf8')).trim().split('\n').length, 1);
      } finally {
        server.start();
      }
      const start = Date.now();
      while ((await a.audit().catch(() => [])).length !== 1) {
        if (Date.now() - start > 15_000) throw new Error('the spooled opt-out was not written');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(heldLabels(a.lookup('+14155550125')), ['DNC_Sales']);
    } finally {
      await a.close();
    }
  });

  it('without a spool, a change made while the database is down is refused, not lost silently', async function () {
    const server = await testPostgres();
    const url = await freshDatabase();
    const a = openStore(url);
    await a.open();
    server.stop('immediate');
    try {
      await assert.rejects(
        a.apply(addChange(['+14155550124'], ['DNC_Sales'])),
        (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
      );
    } finally {
      server.start();
      await a.close();
    }
  });
});

describe('PostgreSQL store: frequency caps are exact across instances', function () {
  this.timeout(60_000);
  requirePostgres();

  /** Any hour, any day: only the cap decides. */
  const THREE_A_DAY: PolicyDefinition = {
    name: 'three a day',
    rule: 'test cap',
    windows: { daily: ['00:00-24:00'] },
    caps: [{ limit: 3, hours: 24, scope: 'campaign', rule: 'test: 3 per 24 h' }],
    timezoneFallback: 'UTC',
  };

  it('a cap of 3 with 20 concurrent checks split over two instances allows exactly 3', async function () {
    const url = await freshDatabase();
    const stores = [openStore(url, { instance: 'A' }), openStore(url, { instance: 'B' })];
    await Promise.all(stores.map((store) => store.open()));
    try {
      const services = stores.map((store) => new DncService({ labels: [{ name: 'DNC_Sales' }], store }));
      const plans = services.map((service) =>
        service.plan({ channel: 'voice', campaign: 'spring', policy: THREE_A_DAY, recordAttempt: true }),
      );
      // What Check DNC with "record attempt" does for each message: check, then record under the plan.
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const service = services[i % 2];
          const plan = plans[i % 2];
          const decision = service.checkWithPlan('+14155550130', plan);
          if (!decision.allowed) return 'blocked at check';
          try {
            await service.recordAttempt(
              { contact: '+14155550130', channel: 'voice', campaign: 'spring', source: 'dialer' },
              undefined,
              plan,
            );
            return 'allowed';
          } catch (error) {
            assert.ok(error instanceof AttemptRefused, String(error));
            assert.equal(error.reasons[0].code, 'FREQUENCY_CAP');
            return 'refused at record';
          }
        }),
      );
      assert.equal(outcomes.filter((o) => o === 'allowed').length, 3, outcomes.join(', '));
      const client = new Client({ connectionString: url });
      await client.connect();
      const rows = await client.query('SELECT count(*)::int AS n FROM dnc.attempts');
      await client.end();
      assert.equal(rows.rows[0].n, 3);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
