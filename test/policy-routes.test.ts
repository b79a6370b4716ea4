/**
 * The calling policy dialog's admin routes on the real runtime (node-red-node-test-helper): POST
 * dnc-policy/check compiles a definition (or preset) and previews a contact; GET dnc-policy/holidays
 * feeds the holiday pickers. Bad requests are 400 with a stable code and no stack or path.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- responses from supertest are untyped */
import assert from 'node:assert/strict';
import { allModules, config, helper, testFlow, useNodeRed } from './nodes/support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const policyModule = require('../nodes/dnc-policy') as unknown;

interface Response {
  status: number;
  body: any;
  text: string;
}
interface Call extends Promise<Response> {
  send(body: unknown): Call;
  set(name: string, value: string): Call;
  query(q: Record<string, string>): Call;
}
interface Request {
  get(path: string): Call;
  post(path: string): Call;
}
const request = (): Request => (helper as unknown as { request(): Request }).request();

/** No stack trace, no file path in an error answer. */
function assertClean(response: Response): void {
  assert.doesNotMatch(response.text, /\bat [\w.<>]+ \(|\/[\w.-]+\/[\w.-]+\.js|node_modules/);
}

describe('dnc-policy admin routes (check and holidays)', function () {
  useNodeRed('suite');

  before(async function () {
    await helper.load(
      [...allModules, policyModule],
      testFlow(
        [config('c1'), { id: 'p1', type: 'dnc-policy', name: '', preset: 'us-federal', policy: '' }],
        [],
      ),
    );
  });

  it('check: a preset compiles; with a number, the preview says allowed or blocked until when', async function () {
    const plain = await request().post('/dnc-policy/check').send({ preset: 'us-federal' });
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.body, {
      ok: true,
      name: 'US federal (TCPA / TSR)',
      history: { rules: 0, checked: false },
    });

    // 22:00 in San Francisco: outside 08:00-21:00 until 08:00.
    const late = await request()
      .post('/dnc-policy/check')
      .send({ preset: 'us-federal', contact: '+14155550199', channel: 'voice', at: '2026-03-04T06:00:00Z' });
    assert.equal(late.status, 200);
    assert.equal(late.body.allowed, false);
    assert.equal(late.body.reasons[0].code, 'OUTSIDE_CALLING_HOURS');
    assert.equal(late.body.zone, 'America/Los_Angeles');
    assert.equal(late.body.nextAllowedLocal, '2026-03-04 08:00 Wed');

    const noon = await request()
      .post('/dnc-policy/check')
      .send({ preset: 'us-federal', contact: '+14155550199', channel: 'voice', at: '2026-03-04T20:00:00Z' });
    assert.equal(noon.body.allowed, true);
    assert.equal(noon.body.localTime, '2026-03-04 12:00 Wed');
  });

  it('check: a custom definition (object or JSON text) wins over the preset', async function () {
    const policy = {
      name: 'weekday mornings',
      windows: { 'mon-fri': ['09:00-12:00'] },
      timezoneFallback: 'UTC',
    };
    for (const sent of [policy, JSON.stringify(policy)]) {
      const response = await request()
        .post('/dnc-policy/check')
        .send({ policy: sent, preset: 'us-federal', contact: 'id:42', at: '2026-03-07T10:00:00Z' });
      assert.equal(response.status, 200);
      assert.equal(response.body.name, 'weekday mornings');
      // A Saturday: blocked until Monday 09:00 in the fallback zone.
      assert.equal(response.body.allowed, false);
      assert.equal(response.body.nextAllowedAt, '2026-03-09T09:00:00.000Z');
    }
  });

  it("check: a definition the engine refuses is answered with the engine's code, message and field", async function () {
    const response = await request()
      .post('/dnc-policy/check')
      .send({ policy: { windows: { 'mon-fri': ['21:00-08:00'] } } });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      ok: false,
      error: {
        code: 'DNC_INVALID_INPUT',
        message: 'policy: "21:00-08:00" ends before it starts (split a window past midnight in two)',
        field: 'policy.windows.mon-fri',
      },
    });
    const noPreset = await request().post('/dnc-policy/check').send({ preset: 'atlantis' });
    assert.deepEqual(noPreset.body.error.field, 'preset');
    // A country the contact parser does not know: the request's field named, not "not valid JSON".
    const noCountry = await request()
      .post('/dnc-policy/check')
      .send({ preset: 'us-federal', contact: '2025550100', defaultCountry: 'ZZ' });
    assert.equal(noCountry.status, 200);
    assert.equal(noCountry.body.ok, false);
    assert.equal(noCountry.body.error.field, 'defaultCountry');
  });

  it('check: a malformed or mistyped request is 400 with a stable code, no stack or path', async function () {
    const malformed = await request()
      .post('/dnc-policy/check')
      .set('Content-Type', 'application/json')
      .send('{"policy": ');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'DNC_INVALID_INPUT');
    assertClean(malformed);

    const list = await request().post('/dnc-policy/check').send([1, 2]);
    assert.equal(list.status, 400);
    assert.equal(list.body.code, 'DNC_INVALID_INPUT');

    const unknown = await request().post('/dnc-policy/check').send({ preset: 'us-federal', polcy: {} });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.field, 'polcy');

    const badJson = await request().post('/dnc-policy/check').send({ policy: '{"windows":' });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.field, 'policy');
    assert.match(badJson.body.message, /not valid JSON/);
    assertClean(badJson);

    const badChannel = await request()
      .post('/dnc-policy/check')
      .send({ preset: 'us-federal', contact: '+14155550199', channel: 'no such channel!' });
    assert.equal(badChannel.status, 400);
    assert.equal(badChannel.body.field, 'channel');

    const preset = await request().post('/dnc-policy/check').send({ preset: 7 });
    assert.equal(preset.status, 400);
    assert.equal(preset.body.field, 'preset');
    assertClean(preset);
  });

  it("holidays: the countries, a country's states and this year's holidays, a state's own", async function () {
    const all = await request().get('/dnc-policy/holidays');
    assert.equal(all.status, 200);
    const codes = all.body.countries.map((c: { code: string }) => c.code);
    assert.ok(
      codes.includes('FR') && codes.includes('US') && codes.length > 100,
      `${codes.length} countries`,
    );

    const au = await request().get('/dnc-policy/holidays').query({ country: 'au' });
    assert.equal(au.status, 200);
    assert.equal(au.body.country, 'AU');
    assert.ok(au.body.states.some((s: { code: string }) => s.code === 'QLD'));
    const year = new Date().getUTCFullYear();
    assert.ok(
      au.body.holidays.some((h: { date: string }) => h.date === `${year}-01-26`),
      'Australia Day',
    );

    const vic = await request().get('/dnc-policy/holidays').query({ country: 'AU', state: 'vic' });
    assert.equal(vic.body.state, 'VIC');
    assert.ok(vic.body.holidays.length > au.body.holidays.length, 'Victoria keeps more days than the nation');

    const badCountry = await request().get('/dnc-policy/holidays').query({ country: 'XX' });
    assert.equal(badCountry.status, 400);
    assert.deepEqual(Object.keys(badCountry.body).sort(), ['code', 'field', 'message']);
    assert.equal(badCountry.body.field, 'country');
    const badState = await request().get('/dnc-policy/holidays').query({ country: 'AU', state: 'ZZ' });
    assert.equal(badState.status, 400);
    assert.equal(badState.body.field, 'state');
  });
});
