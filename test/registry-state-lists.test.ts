/**
 * State do-not-call lists (US_TX and the other state presets): scoped by the callee's state, with the
 * freshness rule of the state. Expected values are worked out from the rules in docs/registries.md:
 * - Texas publishes its list on 1 Jan, 1 Apr, 1 Jul and 1 Oct (Tex. Bus. & Com. Code 304.051(d)); a list
 *   dated 2026-01-01 answers for 89 days (to 2026-03-31 00:00, 31 + 28 + 30 = 89) and is stale a day later,
 *   when the April list has taken effect.
 * - A Texas list answers for Texas callees only: the contact's `state` and the area code both bind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calleeScope } from '../lib/registries/check';
import { normaliseUsState } from '../lib/registries/number-state';
import { FileRegistry } from '../lib/registries/registry';
import { ServiceRegistrySource } from '../lib/registries/service-source';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import { mapResults, WashServer } from './support/wash-server';

const DAY = 86_400_000;
const JAN_1 = Date.UTC(2026, 0, 1);
/** Dallas (214): Texas, on the list. */
const DALLAS = '+12145550123';
/** Dallas, not on the list. */
const DALLAS_FREE = '+12145550100';
/** Manhattan (212): New York, on the Texas file all the same (a stray line must not make it a Texas callee). */
const MANHATTAN = '+12125551234';
/** Denver (303): Colorado, on the Texas list (a Texan who kept a Colorado number). */
const DENVER_TEXAN = '+13035550147';
const DENVER_FREE = '+13035550148';
/** Toll-free: no state. One on the list, one not. */
const TOLL_FREE = '+18005550199';
const TOLL_FREE_FREE = '+18005550100';
/** Toronto (416): Canada. */
const TORONTO = '+14165550123';

describe('State do-not-call lists scoped by the callee state', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EmbeddedStore;
  let dnc: DncService;
  let clock: number;
  let tx: FileRegistry;

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), 'dnc-state-lists-'));
    clock = JAN_1 + 14 * DAY;
    store = new EmbeddedStore({ path: join(dir, 'dnc-store.json') });
    await store.open();
    dnc = new DncService({ labels: [{ name: 'DNC' }], defaultCountry: 'US', store, now: () => clock });
    // The assumed layout: one 10-digit number a line.
    writeFileSync(
      join(dir, 'us-tx-2026-01-01.txt'),
      ['2145550123', '2125551234', '3035550147', '8005550199', '4165550123', ''].join('\n'),
    );
    tx = new FileRegistry({
      id: 'US_TX',
      source: join(dir, 'us-tx-2026-01-01.txt'),
      watch: false,
      now: () => clock,
    });
    assert.equal((await tx.start()).ok, true);
  });

  afterEach(async function () {
    await tx.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the preset: Texas callees, the nanp layout, 89 days, and no longer than the rule', function () {
    assert.equal(tx.state, 'TX');
    assert.deepEqual(tx.layout, { layout: 'nanp' });
    assert.equal(tx.maxAgeDays, 89);
    assert.throws(
      () => new FileRegistry({ id: 'US_TX', source: join(dir, 'x.txt'), maxAgeDays: 92, watch: false }),
      /more than the rule allows \(89 days; Texas no-call list \(Tex\. Bus\. & Com\. Code 304\.051\(d\)\)/,
    );
    // The Texas list cannot be made to answer for another state.
    assert.throws(
      () => new FileRegistry({ id: 'US_TX', source: join(dir, 'x.txt'), state: 'CO', watch: false }),
      /it is the TX list; it cannot answer for CO/,
    );
    // A custom list may name its state; a name that is no US state is refused.
    const custom = new FileRegistry({
      id: 'MY_OR',
      source: join(dir, 'x.txt'),
      layout: { layout: 'nanp' },
      maxAgeDays: 30,
      state: 'Oregon',
      watch: false,
    });
    assert.equal(custom.state, 'OR');
    assert.throws(
      () =>
        new FileRegistry({
          id: 'MY_XX',
          source: join(dir, 'x.txt'),
          layout: { layout: 'nanp' },
          maxAgeDays: 30,
          state: 'Ontario',
          watch: false,
        }),
      /state must be a US state or territory code/,
    );
  });

  it('a Texas number on the list is blocked with REGISTRY naming US_TX', function () {
    const decision = dnc.check(DALLAS, { registries: [tx] });
    assert.equal(decision.allowed, false);
    assert.equal(decision.reasons.length, 1);
    assert.equal(decision.reasons[0].code, 'REGISTRY');
    assert.equal(decision.reasons[0].registry, 'US_TX');
    assert.equal(decision.reasons[0].asOf, new Date(JAN_1).toISOString());
    const free = dnc.check(DALLAS_FREE, { registries: [tx] });
    assert.equal(free.allowed, true);
    assert.equal(free.registries![0].result, 'not-listed');
  });

  it('a New York number is not covered by US_TX: allowed by it, and the decision says so', function () {
    // On the file, yet the callee is a New Yorker (area code 212, no state given): the Texas list says
    // nothing about them.
    const decision = dnc.check(MANHATTAN, { registries: [tx] });
    assert.equal(decision.allowed, true);
    assert.deepEqual(decision.reasons, []);
    const answer = decision.registries![0];
    assert.equal(answer.registry, 'US_TX');
    assert.equal(answer.result, 'not-covered');
    assert.equal(answer.reason, 'OUTSIDE_STATE');
    assert.match(answer.detail!, /answers for TX callees only; its area code is NY's/);
    // The contact's own state says the same.
    const stated = dnc.check({ phone: MANHATTAN, state: 'NY' }, { registries: [tx] });
    assert.equal(stated.registries![0].result, 'not-covered');
    // A Canadian number is outside every state list.
    const toronto = dnc.check(TORONTO, { registries: [tx] });
    assert.equal(toronto.allowed, true);
    assert.equal(toronto.registries![0].result, 'not-covered');
    assert.match(toronto.registries![0].detail!, /not a US one/);
  });

  it('a number with state TX on a non-Texas area code is checked against it (both states bind)', function () {
    const listed = dnc.check({ phone: DENVER_TEXAN, state: 'TX' }, { registries: [tx] });
    assert.equal(listed.allowed, false);
    assert.equal(listed.reasons[0].code, 'REGISTRY');
    assert.equal(listed.reasons[0].registry, 'US_TX');
    // Spelt out, lower case, or ISO 3166-2: the same state.
    for (const state of ['Texas', 'tx', 'US-TX']) {
      assert.equal(dnc.check({ phone: DENVER_TEXAN, state }, { registries: [tx] }).allowed, false, state);
    }
    const free = dnc.check({ phone: DENVER_FREE, state: 'TX' }, { registries: [tx] });
    assert.equal(free.allowed, true);
    assert.equal(free.registries![0].result, 'not-listed');
    // Without the state, the Denver number is a Colorado callee: not covered, though the file holds it.
    const denver = dnc.check(DENVER_TEXAN, { registries: [tx] });
    assert.equal(denver.allowed, true);
    assert.equal(denver.registries![0].result, 'not-covered');
    // A Texas area code binds whatever state the contact gives (the presumption that an area code means a
    // resident): a Dallas number said to be in New York is still checked against the Texas list.
    const dallasNy = dnc.check({ phone: DALLAS, state: 'NY' }, { registries: [tx] });
    assert.equal(dallasNy.allowed, false);
    assert.equal(dallasNy.reasons[0].registry, 'US_TX');
  });

  it('a non-geographic number is looked up (its callee may be a Texan): listed blocks, not listed passes', function () {
    const listed = dnc.check(TOLL_FREE, { registries: [tx] });
    assert.equal(listed.allowed, false);
    assert.equal(listed.reasons[0].code, 'REGISTRY');
    const free = dnc.check(TOLL_FREE_FREE, { registries: [tx] });
    assert.equal(free.allowed, true);
    assert.equal(free.registries![0].result, 'not-listed');
    // A state that names no US state might be Texas written oddly: looked up too.
    const odd = dnc.check({ phone: DENVER_TEXAN, state: 'Tex.' }, { registries: [tx] });
    assert.equal(odd.allowed, false);
    assert.equal(odd.reasons[0].registry, 'US_TX');
  });

  it('past 89 days the list is stale: REGISTRY_STALE for Texas and unknown callees, nothing for others', function () {
    // 2026-03-31 00:00: exactly 89 days old, still answers.
    clock = JAN_1 + 89 * DAY;
    assert.equal(dnc.check(DALLAS_FREE, { registries: [tx] }).allowed, true);
    // 2026-04-01: the April list has taken effect; the January one no longer answers.
    clock = JAN_1 + 90 * DAY;
    const texan = dnc.check(DALLAS_FREE, { registries: [tx] });
    assert.equal(texan.allowed, false);
    assert.equal(texan.reasons[0].code, 'REGISTRY_STALE');
    assert.equal(texan.reasons[0].registry, 'US_TX');
    const unknown = dnc.check(TOLL_FREE_FREE, { registries: [tx] });
    assert.equal(unknown.allowed, false);
    assert.equal(unknown.reasons[0].code, 'REGISTRY_STALE');
    // Old data that lists a Texan still blocks as a listing.
    const listed = dnc.check(DALLAS, { registries: [tx] });
    assert.equal(listed.reasons[0].code, 'REGISTRY');
    assert.equal(listed.reasons[0].stale, true);
    // A stale Texas list does not stop calls to New York.
    const ny = dnc.check(MANHATTAN, { registries: [tx] });
    assert.equal(ny.allowed, true);
    assert.equal(ny.registries![0].result, 'not-covered');
  });

  it('the async path (a list with a service registry beside it) scopes the same way', async function () {
    const server = await new WashServer().start();
    const au = new ServiceRegistrySource({
      id: 'AU_DNCR',
      url: `${server.url}/wash`,
      mapResponse: mapResults,
      retries: 0,
      now: () => clock,
    });
    try {
      const batch = await dnc.checkManyAsync([{ phone: DENVER_TEXAN, state: 'TX' }, MANHATTAN, DALLAS_FREE], {
        registries: [tx, au],
      });
      assert.equal(batch.blocked.length, 1);
      assert.equal(batch.blocked[0].decision.reasons[0].registry, 'US_TX');
      assert.deepEqual(batch.allowed, [MANHATTAN, DALLAS_FREE]);
      const one = await dnc.checkAsync(MANHATTAN, { registries: [tx, au] });
      assert.equal(one.registries!.find((r) => r.registry === 'US_TX')!.result, 'not-covered');
    } finally {
      await au.close();
      await server.stop();
    }
  });

  it('callee scope: territories, unknown states and the rules of both states binding', function () {
    assert.deepEqual(calleeScope('PR', '+17875551234', undefined), { scope: 'in' });
    assert.equal(calleeScope('TX', '+17875551234', undefined).scope, 'out');
    assert.equal(calleeScope('TX', '+18005550199', undefined).scope, 'unknown');
    assert.equal(calleeScope('TX', '+18005550199', 'NY').scope, 'out');
    assert.equal(calleeScope('TX', '+18005550199', 'TX').scope, 'in');
    assert.equal(calleeScope('TX', '+12125551234', 'Tejas').scope, 'unknown');
    // A broken lookup is an unknown state, never an exception.
    assert.equal(
      calleeScope('TX', '+12125551234', undefined, () => {
        throw new Error('no table');
      }).scope,
      'unknown',
    );
    assert.equal(normaliseUsState('District of Columbia'), 'DC');
    assert.equal(normaliseUsState('ON'), undefined);
  });
});
