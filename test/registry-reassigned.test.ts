import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  consentDateOf,
  ReassignedNumbersSource,
  readAnswer,
  type ReassignedNumbersOptions,
} from '../lib/registries/reassigned-numbers';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import { LookupServer } from './support/lookup-server';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 4, 15);
/** Disconnected 2025-06-10 and reassigned since: consent of 2025-01-05 predates it. */
const GONE = '+12025550143';
const KEPT = '+13125550187';
const TOLL_FREE = '+18005550100';
const TORONTO = '+14165550123';

describe('FCC Reassigned Numbers Database (a Lookup service on 127.0.0.1)', function () {
  this.timeout(60_000);
  let server: LookupServer;
  let clock: number;
  const sources: ReassignedNumbersSource[] = [];

  function rnd(options: Partial<ReassignedNumbersOptions> = {}): ReassignedNumbersSource {
    const source = new ReassignedNumbersSource({
      url: server.url,
      accountSid: server.accountSid,
      authToken: server.authToken,
      backoffMs: 5,
      timeoutMs: 2000,
      now: () => clock,
      ...options,
    });
    sources.push(source);
    return source;
  }

  beforeEach(async function () {
    clock = NOW;
    server = await new LookupServer().start();
    server.disconnected.set(GONE, '2025-06-10');
  });

  afterEach(async function () {
    await Promise.all(sources.splice(0).map((s) => s.close()));
    await server.stop();
  });

  describe('the source', function () {
    it('asks about the number and the consent date, and maps "yes", "no" and "no data" with the safe-harbour record', async function () {
      const source = rnd();
      const queriedAt = new Date(NOW).toISOString();
      const [gone, sameDay, later, kept, old] = await source.lookupConsented([
        { number: GONE, consentDate: '2025-01-05' },
        { number: GONE, consentDate: '2025-06-10' },
        { number: GONE, consentDate: '2025-06-11' },
        { number: KEPT, consentDate: '2025-01-05' },
        { number: KEPT, consentDate: '2020-11-30' },
      ]);
      assert.deepEqual(gone, {
        registry: 'US_RND',
        result: 'listed',
        asOf: queriedAt,
        reason: 'REASSIGNED',
        detail: 'permanently disconnected on or after 2025-01-05',
        rnd: { answer: 'yes', consentDate: '2025-01-05', queriedAt },
      });
      // "yes" when the disconnection is on or after the date given (DA 21-1649): the same day counts.
      assert.equal(sameDay.reason, 'REASSIGNED');
      assert.deepEqual(
        [later.result, later.reason, later.rnd?.answer],
        ['not-listed', 'NOT_REASSIGNED', 'no'],
      );
      assert.deepEqual([kept.result, kept.reason], ['not-listed', 'NOT_REASSIGNED']);
      assert.deepEqual([old.result, old.reason, old.rnd?.answer], ['unavailable', 'RND_NO_DATA', 'no data']);
      assert.match(old.detail ?? '', /no data before 2021-01-27.*no safe harbour/);
      assert.deepEqual(
        server.requests.map((r) => [r.number, r.lastVerifiedDate, r.fields]),
        [
          [GONE, '20250105', 'reassigned_number'],
          [GONE, '20250610', 'reassigned_number'],
          [GONE, '20250611', 'reassigned_number'],
          [KEPT, '20250105', 'reassigned_number'],
          [KEPT, '20201130', 'reassigned_number'],
        ],
      );
    });

    it('lets "no data" through only when the source is set to allow it', async function () {
      const [old] = await rnd({ noData: 'allow' }).lookupConsented([
        { number: KEPT, consentDate: '2020-11-30' },
      ]);
      assert.deepEqual([old.result, old.reason, old.rnd?.answer], ['not-listed', 'RND_NO_DATA', 'no data']);
    });

    it('refuses to ask without a usable consent date: none, not a date, a date that does not exist, the future', async function () {
      const source = rnd();
      const results = await source.lookupConsented([
        { number: KEPT },
        { number: KEPT, consentDate: '  ' },
        { number: KEPT, consentDate: 'last spring' },
        { number: KEPT, consentDate: '2025-02-30' },
        { number: KEPT, consentDate: '05/01/2025' },
        { number: KEPT, consentDate: '2026-12-07' },
      ]);
      for (const r of results)
        assert.deepEqual([r.result, r.reason], ['unavailable', 'CONSENT_DATE_MISSING']);
      assert.match(results[0].detail!, /no consent date/);
      assert.match(results[2].detail!, /"last spring" is not a date/);
      assert.match(results[3].detail!, /not a date/);
      assert.match(results[5].detail!, /in the future/);
      assert.equal(server.requests.length, 0);
    });

    it('uses its default consent date for contacts without one, and a date-time by the date written', async function () {
      const source = rnd({ consentDate: '2025-01-05' });
      const [byDefault, own] = await source.lookupConsented([
        { number: GONE },
        { number: GONE, consentDate: '2025-07-01T09:30:00-05:00' },
      ]);
      assert.equal(byDefault.reason, 'REASSIGNED');
      assert.equal(own.reason, 'NOT_REASSIGNED');
      assert.deepEqual(
        server.requests.map((r) => r.lastVerifiedDate),
        ['20250105', '20250701'],
      );
      assert.throws(() => rnd({ consentDate: 'yesterday' }), /not a date/);
    });

    it('asks only about US numbers: Canada and other countries are outside it, toll-free is inside', async function () {
      const source = rnd({ consentDate: '2025-01-05' });
      const [toronto, london, tollFree] = await source.lookupMany([TORONTO, '+447911123456', TOLL_FREE]);
      assert.deepEqual([toronto.result, toronto.reason], ['not-listed', 'OUTSIDE_REGISTRY']);
      assert.deepEqual([london.result, london.reason], ['not-listed', 'OUTSIDE_REGISTRY']);
      assert.equal(tollFree.reason, 'NOT_REASSIGNED');
      assert.deepEqual(
        server.requests.map((r) => r.number),
        [TOLL_FREE],
      );
    });

    it('reuses an answer for the same number and date within a day, and asks again after', async function () {
      const source = rnd();
      await source.lookupConsented([{ number: GONE, consentDate: '2025-01-05' }]);
      const [again] = await source.lookupConsented([
        { number: GONE, consentDate: '2025-01-05' },
        { number: GONE, consentDate: '2025-01-05' },
      ]);
      assert.equal(again.rnd?.queriedAt, new Date(NOW).toISOString());
      assert.equal(server.requests.length, 1);
      clock += DAY + 1;
      const [later] = await source.lookupConsented([{ number: GONE, consentDate: '2025-01-05' }]);
      assert.equal(later.rnd?.queriedAt, new Date(clock).toISOString());
      assert.equal(server.requests.length, 2);
    });

    it('fails closed when the service cannot answer for the number and date asked', async function () {
      const cases: [ConstructorParameters<typeof Object>[0], RegExp][] = [
        ['malformed', /not JSON/],
        ['other-number', /about \+12025550199, not the number asked/],
        ['other-date', /about the date 2020-01-01, not 2025-01-05/],
        [{ errorCode: 60600 }, /error code 60600/],
      ];
      for (const [behaviour, why] of cases) {
        server.script.push(behaviour as never);
        const [result] = await rnd().lookupConsented([{ number: KEPT, consentDate: '2025-01-05' }]);
        assert.deepEqual(
          [result.result, result.reason],
          ['unavailable', 'REGISTRY_UNAVAILABLE'],
          String(why),
        );
        assert.match(result.detail!, why);
        assert.equal(result.rnd, undefined);
      }
    });

    it('retries a 500 and a 429, gives up on wrong credentials without retrying, times out a hung query', async function () {
      server.script.push(500, { status: 429, retryAfter: '0' });
      const [retried] = await rnd().lookupConsented([{ number: KEPT, consentDate: '2025-01-05' }]);
      assert.equal(retried.reason, 'NOT_REASSIGNED');
      assert.equal(server.requests.length, 3);

      const wrong = rnd({ authToken: 'not-the-token' });
      const [refused] = await wrong.lookupConsented([{ number: KEPT, consentDate: '2025-01-05' }]);
      assert.deepEqual([refused.result, refused.reason], ['unavailable', 'REGISTRY_UNAVAILABLE']);
      assert.match(refused.detail!, /HTTP 401: Authenticate \(code 20003\)/);
      assert.doesNotMatch(refused.detail!, /not-the-token/);
      assert.equal(server.requests.length, 4);

      server.script.push('hang');
      const [hung] = await rnd({ timeoutMs: 100, retries: 0 }).lookupConsented([
        { number: KEPT, consentDate: '2025-01-05' },
      ]);
      assert.match(hung.detail!, /no answer within 100 ms/);
    });

    it('opens its circuit after repeated failures and stops asking', async function () {
      server.fallback = 500;
      const source = rnd({ retries: 0, breakerThreshold: 2 });
      await source.lookupConsented([{ number: KEPT, consentDate: '2025-01-05' }]);
      await source.lookupConsented([{ number: KEPT, consentDate: '2025-01-06' }]);
      const asked = server.requests.length;
      const [refused] = await source.lookupConsented([{ number: KEPT, consentDate: '2025-01-07' }]);
      assert.match(refused.detail!, /circuit open/);
      assert.equal(server.requests.length, asked);
      assert.equal(source.status().state, 'unavailable');
    });

    it('reads the answer strictly (values it does not know are "no data")', function () {
      const body = (value: unknown, extra: Record<string, unknown> = {}) => ({
        phone_number: KEPT,
        reassigned_number: {
          last_verified_date: '2025-01-05',
          is_number_reassigned: value,
          error_code: null,
          ...extra,
        },
      });
      assert.equal(readAnswer(body('yes'), KEPT, '2025-01-05'), 'yes');
      assert.equal(readAnswer(body('No'), KEPT, '2025-01-05'), 'no');
      assert.equal(readAnswer(body(true), KEPT, '2025-01-05'), 'yes');
      for (const value of ['no_data', 'unknown', null, '', 'maybe']) {
        assert.equal(readAnswer(body(value), KEPT, '2025-01-05'), 'no data', String(value));
      }
      assert.equal(readAnswer(body('no', { last_verified_date: '20250105' }), KEPT, '2025-01-05'), 'no');
      assert.throws(() => readAnswer({ phone_number: KEPT }, KEPT, '2025-01-05'), /no reassigned_number/);
      assert.throws(() => readAnswer(null, KEPT, '2025-01-05'), /not an object/);
    });

    it('judges consent dates', function () {
      assert.equal(consentDateOf('2024-02-29', NOW), '2024-02-29');
      assert.equal(consentDateOf(' 2026-12-05 ', NOW), '2026-12-05');
      assert.match((consentDateOf('2023-02-29', NOW) as Error).message, /not a date/);
      assert.match((consentDateOf('1999-12-31', NOW) as Error).message, /before 2000/);
      assert.match((consentDateOf(undefined, NOW) as Error).message, /no consent date/);
    });
  });

  describe('in Check DNC', function () {
    let dir: string;
    let store: EmbeddedStore;
    let dnc: DncService;

    beforeEach(async function () {
      dir = mkdtempSync(join(tmpdir(), 'dnc-rnd-'));
      store = new EmbeddedStore({ path: join(dir, 'dnc-store.json') });
      await store.open();
      dnc = new DncService({
        labels: [{ name: 'DNC_Sales' }],
        defaultCountry: 'US',
        store,
        now: () => clock,
      });
    });

    afterEach(async function () {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('blocks a reassigned number with REASSIGNED and the safe-harbour record in the decision', async function () {
      const source = rnd();
      const decision = await dnc.checkAsync(
        { phone: '(202) 555-0143', consentDate: '2025-01-05' },
        { registries: [source], channel: 'voice' },
      );
      assert.equal(decision.allowed, false);
      assert.equal(decision.reasons.length, 1);
      const reason = decision.reasons[0] as unknown as Record<string, unknown>;
      assert.equal(reason.code, 'REASSIGNED');
      assert.match(
        String(reason.message),
        /permanently disconnected on or after the consent date 2025-01-05/,
      );
      const record = { answer: 'yes', consentDate: '2025-01-05', queriedAt: new Date(NOW).toISOString() };
      assert.deepEqual(reason.rnd, record);
      assert.deepEqual(decision.registries?.[0].rnd, record);
    });

    it('asks each contact of a list about its own consent date, and blocks those it cannot ask', async function () {
      const source = rnd();
      const items = [
        { phone: GONE, consentDate: '2025-01-05' },
        { phone: GONE, consentDate: '2025-08-01' },
        { phone: KEPT, consentDate: '2020-06-01' },
        { phone: KEPT },
        { phone: KEPT, consentDate: 'n/a' },
        TORONTO,
        'ana@example.com',
      ];
      const result = await dnc.checkManyAsync(items, { registries: [source], registryFailure: 'allow' });
      const blocked = new Map(
        result.blocked.map((b) => [b.item, b.decision.reasons.map((r) => r.code).join(',')]),
      );
      const codes = items.map((item) => blocked.get(item) ?? 'allowed');
      assert.equal(result.allowed.length, 3);
      // "allow when a registry cannot answer" does not relax "no data" or a missing consent date: the query
      // was answered, or could not be made, and there is no safe harbour either way.
      assert.deepEqual(codes, [
        'REASSIGNED',
        'allowed',
        'REASSIGNED_NO_DATA',
        'CONSENT_DATE_MISSING',
        'CONSENT_DATE_MISSING',
        'allowed',
        'allowed',
      ]);
      assert.equal(server.requests.length, 3);
    });

    it('blocks when the service is down, unless the check allows registry failures', async function () {
      server.fallback = 500;
      const source = rnd({ retries: 0 });
      const contact = { phone: KEPT, consentDate: '2025-01-05' };
      const blocked = await dnc.checkAsync(contact, { registries: [source] });
      assert.deepEqual(
        blocked.reasons.map((r) => r.code),
        ['REGISTRY_UNAVAILABLE'],
      );
      const allowed = await dnc.checkAsync(contact, { registries: [source], registryFailure: 'allow' });
      assert.equal(allowed.allowed, true);
    });

    it('cannot answer on the synchronous path (fails closed)', function () {
      const decision = dnc.check({ phone: KEPT, consentDate: '2025-01-05' }, { registries: [rnd()] });
      assert.deepEqual(
        decision.reasons.map((r) => r.code),
        ['REGISTRY_UNAVAILABLE'],
      );
    });
  });
});
