/**
 * Moving a store between the embedded files and PostgreSQL (lib/store/migrate.ts, `dncflow migrate`), on
 * a real PostgreSQL server: a store of 100k contacts with history (0.1.0's unkeyed records, adds,
 * removes, linked keys, expiries, attempts) goes to PostgreSQL and back with the same state, the same
 * trail (line for line) and the same verify(), and each target keeps writing on the chain; a target
 * that holds a store, a source that does not verify and a source in use are refused with nothing
 * written, and the source is never modified.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { isDncError } from '../lib/errors';
import { AuditKey } from '../lib/store/audit-hash';
import { EmbeddedStore } from '../lib/store/embedded';
import { migrateStore, type MigrateOptions } from '../lib/store/migrate';
import { PostgresStore } from '../lib/store/postgres/store';
import type { AttemptRecord, ContactState, DncStore, LabelChange } from '../lib/store/types';
import { addChange, removeChange } from './store-contract';
import { freshDatabase, requirePostgres } from './support/postgres';

const quiet = { warn: (): void => undefined };
const T0 = Date.UTC(2024, 3, 1);
const DAY = 86_400_000;
const FIXTURE_0_1_0 = join(__dirname, '..', '..', 'test', 'fixtures', 'store-0.1.0');

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dnc-migrate-test-'));
}

/** A user directory holding the store 0.1.0 wrote (6 unkeyed records), never opened by this version. */
async function store010(dir: string): Promise<void> {
  for (const name of ['dnc-store.json', 'dnc-store.events.ndjson']) {
    await copyFile(join(FIXTURE_0_1_0, name), join(dir, name));
  }
}

function openEmbedded(dir: string): EmbeddedStore {
  return new EmbeddedStore({ path: join(dir, 'dnc-store.json'), logger: quiet });
}

function openPostgres(url: string, key: AuditKey, schema = 'dnc'): PostgresStore {
  return new PostgresStore({
    connectionString: url,
    schema,
    auditKey: key.export(),
    logger: quiet,
    pollInterval: 50,
  });
}

async function readKey(path: string): Promise<AuditKey> {
  return AuditKey.parse(await readFile(path, 'utf8'))!;
}

async function keyOf(dir: string): Promise<AuditKey> {
  return readKey(join(dir, 'dnc-store.key'));
}

/** Every file of a folder and a hash of its bytes: "the source is never modified". */
async function fingerprint(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    files[name] = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex');
  }
  return files;
}

async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

async function trailLines(url: string, schema = 'dnc'): Promise<string[]> {
  const rows = await sql<{ line: string }>(url, `SELECT line FROM "${schema}".audit ORDER BY seq`);
  return rows.map((row) => row.line);
}

async function journalLines(dir: string): Promise<string[]> {
  return (await readFile(join(dir, 'dnc-store.events.ndjson'), 'utf8')).split('\n').filter((l) => l !== '');
}

async function schemaExists(url: string, schema = 'dnc'): Promise<boolean> {
  const rows = await sql<{ exists: boolean }>(url, 'SELECT to_regclass($1) IS NOT NULL AS exists', [
    `"${schema}".audit`,
  ]);
  return rows[0].exists;
}

async function assertRefused(options: MigrateOptions, pattern: RegExp, code?: string): Promise<void> {
  await assert.rejects(migrateStore({ logger: quiet, ...options }), (error: unknown) => {
    assert.ok(isDncError(error), String(error));
    if (code !== undefined) assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

/** A profile as plain data: its keys in order and every field of every label. */
function plain(contact: ContactState | undefined): unknown {
  if (contact === undefined) return undefined;
  return {
    keys: [...contact.keys],
    labels: contact.labels.map((label) => ({
      label: label.label,
      appliedAt: label.appliedAt,
      expiresAt: label.expiresAt,
      source: label.source,
      actor: label.actor,
      principal: label.principal ?? null,
      reason: label.reason,
      campaign: label.campaign,
      channel: label.channel,
    })),
  };
}

/** Same profiles (every one, every key, every label), same attempts for the keys that have some. */
function assertSameState(source: DncStore, target: DncStore, attemptKeys: readonly string[]): void {
  assert.equal(target.status().contacts, source.status().contacts);
  assert.equal(target.status().keys, source.status().keys);
  assert.equal(target.status().seq, source.status().seq);
  let profiles = 0;
  for (const profile of source.contacts()) {
    profiles++;
    for (const key of profile.keys) {
      const there = target.lookup(key);
      if (key !== profile.keys[0] && there === target.lookup(profile.keys[0])) continue;
      assert.deepEqual(plain(there), plain(profile), `the profile of ${key}`);
    }
  }
  assert.equal(profiles, source.status().contacts);
  for (const key of attemptKeys) {
    assert.deepEqual(target.attempts!(key, 0), source.attempts!(key, 0), `the attempts of ${key}`);
  }
}

const phone = (i: number): string => `+1415${String(7_000_000 + i)}`;
const email = (i: number): string => `person${i}@example.com`;

/**
 * 100,000 contacts with history on top of 0.1.0's records: opt-outs from several sources and principals,
 * labels that expire (some already expired), an email linked to every tenth number, two numbers linked
 * into one profile, removes of one label and of all, and attempt records. Written in waves of concurrent
 * changes (the store's group commit).
 */
async function writeHistory(store: EmbeddedStore, contacts: number): Promise<{ attemptKeys: string[] }> {
  const waves: LabelChange[][] = [[], [], [], []];
  for (let i = 0; i < contacts; i++) {
    waves[0].push(
      addChange([phone(i)], ['DNC_Sales'], {
        at: T0 + i,
        source: i % 3 === 0 ? 'ivr' : 'api',
        principal: i % 4 === 0 ? 'user:alice' : undefined,
        actor: i % 2 === 0 ? `agent-${i % 17}` : null,
        campaign: i % 5 === 0 ? 'spring' : null,
      }),
    );
    if (i % 10 === 0) {
      waves[1].push(addChange([phone(i), email(i)], ['DNC_All'], { at: T0 + DAY + i, channel: 'email' }));
    }
    if (i % 5 === 1) {
      // Half already expired when the migration runs, half not yet.
      const expiresAt = i % 2 === 0 ? T0 + 2 * DAY : Date.UTC(2100, 0, 1);
      waves[1].push({
        ...addChange([phone(i)], ['DNC_Temp'], { at: T0 + DAY + i }),
        labels: [{ label: 'DNC_Temp', expiresAt }],
      });
    }
    if (i % 997 === 3)
      waves[2].push(addChange([phone(i), phone(i + 1)], ['DNC_Link'], { at: T0 + 2 * DAY + i }));
    if (i % 7 === 2) waves[2].push(removeChange([phone(i)], ['DNC_Sales'], { at: T0 + 3 * DAY + i }));
    if (i % 50 === 20) waves[3].push(removeChange([email(i)], 'all', { at: T0 + 4 * DAY + i }));
  }
  for (const wave of waves) {
    for (let i = 0; i < wave.length; i += 4000) {
      await Promise.all(wave.slice(i, i + 4000).map((change) => store.apply(change)));
    }
  }
  const attemptKeys: string[] = [];
  const attempts: Promise<void>[] = [];
  for (let i = 0; i < contacts; i += 20) {
    attemptKeys.push(phone(i));
    for (let n = 0; n < 2; n++) {
      const record: AttemptRecord = {
        keys: [phone(i)],
        at: T0 + 5 * DAY + i * 10 + n,
        attempt: n === 0,
        outcome: n === 0 ? null : 'no-answer',
        channel: 'voice',
        campaign: i % 40 === 0 ? 'spring' : null,
        source: 'dialer',
        ...(n === 0 ? { principal: 'node:dialer' } : {}),
      };
      attempts.push(store.recordAttempt(record));
    }
  }
  await Promise.all(attempts);
  return { attemptKeys };
}

describe('migrating between the embedded store and PostgreSQL', function () {
  this.timeout(60_000);
  requirePostgres();

  const dirs: string[] = [];
  async function userDir(): Promise<string> {
    const dir = await tempDir();
    dirs.push(dir);
    return dir;
  }
  after(async function () {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('moves 100k contacts with history to PostgreSQL and back: same state, same trail, same verify(), and both keep writing', async function () {
    this.timeout(600_000);
    const a = await userDir();
    await store010(a);
    const build = openEmbedded(a);
    await build.open();
    const { attemptKeys } = await writeHistory(build, 100_200);
    await build.close();
    const key = await keyOf(a);

    // ---- embedded -> PostgreSQL
    const url = await freshDatabase();
    const before = await fingerprint(a);
    let started = Date.now();
    const there = await migrateStore({ from: a, to: url, logger: quiet });
    const toPostgresMs = Date.now() - started;
    assert.deepEqual(await fingerprint(a), before, 'the source is never modified');
    assert.equal(there.keyId, key.id);
    assert.ok(there.contacts >= 100_000, `${there.contacts} contacts`);
    assert.ok(there.keyAdvice.some((line) => line.includes(key.id)));
    assert.ok(there.keyAdvice.some((line) => line.includes('dnc-postgres-dnc.key')));

    const source = openEmbedded(a);
    await source.open();
    const records = source.status().seq;
    assert.equal(there.records, records);
    assert.equal(there.attempts, attemptKeys.length * 2);
    const sourceVerify = await source.verify();
    assert.deepEqual(sourceVerify, { ok: true, records, legacy: 6 });
    assert.deepEqual(there.verification, sourceVerify);
    assert.deepEqual(await trailLines(url), await journalLines(a), 'every record verbatim, in order');
    const head = await sql<{ seq: string; hash: string; chain_key: string }>(
      url,
      'SELECT * FROM dnc.chain_head',
    );
    const last = JSON.parse((await journalLines(a)).at(-1)!) as { hash: string };
    assert.deepEqual(
      { seq: Number(head[0].seq), hash: head[0].hash, chain_key: head[0].chain_key },
      { seq: records, hash: last.hash, chain_key: key.id },
    );
    const attemptHead = await sql<{ seq: string }>(url, 'SELECT seq FROM dnc.attempt_head');
    assert.equal(Number(attemptHead[0].seq), attemptKeys.length * 2);

    // An instance given the key opens the shared trail with the same state and audit answers.
    let pg = openPostgres(url, key);
    await pg.open();
    assertSameState(source, pg, attemptKeys);
    assert.deepEqual(await pg.verify(), sourceVerify);
    for (const query of [
      { keys: [phone(10)] },
      { keys: [email(20)] },
      { label: 'DNC_Temp', limit: 50 },
      { source: 'ivr', limit: 20 },
      { since: T0 + 3 * DAY, until: T0 + 3 * DAY + 100 },
    ]) {
      assert.deepEqual(await pg.audit(query), await source.audit(query), JSON.stringify(query));
    }
    await source.close();
    // ... and keeps writing on the chain.
    const next = await pg.apply(addChange(['+14155559999'], ['DNC_Sales'], { at: T0 + 9 * DAY }));
    assert.equal(next.record.seq, records + 1);
    assert.equal(next.record.prev, last.hash);
    assert.equal(next.record.keyId, undefined, 'the same key continues: no switch-over record');
    assert.deepEqual(await pg.verify(), { ok: true, records: records + 1, legacy: 6 });

    // ---- PostgreSQL -> embedded, the key found where an instance keeps it in its user directory
    const b = await userDir();
    await copyFile(join(a, 'dnc-store.key'), join(b, 'dnc-postgres-dnc.key'));
    const pgVerify = await pg.verify();
    await pg.close();
    started = Date.now();
    const back = await migrateStore({ from: url, to: b, logger: quiet });
    const toEmbeddedMs = Date.now() - started;
    assert.equal(back.records, records + 1);
    assert.equal(back.attempts, attemptKeys.length * 2);
    assert.deepEqual(back.verification, pgVerify);
    assert.deepEqual(await journalLines(b), await trailLines(url), 'every record verbatim, in order');
    assert.deepEqual(await keyOf(b), key);

    pg = openPostgres(url, key);
    await pg.open();
    const target = openEmbedded(b);
    await target.open();
    assertSameState(pg, target, attemptKeys);
    assert.deepEqual(await target.verify(), pgVerify);
    await pg.close();
    const after = await target.apply(removeChange(['+14155559999'], ['DNC_Sales'], { at: T0 + 10 * DAY }));
    assert.equal(after.record.seq, records + 2);
    assert.equal(after.record.keyId, undefined);
    assert.deepEqual(await target.verify(), { ok: true, records: records + 2, legacy: 6 });
    await target.close();
    // Reopened as Node-RED would after a restart: the open-time checks pass on what was written.
    const reopened = openEmbedded(b);
    await reopened.open();
    assert.deepEqual(await reopened.verify(), { ok: true, records: records + 2, legacy: 6 });
    assert.equal(reopened.lookup('+14155559999')?.labels.length, 0);
    await reopened.close();

    console.log(
      `      100k contacts, ${records} records, ${there.attempts} attempts: embedded -> PostgreSQL` +
        ` ${(toPostgresMs / 1000).toFixed(1)} s (${JSON.stringify(there.timings)}),` +
        ` PostgreSQL -> embedded ${(toEmbeddedMs / 1000).toFixed(1)} s (${JSON.stringify(back.timings)})`,
    );
  });

  it('a store 0.1.0 wrote moves unopened: its unkeyed records verify on PostgreSQL, and the source stays as 0.1.0 left it', async function () {
    const a = await userDir();
    await store010(a);
    const before = await fingerprint(a);
    const url = await freshDatabase();
    const report = await migrateStore({ from: join(a, 'dnc-store.json'), to: url, logger: quiet });
    assert.deepEqual(
      await fingerprint(a),
      before,
      'no key, checkpoint or snapshot written beside the source',
    );
    assert.equal(report.keyId, null);
    assert.deepEqual(report.verification, { ok: true, records: 6, legacy: 6 });
    assert.deepEqual(await trailLines(url), await journalLines(a));
    const head = await sql<{ chain_key: string | null }>(url, 'SELECT chain_key FROM dnc.chain_head');
    assert.equal(head[0].chain_key, null);

    // The first instance keys the trail from a switch-over record.
    const key = AuditKey.generate();
    const pg = openPostgres(url, key);
    await pg.open();
    const next = await pg.apply(addChange(['+14155550199'], ['DNC_Sales']));
    assert.equal(next.record.keyId, key.id);
    assert.deepEqual(await pg.verify(), { ok: true, records: 7, legacy: 6 });
    await pg.close();

    // Back to a store file in another folder, with the key given on the command line.
    const b = await userDir();
    const back = await migrateStore({ from: url, to: join(b, 'dnc.json'), key: key.export(), logger: quiet });
    assert.deepEqual(back.verification, { ok: true, records: 7, legacy: 6 });
    assert.deepEqual(await readKey(join(b, 'dnc.key')), key);
    const target = new EmbeddedStore({ path: join(b, 'dnc.json'), logger: quiet });
    await target.open();
    assert.equal(target.lookup('+14155550199')?.labels[0]?.label, 'DNC_Sales');
    assert.equal(target.lookup('+14155550101')?.labels[0]?.label, 'DNC_Sales');
    await target.close();
  });

  /** A small keyed store in a new user directory. */
  async function smallStore(labels = 20): Promise<string> {
    const dir = await userDir();
    const store = openEmbedded(dir);
    await store.open();
    for (let i = 0; i < labels; i++) await store.apply(addChange([phone(i)], ['DNC_Sales']));
    await store.recordAttempt({
      keys: [phone(0)],
      at: T0,
      attempt: true,
      outcome: null,
      channel: 'voice',
      campaign: null,
      source: 'dialer',
    });
    await store.close();
    return dir;
  }

  describe('refusals: nothing is written', function () {
    it('refuses a PostgreSQL schema that already holds a store', async function () {
      const url = await freshDatabase();
      await migrateStore({ from: await smallStore(5), to: url, logger: quiet });
      const trail = await trailLines(url);
      await assertRefused(
        { from: await smallStore(3), to: url },
        /already holds a DNC store/,
        'DNC_INVALID_INPUT',
      );
      assert.deepEqual(await trailLines(url), trail);
      assert.equal((await sql(url, 'SELECT * FROM dnc.attempts')).length, 1);
    });

    it('refuses an embedded target that holds a store (or any of its files)', async function () {
      const url = await freshDatabase();
      const a = await smallStore();
      await migrateStore({ from: a, to: url, logger: quiet });
      const key = join(a, 'dnc-store.key');
      const b = await smallStore(2);
      const before = await fingerprint(b);
      await assertRefused({ from: url, to: b, key }, /already holds a DNC store/, 'DNC_INVALID_INPUT');
      assert.deepEqual(await fingerprint(b), before);
      // A key file alone is a store's file too: never overwritten.
      const c = await userDir();
      await writeFile(join(c, 'dnc-store.key'), `${AuditKey.generate().export()}\n`);
      const keyOnly = await fingerprint(c);
      await assertRefused({ from: url, to: c, key }, /dnc-store\.key exists/);
      assert.deepEqual(await fingerprint(c), keyOnly);
    });

    it('refuses an embedded source that does not verify, without touching it or creating the schema', async function () {
      const a = await smallStore();
      const lines = await journalLines(a);
      lines[4] = lines[4].replace('"source":"api"', '"source":"ivr"');
      await writeFile(join(a, 'dnc-store.events.ndjson'), lines.map((line) => `${line}\n`).join(''));
      const before = await fingerprint(a);
      const url = await freshDatabase();
      await assertRefused(
        { from: a, to: url },
        /does not open: .*record 5 was altered/,
        'DNC_STORE_UNAVAILABLE',
      );
      assert.deepEqual(await fingerprint(a), before, 'no .corrupt copy beside the source either');
      assert.equal(await schemaExists(url), false);
    });

    it('refuses an embedded source in use by a running store', async function () {
      const a = await smallStore();
      const running = openEmbedded(a);
      await running.open();
      try {
        const url = await freshDatabase();
        await assertRefused(
          { from: a, to: url },
          /source is in use: .*in use by process/,
          'DNC_STORE_UNAVAILABLE',
        );
        assert.equal(await schemaExists(url), false);
      } finally {
        await running.close();
      }
    });

    it('refuses a PostgreSQL source whose trail was altered, writing nothing to the target', async function () {
      const a = await smallStore();
      const url = await freshDatabase();
      await migrateStore({ from: a, to: url, logger: quiet });
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        await client.query("SET session_replication_role = 'replica'");
        await client.query(
          `UPDATE dnc.audit SET line = replace(line, '"source":"api"', '"source":"ivr"') WHERE seq = 3`,
        );
      } finally {
        await client.end();
      }
      const b = await userDir();
      await assertRefused({ from: url, to: b, key: join(a, 'dnc-store.key') }, /does not open: .*record 3/);
      assert.deepEqual(await readdir(b), []);
    });

    it('refuses a PostgreSQL source an instance is following, and one keyed without the key', async function () {
      const a = await smallStore();
      const url = await freshDatabase();
      await migrateStore({ from: a, to: url, logger: quiet });
      const b = await userDir();
      const instance = openPostgres(url, await keyOf(a));
      await instance.open();
      try {
        await assertRefused(
          { from: url, to: b, key: join(a, 'dnc-store.key') },
          /source is in use: 1 DNC Flow instance follows/,
        );
      } finally {
        await instance.close();
      }
      const key = await keyOf(a);
      await assertRefused(
        { from: url, to: b },
        new RegExp(`keyed with audit key ${key.id}: give that key with --key`),
      );
      await assertRefused(
        { from: url, to: b, key: AuditKey.generate().export() },
        /does not open: .*keyed with audit key/,
      );
      await assertRefused(
        { from: url, to: b, schema: 'other', key: join(a, 'dnc-store.key') },
        /no DNC store in schema "other"/,
      );
      assert.deepEqual(await readdir(b), []);
    });

    it('counts every instance following a PostgreSQL source, the leader and the others', async function () {
      // Only one instance leads; the others keep bidding at each poll, so their change-feed session
      // shows the bid, not the LISTEN: both kinds must stop the migration.
      const a = await smallStore();
      const url = await freshDatabase();
      await migrateStore({ from: a, to: url, logger: quiet });
      const b = await userDir();
      const first = openPostgres(url, await keyOf(a));
      const second = openPostgres(url, await keyOf(a));
      await first.open();
      await second.open();
      try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        await assertRefused(
          { from: url, to: b, key: join(a, 'dnc-store.key') },
          /source is in use: 2 DNC Flow instances follow schema "dnc"/,
        );
      } finally {
        await second.close();
        await first.close();
      }
      assert.deepEqual(await readdir(b), []);
      // An instance following another schema of the same database, leading it and bidding: not in use.
      const other = openPostgres(url, AuditKey.generate(), 'other');
      await other.open();
      try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        await migrateStore({ from: url, to: b, key: join(a, 'dnc-store.key'), logger: quiet });
      } finally {
        await other.close();
      }
      assert.ok((await readdir(b)).includes('dnc-store.events.ndjson'));
    });

    it('refuses two stores of one kind and a source with no store', async function () {
      const a = await userDir();
      await assertRefused({ from: a, to: await userDir() }, /one side must be an embedded store/);
      await assertRefused({ from: a, to: await freshDatabase() }, /there is no DNC store at/);
    });
  });

  it('dncflow migrate: prints the key id and where the key goes, masks the password, refuses without a stack', async function () {
    const a = await smallStore();
    const key = await keyOf(a);
    const url = (await freshDatabase()).replace('postgres@', 'postgres:s3cret-pw@');
    const bin = join(__dirname, '..', '..', 'bin', 'dncflow.js');
    const ok = spawnSync(process.execPath, [bin, 'migrate', '--from', a, '--to', url], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Migrated 20 audit records, 20 contacts and 1 attempt records/);
    assert.match(ok.stdout, new RegExp(`audit key ${key.id}`));
    assert.match(ok.stdout, /dnc-postgres-dnc\.key in its user directory/);
    assert.match(ok.stdout, /postgres:\/\/postgres:\*\*\*@/);
    assert.doesNotMatch(ok.stdout + ok.stderr, /s3cret-pw/);

    const again = spawnSync(process.execPath, [bin, 'migrate', '--from', a, '--to', url], {
      encoding: 'utf8',
    });
    assert.equal(again.status, 1);
    assert.match(
      again.stderr,
      /^dncflow: DNC_INVALID_INPUT: migration refused: .* already holds a DNC store/,
    );
    assert.doesNotMatch(again.stderr, /\n\s+at /);
    assert.doesNotMatch(again.stderr, /s3cret-pw/);
    assert.equal(again.stdout, '');

    const wrong = spawnSync(process.execPath, [bin, 'migrate', '--from', a], { encoding: 'utf8' });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /usage: dncflow schema/);
  });
});
