/**
 * Upgrades keep the data: a store written by the 0.1.0 code (test/fixtures/store-0.1.0-full, made by
 * test/fixtures/make-0.1.0-store.js against the 0.1.0 build, with the answers 0.1.0 gave about it in
 * expected.json) opens with today's code with the same contacts, labels, expiries, links, history and
 * attempts, the same check decisions, and a chain that verifies; the switch to the keyed audit chain is
 * itself a record of the audit trail (principal system, reason "upgrade: ..."), written once.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditKey } from '../lib/store/audit-hash';
import { EmbeddedStore } from '../lib/store/embedded';
import { DncService } from '../lib/service';
import { channelsOfScopes } from '../lib/labels';
import type { AuditRecord, ContactState } from '../lib/store/types';

const FIXTURE = join(__dirname, '..', '..', 'test', 'fixtures', 'store-0.1.0-full');

interface Expected {
  now: string;
  labels: Record<string, unknown>[];
  status: { contacts: number; keys: number; seq: number };
  contacts: ContactState[];
  lookups: Record<string, ContactState | null>;
  audit: AuditRecord[];
  history: Record<string, number[]>;
  verify: { ok: boolean; records: number };
  attempts: Record<string, unknown[]>;
  decisions: {
    contact: string;
    channel: string | null;
    labels: string[] | null;
    allowed: boolean;
    matched: string[];
    reasons: string[];
    active: string[];
  }[];
}

/**
 * The members 0.1.0 reported, from today's answer: members added since (a label's `principal`, null
 * for 0.1.0's labels) are left out, a member 0.1.0 had and today lacks shows as missing.
 */
function as010(actual: unknown, expected: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    return actual.map((item, i) => as010(item, expected[i] ?? expected[0]));
  }
  if (expected !== null && typeof expected === 'object' && actual !== null && typeof actual === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(expected)) {
      out[key] = as010((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key]);
    }
    return out;
  }
  return actual;
}

describe('upgrade: a store written by 0.1.0 opens with the same state', function () {
  this.timeout(30000);
  let expected: Expected;
  let dir: string;
  let path: string;
  const warnings: string[] = [];
  const logger = { warn: (message: string) => void warnings.push(message) };

  before(async () => {
    expected = JSON.parse(await readFile(join(FIXTURE, 'expected.json'), 'utf8')) as Expected;
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dnc-upgrade-'));
    for (const name of ['dnc-store.json', 'dnc-store.events.ndjson', 'dnc-store.attempts.ndjson']) {
      await cp(join(FIXTURE, name), join(dir, name));
    }
    path = join(dir, 'dnc-store.json');
    warnings.length = 0;
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the fixture holds what the issue asks: snapshot, journal after it, attempts, removed, expired, linked', () => {
    assert.equal(expected.audit.length, 11);
    assert.ok(expected.audit.some((r) => r.op === 'remove'));
    assert.ok(
      expected.contacts.some((c) => c.keys.length > 1),
      'a linked profile',
    );
    const now = Date.parse(expected.now);
    const expiries = expected.contacts.flatMap((c) => c.labels.map((l) => l.expiresAt));
    assert.ok(
      expiries.some((e) => e !== null && e <= now),
      'an expired label',
    );
    assert.ok(
      expiries.some((e) => e !== null && e > now),
      'a label that expires later',
    );
    assert.ok(Object.values(expected.attempts).flat().length >= 4, 'attempts and outcomes');
  });

  it('every contact, label, expiry, link, history record and attempt as 0.1.0 reported them', async () => {
    const snapshot = JSON.parse(await readFile(path, 'utf8')) as { seq: number };
    assert.ok(snapshot.seq > 0 && snapshot.seq < 11, 'part of the journal is replayed after the snapshot');
    const store = new EmbeddedStore({ path, logger });
    await store.open();
    try {
      const contacts = [...store.contacts()].sort((a, b) => a.keys[0].localeCompare(b.keys[0]));
      assert.deepEqual(as010(contacts, expected.contacts), expected.contacts);
      for (const [key, profile] of Object.entries(expected.lookups)) {
        assert.deepEqual(as010(store.lookup(key) ?? null, profile), profile, key);
      }
      for (const [key, attempts] of Object.entries(expected.attempts)) {
        assert.deepEqual(as010(store.attempts(key, 0), attempts), attempts, key);
      }
      const audit = await store.audit();
      // 0.1.0's records, byte for byte as it wrote them (no principal: it had none).
      assert.deepEqual(audit.slice(0, 11), expected.audit);
      for (const [key, seqs] of Object.entries(expected.history)) {
        assert.deepEqual(
          (await store.audit({ keys: [key] })).map((r) => r.seq),
          seqs,
          `history of ${key}`,
        );
      }
      assert.equal(store.status().contacts, expected.status.contacts);
      assert.equal(store.status().keys, expected.status.keys);
    } finally {
      await store.close();
    }
  });

  it('answers every check as 0.1.0 did, custom channels of the labels taken as declared', async () => {
    const store = new EmbeddedStore({ path, logger });
    const now = Date.parse(expected.now);
    // What the DNC labels node does with a configuration saved by 0.1.0 (no channel list).
    const channels = channelsOfScopes(expected.labels);
    assert.deepEqual(channels, ['fax']);
    const service = new DncService({
      labels: expected.labels,
      channels,
      store,
      storeReady: store.open(),
      now: () => now,
    });
    await service.whenReady();
    try {
      for (const want of expected.decisions) {
        const d = service.check(want.contact, { channel: want.channel, labels: want.labels, at: now });
        assert.deepEqual(
          {
            allowed: d.allowed,
            matched: d.matched,
            reasons: d.reasons.map((r) => r.code),
            active: d.labels.map((l) => l.label),
          },
          { allowed: want.allowed, matched: want.matched, reasons: want.reasons, active: want.active },
          `${want.contact} on ${want.channel} (labels ${JSON.stringify(want.labels)})`,
        );
      }
    } finally {
      await store.close();
    }
  });

  it('keys the chain from a switch-over record by the package (reason upgrade), once, and the chain verifies', async () => {
    const journal = join(dir, 'dnc-store.events.ndjson');
    const before = await readFile(journal);
    const store = new EmbeddedStore({ path, logger });
    await store.open();
    const key = AuditKey.parse(await readFile(join(dir, 'dnc-store.key'), 'utf8'));
    assert.ok(key, 'a key file was created');
    assert.deepEqual(await store.verify(), { ok: true, records: 12, legacy: 11 });
    const switchOver = (await store.audit()).at(-1)!;
    assert.equal(switchOver.seq, 12);
    assert.equal(switchOver.principal, 'system');
    assert.equal(switchOver.source, 'system');
    assert.match(switchOver.reason ?? '', /^upgrade: records 1\.\.11 were written by version 0\.1\.0/);
    assert.equal(switchOver.keyId, key.id);
    assert.equal(switchOver.prev, expected.audit[10].hash);
    assert.deepEqual([switchOver.keys, switchOver.labels, switchOver.changed], [[], [], []]);
    assert.ok(warnings.some((w) => /upgraded: record 12/.test(w)));
    // It changes nobody: no contact's history shows it.
    for (const key of Object.keys(expected.history)) {
      assert.ok(!(await store.audit({ keys: [key] })).some((r) => r.seq === 12));
    }
    const next = await store.apply({
      op: 'add',
      keys: ['+14155550199'],
      labels: [{ label: 'DNC_Sales', expiresAt: null }],
      source: 'api',
      at: Date.parse(expected.now),
    });
    assert.equal(next.record.seq, 13);
    assert.equal(next.record.keyId, undefined);
    await store.close();
    assert.deepEqual(
      (await readFile(journal)).subarray(0, before.length),
      before,
      'history is never rewritten',
    );

    // Reopened (the snapshot is today's now): the same state, no second switch-over record.
    const again = new EmbeddedStore({ path, logger });
    await again.open();
    try {
      assert.deepEqual(await again.verify(), { ok: true, records: 13, legacy: 11 });
      assert.equal(again.status().seq, 13);
      const contacts = [...again.contacts()]
        .filter((c) => c.keys[0] !== '+14155550199')
        .sort((a, b) => a.keys[0].localeCompare(b.keys[0]));
      assert.deepEqual(as010(contacts, expected.contacts), expected.contacts);
      for (const [key, attempts] of Object.entries(expected.attempts)) {
        assert.deepEqual(as010(again.attempts(key, 0), attempts), attempts, key);
      }
    } finally {
      await again.close();
    }
    assert.deepEqual(
      (await readdir(dir)).filter((name) => /corrupt|torn/.test(name)),
      [],
      'nothing was set aside',
    );
  });

  it('a crash before the switch-over record was durable: the next open writes it', async () => {
    const store = new EmbeddedStore({ path, logger, recordUpgrade: false });
    await store.open();
    assert.deepEqual(await store.verify(), { ok: true, records: 11, legacy: 11 });
    await store.close();
    // The key and checkpoint exist (as after a crash between the checkpoint and the record).
    const again = new EmbeddedStore({ path, logger });
    await again.open();
    try {
      assert.deepEqual(await again.verify(), { ok: true, records: 12, legacy: 11 });
      assert.equal((await again.audit()).at(-1)!.principal, 'system');
    } finally {
      await again.close();
    }
  });

  for (const [file, from, to] of [
    ['dnc-store.checkpoint', '"format":"dnc-store-checkpoint/1"', '"format":"dnc-store-checkpoint/2"'],
    ['dnc-store.json', '"format":"dnc-store-snapshot/2"', '"format":"dnc-store-snapshot/3"'],
  ] as const) {
    it(`refuses a store whose ${file} a later version wrote, says so, and leaves its files as they are`, async () => {
      // Opened once by this version (switch-over, checkpoint, snapshot on close), then "upgraded" on disk.
      const first = new EmbeddedStore({ path, logger });
      await first.open();
      await first.close();
      const target = join(dir, file);
      const text = await readFile(target, 'utf8');
      assert.ok(text.includes(from), `${file} carries ${from}`);
      // Same length: the checkpoint is a fixed-size file.
      await writeFile(target, text.replace(from, to));
      const before = (await readdir(dir)).sort();
      const store = new EmbeddedStore({ path, logger });
      await assert.rejects(store.open(), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'DNC_STORE_UNAVAILABLE');
        assert.match(error.message, /written by a later version of @dncflow\/node-red-dnc/);
        assert.ok(error.message.includes(to.split(':')[1].replace(/"/g, '')), error.message);
        return true;
      });
      assert.equal(store.status().state, 'unavailable');
      await store.close();
      // Not set aside as corrupt, not rewritten.
      assert.deepEqual((await readdir(dir)).sort(), before);
      assert.equal(await readFile(target, 'utf8'), text.replace(from, to));
    });
  }

  it('reads the 0.1.0 attempts file (no format line) as it is; refuses one a later version wrote, saying so', async () => {
    const file = join(dir, 'dnc-store.attempts.ndjson');
    const original = await readFile(file, 'utf8');
    assert.ok(!original.includes('"format"'), 'the 0.1.0 file has no format line');
    const first = new EmbeddedStore({ path, logger });
    await first.open();
    const before = first.attempts('+14155550101', 0).length;
    assert.ok(before > 0, 'attempts read from the 0.1.0 file');
    await first.close();
    await writeFile(file, `{"format":"dnc-store-attempts/2"}\n${original}`);
    const store = new EmbeddedStore({ path, logger });
    await store.open();
    // Labels do not depend on the attempts file; a policy with caps cannot be evaluated (it blocks).
    assert.equal(store.status().state, 'ready');
    assert.throws(
      () => store.attempts('+14155550101', 0),
      (error: Error & { code?: string }) =>
        error.code === 'DNC_STORE_UNAVAILABLE' && /written by a later version/.test(error.message),
    );
    await store.close();
    assert.equal(await readFile(file, 'utf8'), `{"format":"dnc-store-attempts/2"}\n${original}`);
  });
});
