/**
 * The store contract suite: every DncStore adapter (embedded now, PostgreSQL later) runs these tests.
 * Every adapter gives a hook that tampers with its stored trail; the snapshot tests run for adapters that
 * load from snapshots (StoreAbilities), with hooks that force or drop one.
 */
import assert from 'node:assert/strict';
import { isDncError } from '../lib/errors';
import type {
  AddLabelsChange,
  AuditRecord,
  ContactState,
  DncStore,
  RemoveLabelsChange,
} from '../lib/store/types';

export type TamperKind = 'edit' | 'delete' | 'swap';

export interface StoreUnderTest {
  /** An open, empty store. */
  store: DncStore;
  /** Closes the current store (if open) and returns a new, open instance on the same data. */
  reopen: () => Promise<DncStore>;
  /** Closes everything and removes the data. */
  cleanup: () => Promise<void>;
  /** Changes the stored trail behind the store's back: edits a field of record `seq`, deletes it, or swaps it with the next. */
  tamper: (kind: TamperKind, seq: number) => Promise<void>;
  /** Makes the next reopen load from a snapshot. */
  forceSnapshot?: (store: DncStore) => Promise<void>;
  /** Makes the next reopen rebuild the state from the trail alone (the store must be closed). */
  dropSnapshot?: () => Promise<void>;
}

const T0 = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

export function addChange(
  keys: string[],
  labels: string[],
  extra: Partial<AddLabelsChange> = {},
): AddLabelsChange {
  return {
    op: 'add',
    keys,
    labels: labels.map((label) => ({ label, expiresAt: null })),
    source: 'api',
    actor: 'agent-7',
    reason: 'asked not to be called',
    campaign: 'spring',
    channel: 'voice',
    at: T0,
    ...extra,
  };
}

export function removeChange(
  keys: string[],
  labels: string[] | 'all',
  extra: Partial<RemoveLabelsChange> = {},
): RemoveLabelsChange {
  return {
    op: 'remove',
    keys,
    labels,
    source: 'agent',
    actor: 'agent-9',
    reason: 'consent given',
    at: T0 + DAY,
    ...extra,
  };
}

/** The names of the labels a profile holds, sorted. */
function heldLabelNames(contact: ContactState | undefined): string[] {
  return (contact?.labels ?? []).map((label) => label.label).sort();
}

async function assertRejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => isDncError(error) && error.code === code);
}

function assertThrowsUnavailable(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE');
}

/**
 * What an adapter can do beyond the contract: `snapshots` (a store that loads from a snapshot plus the
 * trail after it) runs the snapshot tests, with the forceSnapshot and dropSnapshot hooks.
 */
export interface StoreAbilities {
  readonly snapshots: boolean;
}

export function describeStoreContract(
  name: string,
  makeStore: () => Promise<StoreUnderTest>,
  abilities: StoreAbilities = { snapshots: true },
): void {
  describe(`DncStore contract: ${name}`, function () {
    let subject: StoreUnderTest;
    let store: DncStore;

    beforeEach(async function () {
      subject = await makeStore();
      store = subject.store;
    });
    afterEach(async function () {
      await subject.cleanup();
    });

    it('adds, looks up and removes labels', async function () {
      assert.equal(store.status().state, 'ready');
      assert.equal(store.lookup('+14155550100'), undefined);
      const added = await store.apply(addChange(['+14155550100'], ['DNC_Sales', 'DNC_All']));
      assert.deepEqual([...added.changed].sort(), ['DNC_All', 'DNC_Sales']);
      assert.deepEqual(added.unchanged, []);
      assert.equal(added.record.seq, 1);
      assert.deepEqual(heldLabelNames(store.lookup('+14155550100')), ['DNC_All', 'DNC_Sales']);
      const label = store.lookup('+14155550100')!.labels.find((l) => l.label === 'DNC_Sales')!;
      assert.deepEqual(
        { ...label },
        {
          label: 'DNC_Sales',
          appliedAt: T0,
          expiresAt: null,
          source: 'api',
          actor: 'agent-7',
          reason: 'asked not to be called',
          campaign: 'spring',
          channel: 'voice',
          principal: null,
        },
      );

      const removed = await store.apply(removeChange(['+14155550100'], ['DNC_Sales']));
      assert.deepEqual(removed.changed, ['DNC_Sales']);
      assert.deepEqual(heldLabelNames(store.lookup('+14155550100')), ['DNC_All']);
      const all = await store.apply(removeChange(['+14155550100'], 'all'));
      assert.deepEqual(all.changed, ['DNC_All']);
      assert.deepEqual(all.record.labels, ['*']);
      assert.deepEqual(heldLabelNames(store.lookup('+14155550100')), []);
      // Keys never shrink: the profile is still known.
      assert.deepEqual(store.lookup('+14155550100')?.keys, ['+14155550100']);
      assert.equal(store.status().seq, 3);
    });

    it('links keys into one profile and merges the profiles that held them', async function () {
      await store.apply(
        addChange(['+14155550101'], ['DNC_Sales'], {
          at: T0 + 5000,
          labels: [{ label: 'DNC_Sales', expiresAt: T0 + DAY }],
        }),
      );
      await store.apply(
        addChange(['ana@example.com'], ['DNC_Sales', 'DNC_Email'], { at: T0, source: 'bot' }),
      );
      assert.equal(store.lookupAll(['+14155550101', 'ana@example.com']).length, 2);
      assert.equal(store.status().contacts, 2);

      const linked = await store.apply(
        addChange(['+14155550101', 'ana@example.com', 'id:crm-1'], ['DNC_All'], { at: T0 + DAY }),
      );
      assert.deepEqual(linked.changed, ['DNC_All']);
      const profiles = store.lookupAll(['+14155550101', 'ana@example.com', 'id:crm-1']);
      assert.equal(profiles.length, 1);
      const profile = profiles[0];
      assert.deepEqual([...profile.keys].sort(), ['+14155550101', 'ana@example.com', 'id:crm-1']);
      assert.deepEqual(heldLabelNames(profile), ['DNC_All', 'DNC_Email', 'DNC_Sales']);
      const sales = profile.labels.find((l) => l.label === 'DNC_Sales')!;
      assert.equal(sales.appliedAt, T0, 'the earliest appliedAt wins');
      assert.equal(sales.source, 'bot');
      assert.equal(sales.expiresAt, null, 'null (never) wins over a date');
      assert.deepEqual(store.lookup('id:crm-1'), profile, 'every key holds the merged profile');
      assert.equal(store.status().contacts, 1);
      assert.equal(store.status().keys, 3);
    });

    it('keeps the later expiry when two linked profiles both carry a label with dates', async function () {
      await store.apply(
        addChange(['a@example.com'], ['X'], { labels: [{ label: 'X', expiresAt: T0 + 2 * DAY }] }),
      );
      await store.apply(
        addChange(['b@example.com'], ['X'], { labels: [{ label: 'X', expiresAt: T0 + 9 * DAY }] }),
      );
      await store.apply(addChange(['a@example.com', 'b@example.com'], ['Y']));
      const x = store.lookup('a@example.com')!.labels.find((l) => l.label === 'X')!;
      assert.equal(x.expiresAt, T0 + 9 * DAY);
    });

    it('re-adding a label is idempotent but audited, and never shortens the block', async function () {
      const key = '+14155550102';
      await store.apply(
        addChange([key], ['DNC_Sales'], { labels: [{ label: 'DNC_Sales', expiresAt: T0 + 10 * DAY }] }),
      );
      const shorter = await store.apply(
        addChange([key], ['DNC_Sales'], {
          at: T0 + 1,
          labels: [{ label: 'DNC_Sales', expiresAt: T0 + 2 * DAY }],
        }),
      );
      assert.deepEqual(shorter.changed, []);
      assert.deepEqual(shorter.unchanged, ['DNC_Sales']);
      assert.deepEqual(shorter.record.changed, []);
      assert.equal(store.lookup(key)!.labels[0].expiresAt, T0 + 10 * DAY);
      assert.equal(store.lookup(key)!.labels[0].appliedAt, T0);
      await store.apply(
        addChange([key], ['DNC_Sales'], { at: T0 + 2, labels: [{ label: 'DNC_Sales', expiresAt: null }] }),
      );
      assert.equal(store.lookup(key)!.labels[0].expiresAt, null);
      assert.equal(store.lookup(key)!.labels[0].appliedAt, T0);

      const missing = await store.apply(removeChange([key], ['DNC_Marketing']));
      assert.deepEqual(missing.changed, []);
      assert.deepEqual(missing.unchanged, ['DNC_Marketing']);
      const unknown = await store.apply(removeChange(['+14155550199'], ['DNC_Sales']));
      assert.deepEqual(unknown.changed, []);
      const trail = await store.audit({ keys: [key] });
      assert.deepEqual(
        trail.map((r) => [r.seq, r.changed]),
        [
          [1, ['DNC_Sales']],
          [2, []],
          [3, []],
          [4, []],
        ],
      );
    });

    it('keeps an expired label in the state until it is removed', async function () {
      await store.apply(
        addChange(['+14155550103'], ['DNC_Temp'], { labels: [{ label: 'DNC_Temp', expiresAt: T0 - DAY }] }),
      );
      const contact = store.lookup('+14155550103');
      assert.deepEqual(heldLabelNames(contact), ['DNC_Temp']);
      assert.equal(contact!.labels[0].expiresAt, T0 - DAY);
      const reopened = await subject.reopen();
      assert.deepEqual(heldLabelNames(reopened.lookup('+14155550103')), ['DNC_Temp']);
    });

    async function writeSample(target: DncStore): Promise<void> {
      await target.apply(addChange(['+14155550110'], ['DNC_Sales']));
      await target.apply(addChange(['+14155550111', 'x@example.com'], ['DNC_All'], { at: T0 + 1000 }));
      await target.apply(
        addChange(['+14155550110', 'x@example.com'], ['DNC_Email'], { at: T0 + 2000, channel: null }),
      );
      await target.apply(removeChange(['+14155550111'], ['DNC_All']));
      await target.apply(
        addChange(['id:9'], ['DNC_Temp'], { labels: [{ label: 'DNC_Temp', expiresAt: T0 + DAY }] }),
      );
    }

    function stateOf(target: DncStore): unknown {
      const keys = ['+14155550110', '+14155550111', 'x@example.com', 'id:9', 'none'];
      return keys.map((key) => {
        const contact = target.lookup(key);
        return contact && { keys: [...contact.keys], labels: contact.labels.map((label) => ({ ...label })) };
      });
    }

    async function assertSurvivesReopen(prepare?: (current: DncStore) => Promise<void>): Promise<void> {
      await writeSample(store);
      const before = { state: stateOf(store), audit: await store.audit(), status: store.status() };
      await prepare?.(store);
      const reopened = await subject.reopen();
      assert.deepEqual(stateOf(reopened), before.state);
      assert.deepEqual(await reopened.audit(), before.audit);
      const status = reopened.status();
      assert.deepEqual(
        [status.state, status.contacts, status.keys, status.seq],
        ['ready', before.status.contacts, before.status.keys, before.status.seq],
      );
      assert.deepEqual(await reopened.verify(), { ok: true, records: 5 });
      // And it keeps writing where it left off.
      const next = await reopened.apply(addChange(['+14155550112'], ['DNC_Sales']));
      assert.equal(next.record.seq, 6);
      assert.equal(next.record.prev, before.audit[4].hash);
    }

    it('reloads identical state and audit after a restart', async function () {
      await assertSurvivesReopen();
    });

    if (abilities.snapshots) {
      it('reloads identical state and audit from a snapshot', async function () {
        await assertSurvivesReopen((current) => subject.forceSnapshot!(current));
      });

      it('reloads identical state and audit from the trail alone', async function () {
        await assertSurvivesReopen(async (current) => {
          await current.close();
          await subject.dropSnapshot!();
        });
      });
    }

    it('keeps attempt records, with the Reassigned Numbers Database answers they relied on, across a restart', async function () {
      const rnd = [
        {
          number: '+14155550120',
          answer: 'no' as const,
          consentDate: '2025-01-05',
          queriedAt: '2026-03-01T15:00:00.000Z',
        },
      ];
      await store.recordAttempt!({
        keys: ['+14155550120'],
        at: T0,
        attempt: true,
        outcome: null,
        channel: 'voice',
        campaign: 'spring',
        source: 'dnc-check',
        principal: 'node:n1',
        rnd,
      });
      await store.recordAttempt!({
        keys: ['+14155550120'],
        at: T0 + 1,
        attempt: true,
        outcome: null,
        channel: 'sms',
        campaign: null,
        source: 'dialer',
      });
      const before = store.attempts!('+14155550120', 0);
      assert.deepEqual(before[0].rnd, rnd);
      assert.equal(before[1].rnd, undefined);
      const reopened = await subject.reopen();
      assert.deepEqual(reopened.attempts!('+14155550120', 0), before);
    });

    it('makes hundreds of concurrent writes durable with unique gapless seqs', async function () {
      const count = 400;
      const results = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          store.apply(addChange([`+1415600${String(i).padStart(4, '0')}`], ['DNC_Sales'])),
        ),
      );
      const seqs = results.map((r) => r.record.seq).sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        Array.from({ length: count }, (_, i) => i + 1),
      );
      const trail = await store.audit();
      assert.equal(trail.length, count);
      assert.deepEqual(await store.verify(), { ok: true, records: count });
      const reopened = await subject.reopen();
      for (let i = 0; i < count; i++) {
        assert.deepEqual(heldLabelNames(reopened.lookup(`+1415600${String(i).padStart(4, '0')}`)), [
          'DNC_Sales',
        ]);
      }
      assert.equal(reopened.status().seq, count);
    });

    it('filters the audit trail by keys, time, label, source and limit', async function () {
      await store.apply(addChange(['+14155550120'], ['DNC_Sales'], { at: T0, source: 'ivr' }));
      await store.apply(addChange(['+14155550121'], ['DNC_All'], { at: T0 + DAY, source: 'bot' }));
      await store.apply(
        addChange(['+14155550120', 'y@example.com'], ['DNC_Email'], { at: T0 + 2 * DAY, source: 'api' }),
      );
      await store.apply(removeChange(['+14155550121'], ['DNC_All'], { at: T0 + 3 * DAY, source: 'agent' }));
      const seqs = (records: AuditRecord[]): number[] => records.map((r) => r.seq);
      assert.deepEqual(seqs(await store.audit()), [1, 2, 3, 4]);
      assert.deepEqual(seqs(await store.audit({ keys: ['+14155550120'] })), [1, 3]);
      assert.deepEqual(seqs(await store.audit({ keys: ['y@example.com', '+14155550121'] })), [2, 3, 4]);
      assert.deepEqual(seqs(await store.audit({ since: T0 + DAY, until: T0 + 2 * DAY })), [2, 3]);
      assert.deepEqual(seqs(await store.audit({ label: 'DNC_All' })), [2, 4]);
      assert.deepEqual(seqs(await store.audit({ source: 'bot' })), [2]);
      assert.deepEqual(seqs(await store.audit({ limit: 2 })), [3, 4]);
      const record = (await store.audit({ keys: ['+14155550121'], limit: 1 }))[0];
      assert.equal(record.at, new Date(T0 + 3 * DAY).toISOString());
      assert.equal(record.op, 'remove');
      assert.equal(record.prev, (await store.audit({ limit: 2 }))[0].hash);
    });

    it('chains the audit records by hash', async function () {
      await writeSample(store);
      const trail = await store.audit();
      assert.equal(trail[0].prev, '0'.repeat(64));
      for (let i = 1; i < trail.length; i++) assert.equal(trail[i].prev, trail[i - 1].hash);
      assert.deepEqual(await store.verify(), { ok: true, records: 5 });
    });

    for (const kind of ['edit', 'delete', 'swap'] as const) {
      it(`verify() detects a ${kind === 'edit' ? 'edited' : kind === 'delete' ? 'deleted' : 'reordered'} record`, async function () {
        await writeSample(store);
        await subject.tamper(kind, 3);
        const verification = await store.verify();
        assert.equal(verification.ok, false);
        assert.equal(verification.badSeq, 3);
        assert.ok(verification.problem);
      });
    }

    it('verify() detects the deletion of the last record', async function () {
      await writeSample(store);
      await subject.tamper('delete', 5);
      const verification = await store.verify();
      assert.equal(verification.ok, false);
      assert.equal(verification.badSeq, 5);
    });

    it('throws DNC_STORE_UNAVAILABLE for lookups and writes once closed', async function () {
      await store.apply(addChange(['+14155550130'], ['DNC_Sales']));
      await store.close();
      assert.equal(store.status().state, 'closed');
      assertThrowsUnavailable(() => store.lookup('+14155550130'));
      assertThrowsUnavailable(() => store.lookupAll(['+14155550130']));
      await assertRejectsWith(
        store.apply(addChange(['+14155550131'], ['DNC_Sales'])),
        'DNC_STORE_UNAVAILABLE',
      );
    });

    it('rejects a malformed change with DNC_INVALID_INPUT', async function () {
      await assertRejectsWith(store.apply(addChange([], ['DNC_Sales'])), 'DNC_INVALID_INPUT');
      await assertRejectsWith(store.apply(addChange(['+14155550140'], [])), 'DNC_INVALID_INPUT');
      await assertRejectsWith(
        store.apply(addChange(['+14155550140'], ['X'], { at: Number.NaN })),
        'DNC_INVALID_INPUT',
      );
      // "*" is how an audit record writes remove-all: as a label name it would mean something else on replay.
      for (const name of ['*', 'DNC Sales', '']) {
        await assertRejectsWith(store.apply(addChange(['+14155550140'], [name])), 'DNC_INVALID_INPUT');
        await assertRejectsWith(
          store.apply({
            op: 'remove',
            keys: ['+14155550140'],
            labels: [name],
            source: 'api',
            at: Date.now(),
          }),
          'DNC_INVALID_INPUT',
        );
      }
      assert.equal(store.status().seq, 0);
    });

    it('calls change listeners after each durable change, in seq order, despite a throwing listener', async function () {
      const seen: number[] = [];
      const contacts: (ContactState | undefined)[] = [];
      store.onChange(() => {
        throw new Error('a broken listener');
      });
      const unsubscribe = store.onChange((record, contact) => {
        // Durable and visible before listeners hear of it.
        assert.deepEqual(store.lookup(record.keys[0]), contact);
        seen.push(record.seq);
        contacts.push(contact);
      });
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.apply(addChange([`+1415700${String(i).padStart(4, '0')}`], ['DNC_Sales'])),
        ),
      );
      assert.deepEqual(
        seen,
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.ok(contacts.every((c) => c !== undefined && c.labels.length === 1));
      unsubscribe();
      await store.apply(addChange(['+14157009999'], ['DNC_Sales']));
      assert.equal(seen.length, 50);
      assert.equal(store.status().state, 'ready');
    });
  });
}
