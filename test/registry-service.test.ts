import assert from 'node:assert/strict';
import type { ServiceSourceOptions } from '../lib/registries/service-options';
import { parseRetryAfter } from '../lib/registries/service-calls';
import { ServiceRegistrySource } from '../lib/registries/service-source';
import { mapResults, WashServer } from './support/wash-server';

const DAY = 86_400_000;
const AU = ['+61412345678', '+61412345679', '+61412345680'];

describe('service registry source (a wash service on 127.0.0.1)', function () {
  this.timeout(60_000);
  let server: WashServer;
  let clock: number;
  const sources: ServiceRegistrySource[] = [];

  function source(options: Partial<ServiceSourceOptions> = {}): ServiceRegistrySource {
    const s = new ServiceRegistrySource({
      id: 'AU_DNCR',
      url: `${server.url}/wash`,
      mapResponse: mapResults,
      backoffMs: 10,
      timeoutMs: 2000,
      now: () => clock,
      ...options,
    });
    sources.push(s);
    return s;
  }

  beforeEach(async function () {
    clock = Date.UTC(2026, 2, 1);
    server = await new WashServer().start();
    server.listed.add(AU[0]);
  });

  afterEach(async function () {
    await Promise.all(sources.splice(0).map((s) => s.close()));
    await server.stop();
  });

  it('answers listed / not listed per number with the wash time as asOf (POST, JSON body)', async function () {
    const au = source();
    const results = await au.lookupMany(AU);
    const asOf = new Date(clock).toISOString();
    assert.deepEqual(results, [
      { registry: 'AU_DNCR', result: 'listed', asOf, reason: 'LISTED' },
      { registry: 'AU_DNCR', result: 'not-listed', asOf, reason: 'NOT_LISTED' },
      { registry: 'AU_DNCR', result: 'not-listed', asOf, reason: 'NOT_LISTED' },
    ]);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].method, 'POST');
    assert.deepEqual(server.requests[0].numbers, AU);
    assert.equal(server.requests[0].headers['content-type'], 'application/json');
  });

  it('uses the URL template, headers with secrets, GET and the national number format', async function () {
    server.listed.add('0412345678');
    const au = source({
      url: `${server.url}/check?numbers={numbers}&key={apiKey}`,
      method: 'GET',
      headers: { authorization: 'Bearer {apiKey}' },
      secrets: { apiKey: 's3cret&x' },
      numberFormat: 'national',
    });
    const [one, two] = await au.lookupMany(AU.slice(0, 2));
    assert.equal(one.result, 'listed');
    assert.equal(two.result, 'not-listed');
    const request = server.requests[0];
    assert.equal(request.method, 'GET');
    assert.deepEqual(request.numbers, ['0412345678', '0412345679']);
    assert.match(request.url, /key=s3cret%26x/);
    assert.equal(request.headers.authorization, 'Bearer s3cret&x');
  });

  it('splits a list into requests of batchSize', async function () {
    const au = source({ batchSize: 2 });
    const numbers = Array.from({ length: 5 }, (_, i) => `+6141234500${i}`);
    const results = await au.lookupMany(numbers);
    assert.equal(results.length, 5);
    assert.deepEqual(
      server.requests.map((r) => r.numbers.length),
      [2, 2, 1],
    );
  });

  it('serves repeated numbers from the cache within the validity, and washes again after it', async function () {
    const au = source();
    await au.lookupMany(AU);
    clock += 30 * DAY; // exactly 30 days: still good
    const again = await au.lookupMany(AU);
    assert.equal(server.requests.length, 1);
    assert.equal(again[0].result, 'listed');
    assert.equal(again[0].asOf, new Date(Date.UTC(2026, 2, 1)).toISOString());
    clock += 1;
    const fresh = await au.lookupMany(AU);
    assert.equal(server.requests.length, 2);
    assert.equal(fresh[0].asOf, new Date(clock).toISOString());
  });

  it('Singapore results are good for 21 days', async function () {
    const sg = source({ id: 'SG_DNC' });
    assert.equal(sg.maxAgeDays, 21);
    await sg.lookup('+6591234567');
    clock += 21 * DAY + 1;
    await sg.lookup('+6591234567');
    assert.equal(server.requests.length, 2);
  });

  it('after expiry, when the service cannot answer, an old "not listed" is stale and an old "listed" stays listed', async function () {
    const au = source({ retries: 0 });
    await au.lookupMany(AU.slice(0, 2));
    clock += 31 * DAY;
    server.fallback = 500;
    const [listed, notListed] = await au.lookupMany(AU.slice(0, 2));
    assert.equal(listed.result, 'listed');
    assert.equal(listed.reason, 'LISTED');
    assert.equal(listed.stale, true);
    assert.equal(listed.asOf, new Date(Date.UTC(2026, 2, 1)).toISOString());
    assert.equal(notListed.result, 'stale');
    assert.equal(notListed.reason, 'REGISTRY_STALE');
  });

  it('asks once for a number two lookups want at the same time', async function () {
    server.fallback = { slowMs: 100 };
    const au = source();
    const [a, b] = await Promise.all([au.lookup(AU[0]), au.lookupMany([AU[0], AU[1]])]);
    assert.equal(a.result, 'listed');
    assert.equal(b[0].result, 'listed');
    assert.equal(b[1].result, 'not-listed');
    assert.equal(server.requests.length, 2);
    assert.deepEqual(server.requests[1].numbers, [AU[1]]);
  });

  it('retries a 429 after its Retry-After (seconds)', async function () {
    server.script.push({ status: 429, retryAfter: '1' });
    const au = source();
    const started = Date.now();
    const result = await au.lookup(AU[0]);
    assert.equal(result.result, 'listed');
    assert.equal(server.requests.length, 2);
    const gap = server.requests[1].at - server.requests[0].at;
    assert.ok(gap >= 950, `the retry came ${gap} ms after the 429, before Retry-After: 1`);
    assert.ok(Date.now() - started < 10_000);
    // A 429 is not a failure of the service: the circuit stays closed.
    assert.equal(au.status().consecutiveFailures, 0);
  });

  it('reads Retry-After as seconds or an HTTP date', function () {
    const now = Date.UTC(2026, 2, 1, 12, 0, 0);
    assert.equal(parseRetryAfter('2', now), 2000);
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 12:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(null, now), null);
  });

  it('honours an HTTP-date Retry-After and gives up on one longer than maxRetryAfterMs', async function () {
    const au = source({ now: Date.now });
    server.script.push({ status: 429, retryAfter: new Date(Date.now() + 3600_000).toUTCString() });
    const result = await au.lookup(AU[0]);
    assert.equal(result.result, 'unavailable');
    assert.equal(result.reason, 'REGISTRY_UNAVAILABLE');
    assert.match(result.detail!, /Retry-After/);
    assert.equal(server.requests.length, 1);
  });

  it('retries 500s with exponential backoff, then succeeds', async function () {
    server.script.push(500, 500);
    const au = source({ retries: 2, backoffMs: 100 });
    const result = await au.lookup(AU[0]);
    assert.equal(result.result, 'listed');
    assert.equal(server.requests.length, 3);
    const first = server.requests[1].at - server.requests[0].at;
    const second = server.requests[2].at - server.requests[1].at;
    assert.ok(first >= 90, `first backoff ${first} ms`);
    assert.ok(second >= 190, `second backoff ${second} ms (doubled)`);
  });

  it('is unavailable (REGISTRY_UNAVAILABLE) when every attempt fails, after retries + 1 attempts', async function () {
    server.fallback = 500;
    const au = source({ retries: 2 });
    const results = await au.lookupMany(AU);
    for (const r of results) {
      assert.equal(r.result, 'unavailable');
      assert.equal(r.reason, 'REGISTRY_UNAVAILABLE');
      assert.equal(r.asOf, null);
      assert.match(r.detail!, /HTTP 500/);
    }
    assert.equal(server.requests.length, 3);
  });

  it('does not retry a 401 (a wrong key will not get better)', async function () {
    server.fallback = 401;
    const au = source();
    const result = await au.lookup(AU[0]);
    assert.equal(result.result, 'unavailable');
    assert.match(result.detail!, /HTTP 401/);
    assert.equal(server.requests.length, 1);
  });

  it('times out a request that does not answer, and retries it', async function () {
    server.script.push('hang');
    const au = source({ timeoutMs: 300, retries: 1 });
    const started = Date.now();
    const result = await au.lookup(AU[0]);
    assert.equal(result.result, 'listed');
    assert.equal(server.requests.length, 2);
    assert.ok(Date.now() - started >= 280);
  });

  it('is unavailable when the service never answers in time', async function () {
    server.fallback = 'hang';
    const au = source({ timeoutMs: 200, retries: 1 });
    const result = await au.lookup(AU[0]);
    assert.equal(result.result, 'unavailable');
    assert.match(result.detail!, /no answer within 200 ms/);
  });

  it('treats malformed JSON as no answer', async function () {
    server.fallback = 'malformed';
    const au = source();
    const results = await au.lookupMany(AU);
    assert.ok(results.every((r) => r.result === 'unavailable' && r.reason === 'REGISTRY_UNAVAILABLE'));
    assert.match(results[0].detail!, /not JSON/);
  });

  it('a mapper that throws makes the batch unavailable', async function () {
    const au = source({
      mapResponse: () => {
        throw new Error('no such field');
      },
    });
    const result = await au.lookup(AU[0]);
    assert.equal(result.result, 'unavailable');
    assert.match(result.detail!, /response mapping failed: no such field/);
  });

  it('partial answers: a number missing from the answer is unavailable, never not-listed', async function () {
    server.script.push('partial');
    const au = source();
    const results = await au.lookupMany(AU);
    assert.equal(results[0].result, 'listed');
    assert.equal(results[1].result, 'not-listed');
    assert.equal(results[2].result, 'unavailable');
    assert.equal(results[2].reason, 'REGISTRY_UNAVAILABLE');
    assert.match(results[2].detail!, /partial/);
    // Only the missing number is asked again.
    const again = await au.lookupMany(AU);
    assert.equal(again[2].result, 'not-listed');
    assert.deepEqual(server.requests[1].numbers, [AU[2]]);
  });

  it('ignores answers for numbers not asked and values that are not booleans', async function () {
    const au = source({
      mapResponse: () => ({ [AU[0]]: 'yes', '+61400000000': true, [AU[1]]: false, '61412345680': true }),
    });
    const results = await au.lookupMany(AU);
    assert.equal(results[0].result, 'unavailable');
    assert.equal(results[1].result, 'not-listed');
    assert.equal(results[2].result, 'listed'); // E.164 digits without "+" are recognised
  });

  it('answers numbers outside its coverage without asking (another country is not on it)', async function () {
    const au = source();
    const [us, bad] = await au.lookupMany(['+12015550123', 'nonsense']);
    assert.deepEqual(us, {
      registry: 'AU_DNCR',
      result: 'not-listed',
      asOf: null,
      reason: 'OUTSIDE_REGISTRY',
    });
    assert.equal(bad.result, 'unavailable');
    assert.equal(bad.reason, 'INVALID_NUMBER');
    assert.equal(server.requests.length, 0);
  });

  it('keeps at most `concurrency` requests in flight', async function () {
    server.fallback = { slowMs: 80 };
    const au = source({ batchSize: 1, concurrency: 3 });
    const numbers = Array.from({ length: 12 }, (_, i) => `+614123450${String(i).padStart(2, '0')}`);
    const results = await au.lookupMany(numbers);
    assert.equal(results.length, 12);
    assert.equal(server.requests.length, 12);
    assert.equal(server.maxInFlight, 3);
  });

  it('opens the circuit after N consecutive failures, fails fast while open, and recovers through a probe', async function () {
    server.fallback = 500;
    const au = source({ retries: 0, breakerThreshold: 3, breakerCooldownMs: 10_000 });
    for (let i = 0; i < 3; i++) await au.lookup(AU[i]);
    assert.equal(server.requests.length, 3);
    assert.equal(au.status().circuit, 'open');
    assert.equal(au.status().state, 'unavailable');

    // Open: no request reaches the service.
    const fast = await au.lookup(AU[0]);
    assert.equal(fast.result, 'unavailable');
    assert.match(fast.detail!, /circuit open/);
    assert.equal(server.requests.length, 3);

    // After the cool-down one probe goes out; it fails, so the circuit opens again at once.
    clock += 10_000;
    assert.equal(au.status().circuit, 'half-open');
    await au.lookup(AU[0]);
    assert.equal(server.requests.length, 4);
    assert.equal(au.status().circuit, 'open');

    // The service is back: the next probe closes the circuit.
    server.fallback = 'ok';
    clock += 10_000;
    const back = await au.lookup(AU[0]);
    assert.equal(back.result, 'listed');
    assert.equal(au.status().circuit, 'closed');
    assert.equal(au.status().consecutiveFailures, 0);
  });

  it('lets only one probe through while half-open', async function () {
    server.fallback = 500;
    const au = source({ retries: 0, breakerThreshold: 1, breakerCooldownMs: 1000, batchSize: 1 });
    await au.lookup(AU[0]);
    assert.equal(au.status().circuit, 'open');
    clock += 1000;
    server.fallback = { slowMs: 100 };
    const results = await au.lookupMany(AU);
    assert.equal(server.requests.length, 2);
    assert.equal(results.filter((r) => r.result !== 'unavailable').length, 1);
    assert.equal(au.status().circuit, 'closed');
  });

  it('close() aborts requests in flight: they answer unavailable', async function () {
    server.fallback = 'hang';
    const au = source({ timeoutMs: 30_000 });
    const pending = au.lookup(AU[0]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await au.close();
    const result = await pending;
    assert.equal(result.result, 'unavailable');
    assert.equal(au.status().state, 'closed');
  });

  it('refuses bad options', function () {
    assert.throws(() => source({ url: 'ftp://x' }), /http/);
    assert.throws(() => source({ id: 'MY_SCRUB' }), /maxAgeDays/);
    assert.throws(() => source({ concurrency: 0 }), /concurrency/);
    assert.equal(source({ url: `${server.url}/one/{number}` }).batchSize, 1);
  });
});
