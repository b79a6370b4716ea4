import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  appendFile,
  copyFile,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDncError } from '../lib/errors';
import { AuditKey, computeKeyedRecordHash, computeRecordHash, sealRecord } from '../lib/store/audit-hash';
import { EmbeddedStore } from '../lib/store/embedded';
import { acquireEmbeddedStore } from '../lib/store/registry';
import type { AuditRecord, DncStore } from '../lib/store/types';
import { addChange, describeStoreContract, removeChange, type TamperKind } from './store-contract';

const quiet = { warn: (): void => undefined };

async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dnc-store-test-'));
}

async function readJournalLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
}

async function tamperJournal(journalPath: string, kind: TamperKind, seq: number): Promise<void> {
  const lines = await readJournalLines(journalPath);
  const index = seq - 1;
  if (kind === 'edit') {
    const record = JSON.parse(lines[index]);
    record.reason = 'edited afterwards';
    lines[index] = JSON.stringify(record);
  } else if (kind === 'delete') {
    lines.splice(index, 1);
  } else {
    [lines[index], lines[index + 1]] = [lines[index + 1], lines[index]];
  }
  await writeFile(journalPath, lines.map((line) => `${line}\n`).join(''));
}

describeStoreContract('embedded', async () => {
  const dir = await makeTempDir();
  const path = join(dir, 'dnc-store.json');
  let current = new EmbeddedStore({ path, snapshotEvery: 1000, logger: quiet });
  await current.open();
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = new EmbeddedStore({ path, snapshotEvery: 1000, logger: quiet });
      await current.open();
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
    tamper: (kind, seq) => tamperJournal(current.journalPath, kind, seq),
    forceSnapshot: (store) => (store as EmbeddedStore).snapshotNow(),
    dropSnapshot: () => rm(path),
  };
});

describe('EmbeddedStore', function () {
  let dir: string;
  let path: string;
  let journalPath: string;

  beforeEach(async function () {
    dir = await makeTempDir();
    path = join(dir, 'dnc-store.json');
    journalPath = join(dir, 'dnc-store.events.ndjson');
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  async function openStore(snapshotEvery = 1000): Promise<EmbeddedStore> {
    const store = new EmbeddedStore({ path, snapshotEvery, logger: quiet });
    await store.open();
    return store;
  }

  async function writeRecords(store: DncStore, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await store.apply(
        addChange([`+1555000${String(i).padStart(4, '0')}`], ['DNC_Sales'], { at: Date.UTC(2024, 0, 1) + i }),
      );
    }
  }

  it('keeps the journal beside the snapshot, one audit record per line, and a compact snapshot', async function () {
    const store = await openStore();
    await writeRecords(store, 3);
    await store.close();
    assert.equal(store.journalPath, journalPath);
    const lines = await readJournalLines(journalPath);
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as { seq: number }).seq),
      [1, 2, 3],
    );
    const snapshot = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(snapshot.format, 'dnc-store-snapshot/2');
    assert.equal(snapshot.seq, 3);
    assert.equal(snapshot.head, JSON.parse(lines[2]).hash);
    assert.equal(snapshot.offset, (await readFile(journalPath)).length);
    assert.equal(snapshot.contacts, 3);
    assert.equal(snapshot.keys, '+15550000000\n+15550000001\n+15550000002');
    assert.deepEqual(snapshot.keyCounts, [1, 1, 1]);
    assert.deepEqual(snapshot.labelCounts, [1, 1, 1]);
    assert.equal(snapshot.labels.length, 18);
    assert.equal(snapshot.times.length, 6);
  });

  /** Profiles as plain data, to compare two loads. */
  function stateOf(store: EmbeddedStore, keys: readonly string[]): unknown[] {
    return keys.map((key) => {
      const contact = store.lookup(key);
      return contact && { keys: [...contact.keys], labels: contact.labels.map((label) => ({ ...label })) };
    });
  }

  it('loads a format 1 snapshot (rows) and writes format 2 from then on', async function () {
    const store = await openStore();
    const keys = ['+15550000001', 'a@example.com', '+15550000002', 'id:"quoted"\\x', 'id:ünïcode'];
    await store.apply(addChange(keys.slice(0, 2), ['DNC_Sales', 'DNC_SMS'], { campaign: null, actor: null }));
    await store.apply(
      addChange([keys[2]], ['DNC_All'], { labels: [{ label: 'DNC_All', expiresAt: Date.UTC(2030, 0, 1) }] }),
    );
    await store.apply(addChange(keys.slice(3), ['DNC_Sales']));
    await store.apply(removeChange([keys[3]], 'all'));
    const expected = stateOf(store, keys);
    await store.close();
    // The same state as format 1 rows.
    const v2 = JSON.parse(await readFile(path, 'utf8'));
    const strings: string[] = v2.strings;
    let k = 0;
    let l = 0;
    const rows = (v2.keyCounts as number[]).map((keyCount, r) => {
      const row: unknown[] = [(v2.keys as string).split('\n').slice(k, (k += keyCount))];
      for (let j = 0; j < v2.labelCounts[r]; j++, l++) {
        const s = (i: number): number | null => {
          const position = (v2.labels as number[])[l * 6 + i];
          return position < 0 ? null : position;
        };
        const expiresAt = v2.times[l * 2 + 1];
        row.push(s(0), v2.times[l * 2], expiresAt === 9e15 ? null : expiresAt, s(1), s(2), s(3), s(4), s(5));
      }
      return row;
    });
    const v1 = {
      format: 'dnc-store-snapshot/1',
      seq: v2.seq,
      offset: v2.offset,
      head: v2.head,
      createdAt: v2.createdAt,
      contacts: rows,
      strings,
    };
    await writeFile(path, JSON.stringify(v1));
    const reopened = await openStore();
    assert.deepEqual(stateOf(reopened, keys), expected);
    assert.deepEqual(await reopened.verify(), { ok: true, records: 4 });
    await reopened.apply(addChange(['+15550000009'], ['DNC_Sales']));
    await reopened.close();
    assert.equal(JSON.parse(await readFile(path, 'utf8')).format, 'dnc-store-snapshot/2');
    const again = await openStore();
    assert.deepEqual(stateOf(again, keys), expected);
    await again.close();
  });

  it('writes format 1 when a key holds a newline, and loads it back', async function () {
    const store = await openStore();
    await store.apply(addChange(['id:two\nlines', '+15550000001'], ['DNC_Sales']));
    const expected = stateOf(store, ['id:two\nlines', '+15550000001']);
    await store.close();
    assert.equal(JSON.parse(await readFile(path, 'utf8')).format, 'dnc-store-snapshot/1');
    const reopened = await openStore();
    assert.deepEqual(stateOf(reopened, ['id:two\nlines', '+15550000001']), expected);
    await reopened.close();
  });

  it('fails closed on a format 2 snapshot whose columns disagree', async function () {
    const store = await openStore();
    await writeRecords(store, 3);
    await store.close();
    const snapshot = JSON.parse(await readFile(path, 'utf8'));
    snapshot.keyCounts = [1, 2, 1];
    await writeFile(path, JSON.stringify(snapshot));
    const broken = new EmbeddedStore({ path, logger: quiet });
    await assert.rejects(
      broken.open(),
      /snapshot .* is unreadable \(keys do not match keyCounts\).*remove it so the state is rebuilt/s,
    );
    await broken.close();
  });

  it('seals records exactly as the generic hash and JSON.stringify would', function () {
    const base = {
      seq: 7,
      at: '2024-01-01T00:00:00.000Z',
      keys: ['+15550000001', 'ü"\\@x'],
      prev: 'a'.repeat(64),
    };
    const contents: Omit<AuditRecord, 'hash'>[] = [
      {
        ...base,
        op: 'add',
        labels: ['DNC_Sales'],
        changed: ['DNC_Sales'],
        expiresAt: [null],
        source: 'ivr',
        actor: null,
        reason: 'said "stop"\n',
        campaign: null,
        channel: 'voice',
      },
      {
        ...base,
        op: 'add',
        labels: ['A', 'B'],
        changed: ['B'],
        expiresAt: ['2030-01-01T00:00:00.000Z', null],
        source: 'api',
        actor: 'agent-7',
        reason: null,
        campaign: 'spring',
        channel: null,
      },
      {
        ...base,
        op: 'add',
        labels: ['A'],
        changed: [],
        expiresAt: [null],
        source: 'api',
        actor: null,
        reason: null,
        campaign: null,
        channel: null,
      },
      {
        ...base,
        op: 'remove',
        labels: ['*'],
        changed: ['A', 'B'],
        source: 'agent',
        actor: 'agent-9',
        reason: 'consent',
      },
      { ...base, op: 'remove', labels: ['A'], changed: [], source: 'agent', actor: null, reason: null },
      {
        ...base,
        op: 'add',
        labels: ['A'],
        changed: ['A'],
        expiresAt: [null],
        source: 'api',
        actor: null,
        principal: 'user:\u00e9lodie "quoted"',
        reason: null,
        campaign: null,
        channel: null,
      },
      {
        ...base,
        op: 'remove',
        labels: ['A'],
        changed: ['A'],
        source: 'api',
        actor: null,
        principal: 'token:0123456789ab',
        reason: null,
      },
      {
        ...base,
        op: 'remove',
        labels: ['A'],
        changed: ['A'],
        source: 'agent',
        actor: null,
        reason: null,
        keyId: 'k'.repeat(16),
      },
    ];
    const key = AuditKey.generate();
    for (const content of contents) {
      const sealed = sealRecord(content, key);
      const record = { ...content, hash: computeKeyedRecordHash(key, content) };
      assert.deepEqual(sealed.record, record);
      assert.notEqual(record.hash, computeRecordHash(content), 'keyed, not the unkeyed sha256');
      // The member order the store has always written (an array replacer keeps its order, skips absent members).
      const order = [
        'seq',
        'at',
        'op',
        'keys',
        'labels',
        'changed',
        'expiresAt',
        'source',
        'actor',
        'principal',
        'reason',
        'campaign',
        'channel',
        'keyId',
        'prev',
        'hash',
      ];
      assert.equal(sealed.line, `${JSON.stringify(record, order)}\n`);
    }
  });

  it('acknowledges a flood in seq order, batch by batch, each change durable and visible when acknowledged', async function () {
    const store = await openStore(100_000);
    const acknowledged: number[] = [];
    const writes = Array.from({ length: 1500 }, (_, i) => {
      const key = `+1555${String(i).padStart(7, '0')}`;
      return store.apply(addChange([key], ['DNC_Sales'])).then((result) => {
        // Visible to lookups once acknowledged, and on disk.
        assert.equal(store.lookup(key)?.labels[0]?.label, 'DNC_Sales');
        assert.ok(store.status().seq >= result.record.seq);
        acknowledged.push(result.record.seq);
        return result;
      });
    });
    // Not visible before it is durable.
    assert.equal(store.lookup('+15550000000'), undefined);
    await Promise.all(writes);
    assert.deepEqual(
      acknowledged,
      Array.from({ length: 1500 }, (_, i) => i + 1),
    );
    const lines = await readJournalLines(journalPath);
    assert.equal(lines.length, 1500);
    assert.deepEqual(await store.verify(), { ok: true, records: 1500 });
    await store.close();
  });

  it('acknowledges the first changes of a flood before the last ones are written', async function () {
    const store = await openStore(100_000);
    let firstAckSeqOnDisk = -1;
    const writes = Array.from({ length: 2000 }, (_, i) =>
      store.apply(addChange([`+1666${String(i).padStart(7, '0')}`], ['DNC_Sales'])),
    );
    await writes[0].then(() => {
      firstAckSeqOnDisk = store.status().seq;
    });
    await Promise.all(writes);
    assert.ok(firstAckSeqOnDisk > 0 && firstAckSeqOnDisk < 2000, `first ack at seq ${firstAckSeqOnDisk}`);
    await store.close();
  });

  it('writes snapshots in the background every snapshotEvery records and replays only what follows', async function () {
    const store = await openStore(10);
    await writeRecords(store, 25);
    await store.snapshotNow();
    const snapshot = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(snapshot.seq, 25);
    await writeRecords(store, 3); // overwrites keys 0..2 idempotently: seq 26..28 after the snapshot
    // Simulate a crash: no close, so no final snapshot. What a crash leaves on disk (the files, without
    // the lock a dead process no longer holds) must replay 26..28.
    const crashed = await makeTempDir();
    for (const file of await readdir(dir)) {
      if (!file.endsWith('.lock')) await copyFile(join(dir, file), join(crashed, file));
    }
    const reopened = new EmbeddedStore({
      path: join(crashed, 'dnc-store.json'),
      snapshotEvery: 10,
      logger: quiet,
    });
    await reopened.open();
    assert.equal(reopened.status().seq, 28);
    assert.equal(reopened.status().contacts, 25);
    assert.deepEqual(await reopened.verify(), { ok: true, records: 28 });
    await reopened.close();
    await store.close();
    await rm(crashed, { recursive: true, force: true });
  });

  describe('with an unreadable file at open', function () {
    async function assertFailsClosed(badFile: string, messagePart: RegExp): Promise<void> {
      const original = await readFile(badFile);
      const store = new EmbeddedStore({ path, logger: quiet });
      await assert.rejects(store.open(), (error: unknown) => {
        assert.ok(isDncError(error));
        assert.equal(error.code, 'DNC_STORE_UNAVAILABLE');
        assert.match(error.message, messagePart);
        assert.ok(error.message.includes(badFile), 'the message names the file');
        assert.match(error.message, /[Rr]estore/);
        return true;
      });
      const status = store.status();
      assert.equal(status.state, 'unavailable');
      assert.ok(isDncError(status.error) && status.error.code === 'DNC_STORE_UNAVAILABLE');
      await assert.rejects(store.apply(addChange(['+15550009999'], ['DNC_Sales'])), (error: unknown) => {
        return isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE';
      });
      assert.throws(
        () => store.lookup('+15550000000'),
        (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
      );
      await store.close();
      const names = await readdir(dir);
      const copyName = names.find((name) => name.startsWith(`${badFile.slice(dir.length + 1)}.corrupt-`));
      assert.ok(copyName, `a copy of the bad file is kept aside (found ${names.join(', ')})`);
      assert.deepEqual(await readFile(join(dir, copyName)), original);
      assert.deepEqual(await readFile(badFile), original, 'the original is untouched');
    }

    async function prepareStore(records = 5): Promise<void> {
      const store = await openStore();
      await writeRecords(store, records);
      await store.close();
    }

    it('fails closed on garbage in the snapshot, and rebuilds from the journal once the snapshot is removed', async function () {
      await prepareStore();
      await writeFile(path, 'this is not json at all');
      await assertFailsClosed(path, /snapshot .* is unreadable \(not valid JSON/);
      await rm(path);
      const rebuilt = await openStore();
      assert.equal(rebuilt.status().seq, 5);
      assert.equal(rebuilt.status().contacts, 5);
      await rebuilt.close();
    });

    it('fails closed on a truncated snapshot', async function () {
      await prepareStore();
      const text = await readFile(path, 'utf8');
      await writeFile(path, text.slice(0, Math.floor(text.length / 2)));
      await assertFailsClosed(path, /not valid JSON/);
    });

    it('fails closed on a snapshot with a wrong format tag', async function () {
      await prepareStore();
      const snapshot = JSON.parse(await readFile(path, 'utf8'));
      snapshot.format = 'something-else/9';
      await writeFile(path, JSON.stringify(snapshot));
      await assertFailsClosed(path, /unknown format tag/);
    });

    it('fails closed on a bad journal line in the middle of the file', async function () {
      await prepareStore();
      await rm(path);
      const lines = await readJournalLines(journalPath);
      lines[2] = '{"seq":3,"garbage';
      await writeFile(journalPath, lines.map((line) => `${line}\n`).join(''));
      await assertFailsClosed(journalPath, /journal .* is corrupt at byte \d+: record 3 is not valid JSON/);
    });

    it('fails closed on a broken hash chain in the replayed journal', async function () {
      await prepareStore();
      await rm(path);
      await tamperJournal(journalPath, 'edit', 2);
      await assertFailsClosed(journalPath, /record 2 was altered/);
    });

    it('fails closed when the journal does not continue the snapshot', async function () {
      await prepareStore(5);
      // Another store's journal of the same length range: same seqs, different hashes.
      const otherDir = await makeTempDir();
      const other = new EmbeddedStore({ path: join(otherDir, 'dnc-store.json'), logger: quiet });
      await other.open();
      for (let i = 0; i < 12; i++) await other.apply(removeChange([`+1555111${i}`], 'all'));
      await other.close();
      await writeFile(journalPath, await readFile(other.journalPath));
      await rm(otherDir, { recursive: true, force: true });
      await assertFailsClosed(journalPath, /does not continue the snapshot/);
    });
  });

  it('sets a torn final journal line aside and carries on', async function () {
    const store = await openStore();
    await writeRecords(store, 4);
    await store.close();
    const torn = '{"seq":5,"at":"2024-01-01T00:00:00.000Z","op":"ad';
    await appendFile(journalPath, torn);
    const reopened = await openStore();
    assert.equal(reopened.status().seq, 4);
    const names = await readdir(dir);
    const tornName = names.find((name) => name.startsWith('dnc-store.events.ndjson.torn-'));
    assert.ok(tornName);
    assert.equal(await readFile(join(dir, tornName), 'utf8'), torn);
    assert.ok((await readFile(journalPath, 'utf8')).endsWith('}\n'));
    const next = await reopened.apply(addChange(['+15559990000'], ['DNC_Sales']));
    assert.equal(next.record.seq, 5);
    assert.deepEqual(await reopened.verify(), { ok: true, records: 5 });
    await reopened.close();
    const again = await openStore();
    assert.deepEqual(await again.verify(), { ok: true, records: 5 });
    await again.close();
  });

  it('cuts a failed batch back out of the journal: a change reported as not saved is absent after reopen', async function () {
    const store = await openStore();
    await writeRecords(store, 2);
    const durableEnd = (await stat(journalPath)).size;
    // The disk fails the fdatasync after the batch's bytes went into the file.
    const internals = store as unknown as { writer: { journal: FileHandle } };
    internals.writer.journal.datasync = () =>
      Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await assert.rejects(
      store.apply(addChange(['+15559990001'], ['DNC_Sales'])),
      (err: unknown) => isDncError(err) && err.code === 'DNC_STORE_ERROR' && /not saved/.test(err.message),
    );
    assert.equal(store.status().state, 'unavailable');
    assert.doesNotMatch(store.status().error?.message ?? '', /may hold/);
    assert.equal((await stat(journalPath)).size, durableEnd);
    await store.close();

    const reopened = await openStore();
    assert.equal(reopened.lookup('+15559990001'), undefined);
    assert.equal(reopened.status().seq, 2);
    assert.deepEqual(await reopened.verify(), { ok: true, records: 2 });
    await reopened.close();
  });

  describe('crash safety', function () {
    this.timeout(60_000);
    const fixture = join(__dirname, 'fixtures', 'crash-writer.js');

    async function runAndKill(
      minimumAcks: number,
      extraDelayMs: number,
      firstNumber: number,
    ): Promise<Map<string, number>> {
      const child = spawn(process.execPath, [fixture, path, '37', String(firstNumber)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const acknowledged = new Map<string, number>();
      let buffered = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        child.on('exit', () => reject(new Error(`the writer exited before it was killed: ${stderr}`)));
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) {
            const [seq, key] = line.split(' ');
            if (key !== undefined) acknowledged.set(key, Number(seq));
          }
          if (acknowledged.size >= minimumAcks) {
            child.stdout.removeAllListeners('data');
            setTimeout(() => {
              child.kill('SIGKILL');
              resolve();
            }, extraDelayMs);
          }
        });
      });
      await exited;
      return acknowledged;
    }

    for (let iteration = 1; iteration <= 5; iteration++) {
      it(`keeps every acknowledged write after SIGKILL (run ${iteration})`, async function () {
        // Two kills per run: the second one recovers from the first one's leftovers.
        let allAcknowledged = new Map<string, number>();
        for (let round = 0; round < 2; round++) {
          const minimumAcks = 50 + Math.floor(Math.random() * 400);
          const acknowledged = await runAndKill(
            minimumAcks,
            Math.floor(Math.random() * 40),
            round * 1_000_000,
          );
          assert.ok(acknowledged.size >= minimumAcks);
          allAcknowledged = new Map([...allAcknowledged, ...acknowledged]);
          const snapshotText = await readFile(path, 'utf8').catch(() => undefined);
          if (snapshotText !== undefined) JSON.parse(snapshotText);
          const store = await openStore();
          for (const [key, seq] of allAcknowledged) {
            assert.deepEqual(
              store.lookup(key)?.labels.map((label) => label.label),
              ['DNC_Sales'],
              `acknowledged write ${seq} (${key}) is present`,
            );
            assert.ok(seq <= store.status().seq);
          }
          assert.equal((await store.verify()).ok, true);
          await store.close();
        }
      });
    }
  });

  describe('audit integrity', function () {
    const checkpointPath = (): string => join(dir, 'dnc-store.checkpoint');
    const keyPath = (): string => join(dir, 'dnc-store.key');

    /** open() refuses exactly as for other corruption: DNC_STORE_UNAVAILABLE, a copy kept, nothing written. */
    async function assertRefuses(
      messagePart: RegExp,
      options: { auditKey?: string; keepsCopy?: boolean } = {},
    ): Promise<void> {
      const before = new Map<string, Buffer>();
      for (const name of await readdir(dir)) before.set(name, await readFile(join(dir, name)));
      const store = new EmbeddedStore({ path, logger: quiet, auditKey: options.auditKey });
      await assert.rejects(store.open(), (error: unknown) => {
        assert.ok(isDncError(error), String(error));
        assert.equal(error.code, 'DNC_STORE_UNAVAILABLE');
        assert.match(error.message, messagePart);
        assert.match(error.message, /[Rr]estore/);
        return true;
      });
      assert.equal(store.status().state, 'unavailable');
      assert.throws(
        () => store.lookup('+15550000000'),
        (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
      );
      await assert.rejects(
        store.apply(addChange(['+15550009999'], ['DNC_Sales'])),
        (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
      );
      await store.close();
      const names = await readdir(dir);
      if (options.keepsCopy !== false) {
        assert.ok(
          names.some((name) => name.startsWith('dnc-store.events.ndjson.corrupt-')),
          `a copy of the journal is kept aside (found ${names.join(', ')})`,
        );
      }
      assert.ok(!names.includes('dnc-store.key') || before.has('dnc-store.key'), 'no new key file');
      for (const [name, bytes] of before) {
        assert.deepEqual(await readFile(join(dir, name)), bytes, `${name} is untouched`);
      }
    }

    /** Rewrites the journal as an attacker without the key would: unkeyed sha256, seqs renumbered. */
    function recomputeChain(lines: string[]): string[] {
      let prev = '0'.repeat(64);
      return lines.map((line, index) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        delete record.keyId;
        delete record.hash;
        record.seq = index + 1;
        record.prev = prev;
        const hash = computeRecordHash(record as unknown as AuditRecord);
        prev = hash;
        return JSON.stringify({ ...record, hash });
      });
    }

    it('refuses a journal with one changed byte in a record the snapshot covers', async function () {
      const store = await openStore();
      await writeRecords(store, 25);
      await store.close(); // the snapshot now covers all 25 records
      assert.equal(JSON.parse(await readFile(path, 'utf8')).seq, 25);
      const bytes = await readFile(journalPath);
      let start = 0;
      for (let line = 1; line < 20; line++) start = bytes.indexOf(10, start) + 1;
      const reason = bytes.indexOf('"reason":"asked', start) + '"reason":"'.length;
      bytes[reason] = 'A'.charCodeAt(0); // "asked" -> "Asked": one byte
      await writeFile(journalPath, bytes);
      await assertRefuses(/corrupt at byte \d+: record 20 was altered/);
    });

    it('refuses a journal whose chain was recomputed without the key after an opt-out was dropped', async function () {
      const store = await openStore();
      await store.apply(addChange(['+15550000001'], ['DNC_All'])); // the opt-out the attacker drops
      await writeRecords(store, 5);
      await store.close();
      const forged = recomputeChain((await readJournalLines(journalPath)).slice(1));
      await writeFile(journalPath, forged.map((line) => `${line}\n`).join(''));
      await rm(path);
      await assertRefuses(/checkpoint/);
      // Without the checkpoint either: the key file beside the store says one was written.
      await rm(checkpointPath());
      for (const name of await readdir(dir)) if (name.includes('.corrupt-')) await rm(join(dir, name));
      await assertRefuses(/checkpoint .* is missing/);
    });

    it('refuses a journal whose tail was deleted (the checkpoint is ahead of it)', async function () {
      const store = await openStore();
      await writeRecords(store, 10);
      await store.close();
      const lines = await readJournalLines(journalPath);
      await writeFile(
        journalPath,
        lines
          .slice(0, 7)
          .map((line) => `${line}\n`)
          .join(''),
      );
      await rm(path);
      await assertRefuses(/ends at record 7 but the checkpoint .* says 10 records were acknowledged/);
    });

    it('refuses a torn final line of a record the checkpoint says was acknowledged', async function () {
      const store = await openStore();
      await writeRecords(store, 5);
      await store.close();
      const text = await readFile(journalPath, 'utf8');
      const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
      await writeFile(journalPath, text.slice(0, lastStart + 40)); // record 5 cut in the middle
      await rm(path);
      await assertRefuses(/ends at record 4 but the checkpoint .* says 5 records were acknowledged/);
    });

    it('reopens a store closed before its first record', async function () {
      await (await openStore()).close();
      const reopened = await openStore();
      assert.deepEqual(await reopened.verify(), { ok: true, records: 0 });
      await reopened.apply(addChange(['+15559990000'], ['DNC_Sales']));
      await reopened.close();
      const again = await openStore();
      assert.deepEqual(await again.verify(), { ok: true, records: 1 });
      await again.close();
    });

    it('keys the chain from its first record, with a key file of mode 0600 beside the store', async function () {
      const store = await openStore();
      await writeRecords(store, 3);
      const key = AuditKey.parse(await readFile(keyPath(), 'utf8'));
      assert.ok(key);
      if (process.platform !== 'win32') assert.equal((await stat(keyPath())).mode & 0o777, 0o600);
      const records = (await readJournalLines(journalPath)).map((line) => JSON.parse(line) as AuditRecord);
      assert.equal(records[0].keyId, key.id, 'the first record is the switch-over record');
      assert.equal(records[1].keyId, undefined);
      for (const record of records) assert.equal(record.hash, computeKeyedRecordHash(key, record));
      assert.deepEqual(await store.verify(), { ok: true, records: 3 });
      await store.close();
    });

    it('uses a configured audit key instead of the key file, and refuses one that is not a key', async function () {
      const configured = AuditKey.generate();
      const store = new EmbeddedStore({ path, logger: quiet, auditKey: configured.export() });
      await store.open();
      await writeRecords(store, 2);
      await store.close();
      assert.ok(!(await readdir(dir)).includes('dnc-store.key'), 'no key file when a key is configured');
      const records = (await readJournalLines(journalPath)).map((line) => JSON.parse(line) as AuditRecord);
      assert.equal(records[0].keyId, configured.id);
      assert.equal(records[1].hash, computeKeyedRecordHash(configured, records[1]));

      const wrong = new EmbeddedStore({ path, logger: quiet, auditKey: 'not a key!' });
      await assert.rejects(
        wrong.open(),
        (error: unknown) =>
          isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE' && /not a key/.test(error.message),
      );
      await wrong.close();
    });

    it('refuses a checkpoint naming another audit key (a forged one hiding a deleted opt-out)', async function () {
      const store = await openStore();
      await writeRecords(store, 1);
      await store.apply(addChange(['+15550000001'], ['DNC_All'])); // the opt-out the attacker drops
      await store.close();
      const lines = await readJournalLines(journalPath);
      await writeFile(journalPath, `${lines[0]}\n`);
      await rm(path);
      const real = JSON.parse(await readFile(checkpointPath(), 'utf8'));
      const kept = JSON.parse(lines[0]) as AuditRecord;
      await writeFile(
        checkpointPath(),
        JSON.stringify({ ...real, seq: 1, hash: kept.hash, keyId: 'f'.repeat(16), mac: 'x' }),
      );
      await assertRefuses(/written with audit key f{16}.*dncAcceptAuditKeyChange: 'f{16}'/);
    });

    it('refuses records after the checkpoint that switch to another audit key, with or without a checkpoint naming it', async function () {
      const store = await openStore();
      await store.apply(addChange(['+15550000001'], ['DNC_All']));
      await store.close();
      const last = JSON.parse((await readJournalLines(journalPath))[0]) as AuditRecord;
      const forged = {
        seq: 2,
        at: new Date(Date.UTC(2024, 0, 2)).toISOString(),
        op: 'remove',
        keys: last.keys,
        labels: ['*'],
        changed: ['DNC_All'],
        source: 'api',
        actor: null,
        reason: null,
        keyId: 'e'.repeat(16),
        prev: last.hash,
        hash: 'a'.repeat(64),
      };
      await appendFile(journalPath, `${JSON.stringify(forged)}\n`);
      await rm(path);
      // The real checkpoint stays: the foreign record follows it.
      await assertRefuses(/record.* 2.*follow the checkpoint but are not MACed/);
      for (const name of await readdir(dir)) if (name.includes('.corrupt-')) await rm(join(dir, name));
      const real = JSON.parse(await readFile(checkpointPath(), 'utf8'));
      await writeFile(
        checkpointPath(),
        JSON.stringify({
          ...real,
          seq: 2,
          hash: forged.hash,
          chainKey: forged.keyId,
          keyId: forged.keyId,
          mac: 'x',
        }),
      );
      await assertRefuses(/written with audit key e{16}/);
    });

    it('refuses a missing key file beside a checkpoint, naming the key and how to recover', async function () {
      const store = await openStore();
      await writeRecords(store, 2);
      await store.close();
      const keyId = AuditKey.parse(await readFile(keyPath(), 'utf8'))?.id;
      assert.ok(keyId);
      await rm(keyPath());
      await assertRefuses(
        new RegExp(`key file .* is missing.*audit key ${keyId}.*dncAcceptAuditKeyChange: '${keyId}'`),
        {
          keepsCopy: false,
        },
      );
      assert.ok(!(await readdir(dir)).includes('dnc-store.key'), 'no silent new key');
      // A different configured key is a key change too.
      await assertRefuses(new RegExp(`written with audit key ${keyId}`), {
        auditKey: AuditKey.generate().export(),
      });
    });

    it('with the key lost and the change accepted explicitly, keeps answering checks, reports the keyed records unverifiable, and keys new ones with the new key', async function () {
      const store = await openStore();
      await writeRecords(store, 4);
      await store.close();
      const oldId = AuditKey.parse(await readFile(keyPath(), 'utf8'))!.id;
      await rm(keyPath());
      const accept = (): EmbeddedStore =>
        new EmbeddedStore({ path, logger: quiet, acceptAuditKeyChange: oldId });
      const wrongId = new EmbeddedStore({ path, logger: quiet, acceptAuditKeyChange: '0'.repeat(16) });
      await assert.rejects(wrongId.open(), /is missing/);
      await wrongId.close();
      const reopened = accept();
      await reopened.open();
      assert.deepEqual(
        reopened.lookup('+15550000002')?.labels.map((label) => label.label),
        ['DNC_Sales'],
      );
      const lost = await reopened.verify();
      assert.equal(lost.ok, false);
      assert.equal(lost.records, 4);
      assert.deepEqual(lost.unverifiable?.from, 1);
      assert.deepEqual(lost.unverifiable?.to, 4);
      assert.match(lost.problem ?? '', /cannot be proven/);
      const next = await reopened.apply(addChange(['+15559990000'], ['DNC_Sales']));
      const newKey = AuditKey.parse(await readFile(keyPath(), 'utf8'));
      assert.notEqual(newKey?.id, oldId);
      assert.equal(next.record.keyId, newKey?.id, 'a switch-over record to the new key');
      const after = await reopened.verify();
      assert.equal(after.records, 5);
      assert.equal(after.unverifiable?.to, 4);
      await reopened.close();
      // From now on the store's own checkpoint: no option needed, the old range stays reported.
      const again = await openStore();
      assert.equal((await again.verify()).unverifiable?.to, 4);
      await again.close();
    });

    it('opens after a crash during the first open: an empty checkpoint beside an unkeyed journal, or a checkpoint whose new key was not yet installed', async function () {
      const configured = AuditKey.generate().export();
      const first = new EmbeddedStore({ path, logger: quiet, auditKey: configured });
      await first.open();
      await first.close();
      await writeFile(checkpointPath(), '');
      const afterEmpty = new EmbeddedStore({ path, logger: quiet, auditKey: configured });
      await afterEmpty.open();
      await afterEmpty.apply(addChange(['+15559990000'], ['DNC_Sales']));
      await afterEmpty.close();
      // Once the journal is keyed, an empty checkpoint is damage.
      await writeFile(checkpointPath(), '');
      await assertRefuses(/checkpoint .* is empty/, { auditKey: configured });

      await rm(dir, { recursive: true, force: true });
      dir = await makeTempDir();
      path = join(dir, 'dnc-store.json');
      journalPath = join(dir, 'dnc-store.events.ndjson');
      await (await openStore()).close();
      assert.equal((await stat(checkpointPath())).size > 0, true);
      // The crash between the checkpoint's creation and the key file's: the key is still pending.
      const key = await readFile(keyPath());
      await rm(keyPath());
      await writeFile(`${keyPath()}.new`, key, { mode: 0o600 });
      const recovered = await openStore();
      await recovered.apply(addChange(['+15559990000'], ['DNC_Sales']));
      assert.deepEqual(await recovered.verify(), { ok: true, records: 1 });
      await recovered.close();
      assert.deepEqual(await readFile(keyPath()), key);
      assert.ok(!(await readdir(dir)).includes('dnc-store.key.new'));
    });

    it('fails closed when the checkpoint cannot be written at a commit: the write is rejected, checks are blocked, nothing unhandled', async function () {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      try {
        const store = await openStore();
        await writeRecords(store, 2);
        // The disk fails under the checkpoint (as EIO or ENOSPC would): its descriptor is gone.
        const checkpoint = (store as unknown as { writer: { checkpoint: { handle: FileHandle } } }).writer
          .checkpoint;
        await checkpoint.handle.close();
        await assert.rejects(
          store.apply(removeChange(['+15550000001'], 'all')),
          (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_ERROR',
        );
        assert.equal(store.status().state, 'unavailable');
        assert.match(store.status().error?.message ?? '', /writing the checkpoint .* failed/);
        assert.throws(
          () => store.lookup('+15550000001'),
          (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE',
        );
        await store.close().catch(() => undefined);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(unhandled, []);
        // The rejected removal was cut from the journal: the contact is still labelled after reopening.
        const reopened = await openStore();
        assert.deepEqual(
          reopened.lookup('+15550000001')?.labels.map((label) => label.label),
          ['DNC_Sales'],
        );
        await reopened.close();
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it('opens a store written by 0.1.0 unchanged and continues its chain keyed from a switch-over record', async function () {
      const fixture = join(__dirname, '..', '..', 'test', 'fixtures', 'store-0.1.0');
      for (const name of ['dnc-store.json', 'dnc-store.events.ndjson']) {
        await writeFile(join(dir, name), await readFile(join(fixture, name)));
      }
      const history = await readFile(journalPath);
      const store = await openStore();
      // The 6 records of 0.1.0, then the upgrade's switch-over record (by the package, changing nothing).
      assert.equal(store.status().seq, 7);
      assert.deepEqual(
        store.lookup('+14155550101')?.labels.map((label) => label.label),
        ['DNC_Sales'],
      );
      assert.deepEqual(store.lookup('+14155550102')?.labels, []);
      assert.deepEqual(store.lookup('+14155550103')?.labels, []);
      assert.deepEqual(
        store.lookup('+14155550104')?.labels.map((label) => label.label),
        ['DNC_Sales'],
      );
      const key = AuditKey.parse(await readFile(keyPath(), 'utf8'));
      const [switchOver] = await store.audit({ limit: 1 });
      assert.equal(switchOver.seq, 7);
      assert.equal(switchOver.prev, JSON.parse(history.toString().trim().split('\n')[5]).hash);
      assert.equal(switchOver.keyId, key?.id);
      assert.equal(switchOver.principal, 'system');
      assert.match(switchOver.reason ?? '', /^upgrade: /);
      assert.deepEqual([switchOver.keys, switchOver.labels, switchOver.changed], [[], [], []]);
      assert.deepEqual(await store.verify(), { ok: true, records: 7, legacy: 6 });
      const next = await store.apply(addChange(['+14155550105'], ['DNC_Sales']));
      assert.equal(next.record.seq, 8);
      assert.equal(next.record.prev, switchOver.hash);
      assert.equal(next.record.keyId, undefined, 'the key was named by the switch-over record');
      assert.deepEqual(await store.verify(), { ok: true, records: 8, legacy: 6 });
      await store.close();
      assert.deepEqual(
        (await readFile(journalPath)).subarray(0, history.length),
        history,
        'history is never rewritten',
      );

      const reopened = await openStore();
      assert.deepEqual(await reopened.verify(), { ok: true, records: 8, legacy: 6 });
      await reopened.close();

      // The unkeyed part is still checked: an edit there is refused like any other.
      const lines = await readJournalLines(journalPath);
      lines[1] = lines[1].replace('"source":"ivr"', '"source":"api"');
      await writeFile(journalPath, lines.map((line) => `${line}\n`).join(''));
      await assertRefuses(/record 2 was altered/);
    });

    it('verifies incrementally, walks the whole chain again once the interval has passed, and keeps reporting a failure', async function () {
      const store = new EmbeddedStore({ path, logger: quiet, fullVerifyEvery: 60_000 });
      await store.open();
      await writeRecords(store, 6);
      const results = await Promise.all([store.verify(), store.verify(), store.verify()]);
      for (const result of results) assert.deepEqual(result, { ok: true, records: 6 });
      await writeRecords(store, 2);
      assert.deepEqual(await store.verify(), { ok: true, records: 8 });
      await store.close();

      const eager = new EmbeddedStore({ path, logger: quiet, fullVerifyEvery: 0 });
      await eager.open();
      assert.deepEqual(await eager.verify(), { ok: true, records: 8 });
      await tamperJournal(journalPath, 'edit', 3);
      const failed = await eager.verify();
      assert.equal(failed.ok, false);
      assert.equal(failed.badSeq, 3);
      await eager.apply(addChange(['+15559990000'], ['DNC_Sales']));
      assert.equal((await eager.verify()).badSeq, 3, 'a failure stays reported');
      await eager.close();
    });

    it('answers a per-contact or newest-records audit query without reading the rest of the journal', async function () {
      const store = await openStore();
      await writeRecords(store, 20);
      await store.apply(removeChange(['+15550000003'], 'all'));
      assert.equal((await store.audit({ keys: ['+15550000003'] })).length, 2); // builds the index (one scan)
      // Another contact's record is overwritten behind the store's back (same length): a query that
      // read it would fail to parse it.
      const text = await readFile(journalPath, 'utf8');
      const lines = text.split('\n');
      lines[9] = '#'.repeat(lines[9].length);
      await writeFile(journalPath, lines.join('\n'));
      const trail = await store.audit({ keys: ['+15550000003'] });
      assert.deepEqual(
        trail.map((record) => [record.seq, record.op]),
        [
          [4, 'add'],
          [21, 'remove'],
        ],
      );
      await store.apply(addChange(['+15550000003'], ['DNC_SMS']));
      assert.deepEqual(
        (await store.audit({ keys: ['+15550000003'] })).map((record) => record.seq),
        [4, 21, 22],
      );
      assert.deepEqual(
        (await store.audit({ keys: ['+15550000003'], limit: 1 })).map((record) => record.seq),
        [22],
      );
      assert.deepEqual(
        (await store.audit({ limit: 3 })).map((record) => record.seq),
        [20, 21, 22],
      );
      await store.close();
    });
  });

  describe('registry', function () {
    it('shares one store per file and closes it with the last release', async function () {
      const first = acquireEmbeddedStore(path, { logger: quiet });
      const second = acquireEmbeddedStore(join(dir, '.', 'dnc-store.json'), { logger: quiet });
      assert.equal(first.store, second.store);
      await first.ready;
      await first.store.apply(addChange(['+15550001111'], ['DNC_Sales']));
      await first.release();
      await first.release(); // harmless twice
      assert.equal(second.store.status().state, 'ready');
      await second.release();
      assert.equal(second.store.status().state, 'closed');
    });

    it('refuses a second user of the file with a different audit key', async function () {
      const first = acquireEmbeddedStore(path, { logger: quiet, auditKey: AuditKey.generate().export() });
      await first.ready;
      assert.throws(
        () => acquireEmbeddedStore(path, { logger: quiet, auditKey: AuditKey.generate().export() }),
        (error: unknown) =>
          isDncError(error) && error.code === 'DNC_INVALID_INPUT' && /audit key/.test(error.message),
      );
      assert.throws(() => acquireEmbeddedStore(path, { logger: quiet }), /different audit key/);
      await first.release();
    });

    it('makes a reacquire wait for a close still in progress', async function () {
      const first = acquireEmbeddedStore(path, { logger: quiet });
      await first.ready;
      const writes = Array.from({ length: 200 }, (_, i) =>
        first.store.apply(addChange([`+1555222${String(i).padStart(4, '0')}`], ['DNC_Sales'])),
      );
      const releasing = first.release();
      const second = acquireEmbeddedStore(path, { logger: quiet });
      assert.notEqual(second.store, first.store);
      assert.equal(second.store.status().state, 'opening');
      await second.ready;
      await releasing;
      await Promise.all(writes);
      assert.equal(second.store.status().seq, 200);
      assert.deepEqual(await second.store.verify(), { ok: true, records: 200 });
      await second.release();
    });
  });
});
