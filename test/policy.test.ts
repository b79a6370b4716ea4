import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContactParser } from '../lib/contacts';
import { DncError } from '../lib/errors';
import {
  CallingPolicy,
  PRESETS,
  PRESET_NAMES,
  createPolicy,
  preset,
  resolveZones,
  type CheckPolicy,
} from '../lib/policy';
import { REGION_ZONES } from '../lib/policy/regions';
import { isValidZone } from '../lib/policy/zone-clock';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import type { AttemptRecord, DncStore } from '../lib/store/types';
import { CUSTOM_POLICIES, POLICY_CASES, type PolicyCase } from './fixtures/policy-cases';
import { REGIONAL_HOLIDAY_CASES } from './fixtures/regional-holiday-cases';
import { STACK_CASES, STACK_POLICIES } from './fixtures/stack-cases';

const LABELS = [{ name: 'DNC' }, { name: 'DNC_Temp', expiresAfterDays: 10 }];

/** A store holding no labels, whose attempt records are the case's. */
function storeWith(records: readonly AttemptRecord[]): DncStore {
  const store: Partial<DncStore> = {
    status: () => ({ state: 'ready', contacts: 0, keys: 0, seq: 0 }),
    lookup: () => undefined,
    lookupAll: () => [],
    attempts: (key, since) =>
      records.filter((r) => r.keys.includes(key) && r.at >= since).sort((a, b) => a.at - b.at),
  };
  return store as DncStore;
}

const compiled = new Map<string, CheckPolicy>();
/** As a check builds it (createPolicy): a preset with regional holidays places the callee. */
function policyOf(name: string): CheckPolicy {
  let policy = compiled.get(name);
  if (policy === undefined) {
    const definition = CUSTOM_POLICIES[name] ?? STACK_POLICIES[name] ?? preset(name);
    assert.ok(definition, `unknown policy ${name}`);
    policy = createPolicy(definition);
    compiled.set(name, policy);
  }
  return policy;
}

function runCase(c: PolicyCase) {
  const probe = new DncService({ labels: LABELS, defaultCountry: 'US', store: storeWith([]) });
  const keys = probe.parser.tryParse(c.contact);
  const records: AttemptRecord[] = (c.attempts ?? []).map((a) => ({
    keys: keys instanceof DncError ? [] : keys.keys,
    at: Date.parse(a.at),
    attempt: a.attempt ?? true,
    outcome: a.outcome ?? null,
    channel: a.channel === undefined ? 'voice' : a.channel,
    campaign: a.campaign === undefined ? null : a.campaign,
    source: 'test',
  }));
  // "Now" is the case's instant: a check may not look more than a year ahead of now, and the cases
  // reach into 2028 (a leap day).
  const dnc = new DncService({
    labels: LABELS,
    defaultCountry: 'US',
    store: storeWith(records),
    now: () => Date.parse(c.at),
  });
  return dnc.check(c.contact, {
    policy: policyOf(c.policy),
    ...(c.policies === undefined ? {} : { policies: c.policies.map(policyOf) }),
    channel: c.channel === undefined ? 'voice' : c.channel,
    campaign: c.campaign ?? null,
    at: Date.parse(c.at),
  });
}

describe('calling policies: the case table (derived by hand from the cited rules)', () => {
  it('has at least 150 cases with unique ids', () => {
    assert.ok(POLICY_CASES.length >= 150, `${POLICY_CASES.length} cases`);
    assert.equal(new Set(POLICY_CASES.map((c) => c.id)).size, POLICY_CASES.length);
  });

  for (const c of [...POLICY_CASES, ...STACK_CASES, ...REGIONAL_HOLIDAY_CASES]) {
    it(`${c.id} ${c.policy}: ${c.why}`, () => {
      const decision = runCase(c);
      const codes = decision.reasons.map((r) => r.code);
      assert.equal(decision.allowed, c.allowed, `allowed? reasons: ${JSON.stringify(decision.reasons)}`);
      if (c.allowed) {
        assert.deepEqual(codes, []);
        return;
      }
      assert.deepEqual([...codes].sort(), [...(c.reasons ?? [])].sort());
      assert.equal(decision.nextAllowedAt, c.next);
      for (const reason of decision.reasons) {
        assert.equal(typeof reason.rule, 'string', `${reason.code} cites its rule`);
        assert.notEqual(reason.rule, '', `${reason.code} cites its rule`);
      }
    });
  }
});

describe('calling policies: presets, validation, zones', () => {
  it('ships every preset the issue names, each citing its rule', () => {
    for (const name of [
      'us-federal',
      'florida',
      'oklahoma',
      'maryland',
      'us-debt-collection',
      'canada',
      'australia-telemarketing',
      'australia-research',
      'india-promotional',
      'france',
      'uk-industry',
    ]) {
      assert.ok(PRESET_NAMES.includes(name), name);
      const p = PRESETS[name];
      assert.ok(p.rule && p.rule.length > 20, `${name} cites its rule`);
      for (const cap of p.caps ?? []) assert.ok(cap.rule, `${name} cap cites its rule`);
      for (const c of p.coolingOff ?? []) assert.ok(c.rule, `${name} cooling-off cites its rule`);
      assert.doesNotThrow(() => new CallingPolicy(p));
    }
  });

  it('preset() returns an editable copy', () => {
    const copy = preset('us-federal')!;
    (copy.windows as Record<string, string[]>).daily = ['09:00-20:00'];
    assert.deepEqual(PRESETS['us-federal'].windows, { daily: ['08:00-21:00'] });
  });

  it('rejects bad definitions with DNC_INVALID_INPUT and the field', () => {
    const bad: Array<[unknown, string]> = [
      [{ windows: { mon: ['9-17'] } }, 'policy.windows.mon'],
      [{ windows: { funday: ['09:00-17:00'] } }, 'policy.windows'],
      [{ windows: { mon: ['17:00-09:00'] } }, 'policy.windows.mon'],
      [{ windows: { mon: ['09:00-24:30'] } }, 'policy.windows.mon'],
      [{ caps: [{ limit: 0, hours: 24 }] }, 'policy.caps[0].limit'],
      [{ caps: [{ limit: 3 }] }, 'policy.caps[0]'],
      [{ caps: [{ limit: 3, hours: 24, scope: 'planet' }] }, 'policy.caps[0].scope'],
      [{ coolingOff: [{ after: 'lunch', days: 7 }] }, 'policy.coolingOff[0].after'],
      [{ holidays: { country: 'France' } }, 'policy.holidays.country'],
      [{ holidays: { dates: ['25/12'] } }, 'policy.holidays.dates[0]'],
      [{ timezoneFallback: 'Mars/Olympus' }, 'policy.timezoneFallback'],
    ];
    for (const [definition, field] of bad) {
      assert.throws(
        () => new CallingPolicy(definition as never),
        (err: unknown) => err instanceof DncError && err.code === 'DNC_INVALID_INPUT' && err.field === field,
        JSON.stringify(definition),
      );
    }
  });

  it('rejects what would silently enforce less: unknown countries, states, impossible dates, wrong types, unknown keys', () => {
    const daily = { daily: ['08:00-21:00'] };
    const bad: Array<[unknown, string, RegExp?]> = [
      // an unknown country or state used to load an empty calendar: no holiday was ever barred
      [{ windows: daily, holidays: { country: 'ZZ' } }, 'policy.holidays.country', /"ZZ" is not a country/],
      [
        { windows: daily, holidays: { country: 'US', state: 'ZZ' } },
        'policy.holidays.state',
        /not a state or region of US/,
      ],
      [{ windows: daily, holidays: { state: 'NY' } }, 'policy.holidays.state', /needs holidays.country/],
      [{ windows: daily, holidays: { country: 'FR', types: ['publik'] } }, 'policy.holidays.types[0]'],
      [{ windows: daily, holidays: { country: 'FR', types: 'public' } }, 'policy.holidays.types'],
      [{ windows: daily, holidays: {} }, 'policy.holidays', /a country or dates/],
      [{ windows: daily, holidays: 'FR' }, 'policy.holidays'],
      // impossible dates used to pass the pattern and roll over (13-45) or be ignored
      [{ windows: daily, holidays: { dates: ['13-45'] } }, 'policy.holidays.dates[0]', /does not exist/],
      [{ windows: daily, holidays: { dates: ['12-24', '02-30'] } }, 'policy.holidays.dates[1]'],
      [{ windows: daily, holidays: { dates: ['2026-02-29'] } }, 'policy.holidays.dates[0]'],
      [{ windows: daily, holidays: { dates: ['0000-01-01'] } }, 'policy.holidays.dates[0]'],
      [{ windows: daily, holidays: { dates: [1225] } }, 'policy.holidays.dates[0]'],
      [{ windows: daily, holidays: { dates: '12-25' } }, 'policy.holidays.dates'],
      // wrong types used to throw TypeError (a 500 in the API)
      [{ windows: daily, caps: { limit: 3, hours: 24 } }, 'policy.caps'],
      [{ windows: daily, caps: 'three a day' }, 'policy.caps'],
      [{ windows: daily, caps: [null] }, 'policy.caps[0]'],
      [{ windows: daily, caps: [[3, 24]] }, 'policy.caps[0]'],
      [{ windows: daily, caps: [{ limit: '3', hours: 24 }] }, 'policy.caps[0].limit'],
      [{ windows: daily, caps: [{ limit: 3, hours: -24 }] }, 'policy.caps[0].hours'],
      [{ windows: daily, caps: [{ limit: 3, days: 0 }] }, 'policy.caps[0].days'],
      [{ windows: daily, caps: [{ limit: 2.5, days: 1 }] }, 'policy.caps[0].limit'],
      [{ windows: daily, caps: [{ limit: 3, days: 1e9 }] }, 'policy.caps[0].days'],
      [{ windows: daily, caps: [{ limit: 3, hours: 24, scope: 7 }] }, 'policy.caps[0].scope'],
      [{ windows: daily, coolingOff: { after: 'refusal', days: 60 } }, 'policy.coolingOff'],
      [{ windows: daily, coolingOff: [7] }, 'policy.coolingOff[0]'],
      [{ windows: daily, coolingOff: [{ after: ['refusal'], days: 60 }] }, 'policy.coolingOff[0].after'],
      [{ windows: daily, coolingOff: [{ after: 'refusal', days: -60 }] }, 'policy.coolingOff[0].days'],
      [{ windows: daily, coolingOff: [{ after: 'refusal', days: '60' }] }, 'policy.coolingOff[0].days'],
      [{ windows: daily, channels: 'voice' }, 'policy.channels'],
      [{ windows: daily, channels: ['by pigeon'] }, 'policy.channels[0]'],
      [{ windows: daily, name: 7 }, 'policy.name'],
      [{ windows: daily, preset: {} }, 'policy.preset'],
      [{ windows: { mnday: [] } }, 'policy.windows'],
      // a misspelt key silently enforced nothing
      [
        { windows: daily, coolingof: [{ after: 'refusal', days: 60 }] },
        'policy.coolingof',
        /unknown key "coolingof"/,
      ],
      [{ windows: daily, holiday: { country: 'FR' } }, 'policy.holiday'],
      [{ windows: daily, caps: [{ limit: 3, hours: 24, scpe: 'campaign' }] }, 'policy.caps[0].scpe'],
      [{ windows: daily, coolingOff: [{ after: 'refusal', day: 60 }] }, 'policy.coolingOff[0].day'],
      [{ windows: daily, holidays: { country: 'FR', date: ['12-24'] } }, 'policy.holidays.date'],
      [null, 'policy'],
      [[], 'policy'],
      ['us-federal', 'policy'],
    ];
    for (const [definition, field, message] of bad) {
      assert.throws(
        () => new CallingPolicy(definition as never),
        (err: unknown) =>
          err instanceof DncError &&
          err.code === 'DNC_INVALID_INPUT' &&
          err.field === field &&
          (message === undefined || message.test(err.message)),
        JSON.stringify(definition),
      );
    }
  });

  it('accepts every real country, state, date and type spelling it documents', () => {
    const ok: unknown[] = [
      {
        windows: { daily: ['08:00-21:00'] },
        holidays: { country: 'us', state: 'ny', types: ['public', 'bank'] },
      },
      { windows: { daily: ['08:00-21:00'] }, holidays: { country: 'DE', state: 'BY' } },
      { windows: { daily: ['08:00-21:00'] }, holidays: { dates: ['02-29', '2028-02-29', '12-31'] } },
      { windows: { daily: ['08:00-21:00'] }, holidays: null },
      { windows: { daily: ['08:00-21:00'] }, caps: [{ limit: 3, hours: 24, scope: 'campaign', rule: 'r' }] },
      { windows: { daily: ['08:00-21:00'] }, channels: ['VOICE ', 'sms'] },
    ];
    for (const definition of ok)
      assert.doesNotThrow(() => new CallingPolicy(definition as never), JSON.stringify(definition));
    // The state is matched ignoring case and enforced: 2026-06-19 (Juneteenth) is federal, and New York's
    // Lincoln's Birthday (2026-02-12) is a state holiday.
    const ny = new CallingPolicy({
      windows: { daily: ['00:00-24:00'] },
      holidays: { country: 'us', state: 'ny' },
    });
    const at = Date.parse('2026-02-12T17:00:00Z');
    const verdict = ny.evaluate(
      { hints: { timezone: 'America/New_York' }, keys: [] },
      { channel: null },
      at,
      undefined,
    );
    assert.equal(verdict?.reasons[0].code, 'HOLIDAY');
  });

  it('blocks on a custom holiday date exactly as written (MM-DD every year)', () => {
    const policy = new CallingPolicy({ windows: { daily: ['00:00-24:00'] }, holidays: { dates: ['12-24'] } });
    const contact = { hints: { timezone: 'Europe/Paris' }, keys: [] };
    assert.equal(
      policy.evaluate(contact, { channel: null }, Date.parse('2026-12-24T12:00:00Z'), undefined)?.reasons[0]
        .code,
      'HOLIDAY',
    );
    assert.equal(
      policy.evaluate(contact, { channel: null }, Date.parse('2026-12-23T12:00:00Z'), undefined),
      null,
    );
  });

  it('never throws anything but a DncError for any JSON shaped as a definition (seeded)', () => {
    let seed = 20261204;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const leaves: unknown[] = [
      null,
      0,
      -1,
      1.5,
      1e308,
      '',
      'x',
      'ZZ',
      '13-45',
      true,
      [],
      {},
      ['voice'],
      { a: 1 },
    ];
    const keys = [
      'name',
      'rule',
      'channels',
      'windows',
      'holidays',
      'caps',
      'coolingOff',
      'timezoneFallback',
      'country',
      'state',
      'dates',
      'types',
      'limit',
      'hours',
      'days',
      'scope',
      'after',
      'mon',
      'daily',
    ];
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.4) return leaves[Math.floor(random() * leaves.length)];
      if (r < 0.6) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 4); i > 0; i--)
        out[keys[Math.floor(random() * keys.length)]] = value(depth + 1);
      return out;
    };
    for (let i = 0; i < 3000; i++) {
      const definition = value(0);
      try {
        new CallingPolicy(definition as never);
      } catch (err) {
        assert.ok(err instanceof DncError, `${JSON.stringify(definition)}: ${String(err)}`);
        assert.equal(err.code, 'DNC_INVALID_INPUT');
        assert.match(err.field ?? '', /^policy/);
      }
    }
  });

  it('accepts a preset name or a definition in check options, and rejects an unknown preset', () => {
    const dnc = new DncService({ labels: LABELS, store: storeWith([]) });
    const at = Date.parse('2026-01-15T12:00:00Z');
    assert.equal(dnc.check('+12125550123', { policy: 'us-federal', at }).allowed, false);
    assert.equal(
      dnc.check('+12125550123', { policy: { windows: { daily: ['06:00-08:00'] } }, at }).allowed,
      true,
    );
    assert.throws(
      () => dnc.check('+12125550123', { policy: 'nowhere', at }),
      (err: unknown) => err instanceof DncError && err.field === 'policy',
    );
  });

  it('resolves zones in order: given zone, region, number, country', () => {
    assert.deepEqual(resolveZones({ timezone: 'Europe/Paris', region: 'TX' }, '+12125550123')?.zones, [
      'Europe/Paris',
    ]);
    assert.deepEqual(resolveZones({ region: 'TX' }, '+12125550123')?.zones, [
      'America/Chicago',
      'America/Denver',
    ]);
    assert.deepEqual(resolveZones(undefined, '+12125550123')?.zones, ['America/New_York']);
    assert.equal(resolveZones({ country: 'FR' }, undefined)?.source, 'country');
    assert.equal(resolveZones({}, undefined), null);
  });

  it('numbers not tied to a place take every zone of their numbering plan, territories included', () => {
    const nanp = [
      'Pacific/Guam',
      'Pacific/Saipan',
      'Pacific/Pago_Pago',
      'America/Puerto_Rico',
      'America/St_Thomas',
      'Pacific/Honolulu',
      'America/Adak',
      'America/St_Johns',
      'America/New_York',
    ];
    // toll-free, premium-rate, personal; a geographic number whose area code the prefix map lacks
    for (const number of ['+18005550123', '+19002345678', '+15002345678', '+14722345678', '+12632345678']) {
      const set = resolveZones(undefined, number);
      assert.equal(set?.source, 'numbering-plan', number);
      assert.equal(set?.placed, false, number);
      for (const zone of nanp) assert.ok(set.zones.includes(zone), `${number}: ${zone}`);
    }
    const australia = [
      'Australia/Sydney',
      'Australia/Lord_Howe',
      'Australia/Perth',
      'Australia/Darwin',
      'Australia/Eucla',
      'Australia/Adelaide',
      'Australia/Brisbane',
      'Indian/Christmas',
      'Indian/Cocos',
    ];
    for (const number of ['+61131234', '+611300123456', '+611800123456']) {
      const set = resolveZones(undefined, number);
      assert.equal(set?.source, 'numbering-plan', number);
      for (const zone of australia) assert.ok(set.zones.includes(zone), `${number}: ${zone}`);
    }
    // Russia's 8 800 is reached from Kaliningrad to Chukotka, and +7 is Kazakhstan's too.
    const ru = resolveZones(undefined, '+78001234567');
    for (const zone of ['Europe/Kaliningrad', 'Asia/Kamchatka', 'Asia/Anadyr', 'Asia/Almaty'])
      assert.ok(ru?.zones.includes(zone), zone);
    // A given zone or region still places the contact; geographic numbers keep their prefix.
    assert.deepEqual(
      resolveZones(new ContactParser().parse({ phone: '+18005550123', state: 'NY' }).hints, '+18005550123')
        ?.zones,
      ['America/New_York'],
    );
    assert.equal(
      resolveZones(new ContactParser().parse({ phone: '+18005550123', state: 'NY' }).hints, '+18005550123')
        ?.placed,
      true,
    );
    assert.deepEqual(resolveZones(undefined, '+16715550123')?.zones, ['Pacific/Guam']);
    assert.deepEqual(resolveZones(undefined, '+61212345678')?.zones, ['Australia/Sydney']);
  });

  it('every zone of the region tables is a known IANA zone', () => {
    for (const [country, regions] of Object.entries(REGION_ZONES))
      for (const [region, zones] of Object.entries(regions))
        for (const zone of zones) assert.ok(isValidZone(zone), `${country}-${region}: ${zone}`);
  });

  it("a mobile number's zones do not depend on which number of its prefix came first", () => {
    // Brazil's prefix map is per area code, for fixed lines and mobiles alike; a mobile may be anywhere
    // in Brazil, a fixed line is where its area code is.
    const brazil = ['America/Noronha', 'America/Sao_Paulo', 'America/Manaus', 'America/Rio_Branco'];
    assert.deepEqual(resolveZones(undefined, '+556832231234')?.zones, ['America/Rio_Branco']);
    const mobile = resolveZones(undefined, '+5568999991234');
    for (const zone of brazil) assert.ok(mobile?.zones.includes(zone), `Acre mobile: ${zone}`);
    const first = resolveZones(undefined, '+5561987654321');
    for (const zone of brazil) assert.ok(first?.zones.includes(zone), `Brasilia mobile: ${zone}`);
    assert.deepEqual(resolveZones(undefined, '+556130001234')?.zones, ['America/Sao_Paulo']);
  });
});

describe('calling policies inside decisions', () => {
  const at = Date.parse('2026-01-15T12:00:00Z'); // 07:00 in New York

  it('a policy that throws blocks with CHECK_FAILED (fail closed)', () => {
    const policy = new CallingPolicy({ windows: { daily: ['00:00-24:00'] } });
    (policy as unknown as { evaluateFor: () => never }).evaluateFor = () => {
      throw new Error('boom');
    };
    const dnc = new DncService({ labels: LABELS, store: storeWith([]) });
    const decision = dnc.check('+12125550123', { policy, at });
    assert.equal(decision.allowed, false);
    assert.equal(decision.reasons[0].code, 'CHECK_FAILED');
    assert.match(decision.reasons[0].message, /boom/);
    assert.equal(decision.nextAllowedAt, null);
  });

  it('caps on a store without attempt records block (fail closed)', () => {
    const store = storeWith([]);
    delete (store as Partial<DncStore>).attempts;
    const dnc = new DncService({ labels: LABELS, store });
    const decision = dnc.check('+13055550123', { policy: 'florida', at: at + 4 * 3_600_000 });
    assert.equal(decision.allowed, false);
    assert.equal(decision.reasons[0].code, 'CHECK_FAILED');
    assert.match(decision.reasons[0].message, /attempt records/);
  });

  it('an invalid contact stays INVALID_CONTACT, with no nextAllowedAt', () => {
    const dnc = new DncService({ labels: LABELS, store: storeWith([]) });
    const decision = dnc.check('not a number', { policy: 'us-federal', at });
    assert.deepEqual(
      decision.reasons.map((r) => r.code),
      ['INVALID_CONTACT'],
    );
    assert.equal(decision.nextAllowedAt, null);
  });

  it('no policy: decisions keep their shape (no nextAllowedAt)', () => {
    const dnc = new DncService({ labels: LABELS, store: storeWith([]) });
    const decision = dnc.check('+12125550123', { at });
    assert.equal(decision.allowed, true);
    assert.equal('nextAllowedAt' in decision, false);
  });

  it('batch: reasons are counted per code in the summary', () => {
    const dnc = new DncService({ labels: LABELS, store: storeWith([]) });
    const result = dnc.checkMany(['+12125550123', '+18085550123', { id: 'nowhere' }, '+33612345678'], {
      policy: 'us-federal',
      at: Date.parse('2026-01-15T14:00:00Z'), // NY 09:00, Honolulu 04:00, Paris 15:00
    });
    assert.equal(result.summary.allowed, 2);
    assert.deepEqual(result.summary.reasons, { OUTSIDE_CALLING_HOURS: 1, TIMEZONE_UNKNOWN: 1 });
    const hawaii = result.blocked.find((b) => b.item === '+18085550123')!;
    assert.equal(hawaii.decision.nextAllowedAt, '2026-01-15T18:00:00.000Z');
  });
});

describe('attempt records in the embedded store, with the service and a policy', () => {
  let dir: string;
  let store: EmbeddedStore;
  let clock: number;
  let dnc: DncService;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-policy-'));
    store = new EmbeddedStore({ path: path.join(dir, 'dnc-store.json') });
    await store.open();
    clock = Date.parse('2026-03-10T14:00:00Z'); // 10:00 EDT in Miami
    dnc = new DncService({ labels: LABELS, defaultCountry: 'US', store, now: () => clock });
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records attempts durably, caps a fourth call on the subject, and survives a reopen', async () => {
    const plan = dnc.plan({ policy: 'florida', channel: 'voice', campaign: 'roofing' });
    for (let i = 0; i < 3; i++) {
      assert.equal(dnc.checkWithPlan('(305) 555-0123', plan, clock).allowed, true);
      await dnc.recordAttempt({ contact: '(305) 555-0123', channel: 'voice', campaign: 'roofing' });
      clock += 600_000;
    }
    const blocked = dnc.checkWithPlan('+13055550123', plan, clock);
    assert.equal(blocked.allowed, false);
    assert.equal(blocked.reasons[0].code, 'FREQUENCY_CAP');
    assert.equal(blocked.nextAllowedAt, '2026-03-11T14:00:00.000Z');
    const other = dnc.plan({ policy: 'florida', channel: 'voice', campaign: 'solar' });
    assert.equal(dnc.checkWithPlan('+13055550123', other, clock).allowed, true);

    await store.close();
    // The file names its format, then holds one line per attempt.
    const lines = fs.readFileSync(path.join(dir, 'dnc-store.attempts.ndjson'), 'utf8').trim().split('\n');
    assert.deepEqual(JSON.parse(lines[0]), { format: 'dnc-store-attempts/1' });
    assert.equal(lines.length, 1 + 3);
    store = new EmbeddedStore({ path: path.join(dir, 'dnc-store.json') });
    await store.open();
    const again = new DncService({ labels: LABELS, store, now: () => clock });
    assert.equal(
      again.check('+13055550123', { policy: 'florida', campaign: 'roofing', at: clock }).allowed,
      false,
    );
  });

  it('records an outcome on its own; a refusal starts the French cooling-off', async () => {
    clock = Date.parse('2026-03-10T09:00:00Z');
    await dnc.recordOutcome({ contact: '+33612345678', outcome: 'refusal', channel: 'voice' });
    const decision = dnc.check('+33612345678', { policy: 'france', channel: 'voice', at: clock });
    assert.deepEqual(
      decision.reasons.map((r) => r.code),
      ['COOLING_OFF'],
    );
    await assert.rejects(dnc.recordOutcome({ contact: '+33612345678' }), /outcome is needed/);
    await assert.rejects(
      dnc.recordOutcome({ contact: '+33612345678', outcome: 'Hung Up!' }),
      (err: unknown) => err instanceof DncError && err.field === 'outcome',
    );
  });

  it('prunes records no rule needs, keeping those within the longest horizon', async () => {
    dnc.plan({ policy: 'florida' }); // announces a 24 h horizon
    // The first record lets the service prune (nothing to drop); the next prune is an hour away.
    await dnc.recordAttempt({ contact: '+13055550123', at: clock - 3_600_000 });
    await dnc.recordAttempt({ contact: '+13055550123', at: clock - 3 * 86_400_000 });
    const dropped = await store.pruneAttempts(clock - 86_400_000);
    assert.equal(dropped, 1);
    assert.equal(store.attempts('+13055550123', 0).length, 1);
    // Rewritten by the prune: its format line, then the one record kept.
    const lines = fs.readFileSync(path.join(dir, 'dnc-store.attempts.ndjson'), 'utf8').trim().split('\n');
    assert.deepEqual(JSON.parse(lines[0]), { format: 'dnc-store-attempts/1' });
    assert.equal(lines.length, 1 + 1);
  });

  /** Every hour allowed, at most two attempts per 24 h on the same campaign. */
  const TWO_A_DAY = {
    name: 'two a day',
    rule: 'test rule',
    windows: { daily: ['00:00-24:00'] },
    caps: [{ limit: 2, hours: 24, scope: 'campaign' as const, rule: 'test cap' }],
    timezoneFallback: 'UTC',
  };

  it('a burst of checks that record attempts cannot exceed a cap while the records are written', async () => {
    const plan = dnc.plan({ policy: TWO_A_DAY, channel: 'voice', campaign: 'c', recordAttempt: true });
    const writes: Promise<unknown>[] = [];
    const allowed: boolean[] = [];
    // Back to back, as a flow sends them: each allowed contact is recorded without waiting for the last.
    for (let i = 0; i < 5; i++) {
      const decision = dnc.checkWithPlan('+13055550123', plan, clock);
      allowed.push(decision.allowed);
      if (decision.allowed) {
        writes.push(dnc.recordAttempt({ contact: '+13055550123', channel: 'voice', campaign: 'c' }));
      } else {
        assert.equal(decision.reasons[0].code, 'FREQUENCY_CAP');
      }
    }
    await Promise.all(writes);
    assert.deepEqual(allowed, [true, true, false, false, false]);
    assert.equal(store.attempts('+13055550123', 0).length, 2);
    assert.equal(dnc.checkWithPlan('+13055550123', plan, clock).allowed, false);
  });

  it('a list holding the same contact several times is capped within the list', () => {
    const options = { policy: TWO_A_DAY, channel: 'voice', campaign: 'c', at: clock };
    const list = ['+13055550123', '(305) 555-0123', '+13055550199', '+13055550123', '+13055550123'];
    const result = dnc.checkMany(list, options);
    assert.deepEqual(result.allowed, ['+13055550123', '(305) 555-0123', '+13055550199']);
    assert.equal(result.blocked.length, 2);
    assert.deepEqual(result.summary.reasons, { FREQUENCY_CAP: 2 });
    // The list's own counts end with it: nothing was recorded.
    assert.equal(dnc.check('+13055550123', options).allowed, true);
    const recording = dnc.checkMany(list, { ...options, recordAttempt: true });
    assert.equal(recording.allowed.length, 3);
  });

  it('an attempt whose write fails stops counting', async () => {
    let fail: (err: Error) => void = () => undefined;
    const failing: Partial<DncStore> = {
      status: () => ({ state: 'ready', contacts: 0, keys: 0, seq: 0 }),
      lookup: () => undefined,
      lookupAll: () => [],
      attempts: () => [],
      recordAttempt: () =>
        new Promise<void>((_resolve, reject) => {
          fail = reject;
        }),
    };
    const service = new DncService({ labels: LABELS, store: failing as DncStore, now: () => clock });
    const options = { policy: { ...TWO_A_DAY, caps: [{ limit: 1, hours: 24, rule: 'one' }] }, at: clock };
    const write = service.recordAttempt({ contact: '+13055550123' });
    assert.equal(service.check('+13055550123', options).reasons[0].code, 'FREQUENCY_CAP');
    await new Promise((resolve) => setImmediate(resolve));
    fail(new Error('disk full'));
    await assert.rejects(write, /disk full/);
    assert.equal(service.check('+13055550123', options).allowed, true);
  });

  it('a label that expires and a window: nextAllowedAt is the first time both allow', async () => {
    clock = Date.parse('2026-03-10T14:00:00Z');
    await dnc.addLabels({ contact: '+12125550123', labels: ['DNC_Temp'] }); // expires 20 Mar 14:00Z
    const decision = dnc.check('+12125550123', { policy: 'us-federal', labels: ['DNC_Temp'], at: clock });
    assert.equal(decision.allowed, false);
    assert.equal(decision.nextAllowedAt, '2026-03-20T14:00:00.000Z'); // 10:00 EDT: in the window
    const late = dnc.check('+12125550123', {
      policy: { windows: { daily: ['18:00-19:00'] } },
      labels: ['DNC_Temp'],
      at: clock,
    });
    assert.equal(late.nextAllowedAt, '2026-03-20T22:00:00.000Z'); // 18:00 EDT on the day it expires
    await dnc.addLabels({ contact: '+12125550123', labels: ['DNC'] }); // never expires
    assert.equal(dnc.check('+12125550123', { policy: 'us-federal', at: clock }).nextAllowedAt, null);
  });
});

describe('calling policies against an independent oracle (luxon wall clock, date-holidays)', () => {
  // The oracle reads the local wall clock with luxon for every instant it is asked about: no spans,
  // no caches, no wall-time arithmetic. Invariants checked at random instants of 2026 and around every
  // DST change: the decision agrees with the oracle; nextAllowedAt is allowed, the millisecond before
  // it is not, and neither is any instant sampled between the check and nextAllowedAt.
  const WINDOWS: Record<string, Record<number, Array<[number, number]>>> = {
    'us-federal': {
      0: [[480, 1260]],
      1: [[480, 1260]],
      2: [[480, 1260]],
      3: [[480, 1260]],
      4: [[480, 1260]],
      5: [[480, 1260]],
      6: [[480, 1260]],
    },
    canada: {
      0: [[600, 1080]],
      1: [[540, 1290]],
      2: [[540, 1290]],
      3: [[540, 1290]],
      4: [[540, 1290]],
      5: [[540, 1290]],
      6: [[600, 1080]],
    },
    france: {
      0: [],
      1: [
        [600, 780],
        [840, 1200],
      ],
      2: [
        [600, 780],
        [840, 1200],
      ],
      3: [
        [600, 780],
        [840, 1200],
      ],
      4: [
        [600, 780],
        [840, 1200],
      ],
      5: [
        [600, 780],
        [840, 1200],
      ],
      6: [],
    },
    'australia-telemarketing': {
      0: [],
      1: [[540, 1200]],
      2: [[540, 1200]],
      3: [[540, 1200]],
      4: [[540, 1200]],
      5: [[540, 1200]],
      6: [[540, 1020]],
    },
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DateTime } = require('luxon') as typeof import('luxon');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Holidays = require('date-holidays') as typeof import('date-holidays').default;
  const publicHolidays = (country: string, state?: string) =>
    new Set(
      [2026, 2027].flatMap((y) =>
        (state === undefined ? new Holidays(country) : new Holidays(country, state))
          .getHolidays(y)
          .filter((h) => h.type === 'public')
          .map((h) => h.date.slice(0, 10)),
      ),
    );
  const HOLIDAYS: Record<string, Set<string>> = {
    france: publicHolidays('FR'),
    'australia-telemarketing': publicHolidays('AU'),
  };
  // Holidays of the regions a callee may be in (holidays.regions of the presets): every Australian
  // state's public holidays; Alsace-Moselle's departments (date-holidays' FR 57, 67, 68).
  const AU_STATES = ['ACT', 'NSW', 'NT', 'QLD', 'SA', 'TAS', 'VIC', 'WA'];
  const ALSACE_MOSELLE = ['57', '67', '68'];
  const REGION_HOLIDAYS: Record<string, Record<string, Set<string>>> = {
    france: Object.fromEntries(ALSACE_MOSELLE.map((d) => [d, publicHolidays('FR', d)])),
    'australia-telemarketing': Object.fromEntries(AU_STATES.map((st) => [st, publicHolidays('AU', st)])),
  };

  /** `regions`: the subdivisions whose holidays bind the callee, per policy (by hand, per contact). */
  function oracle(
    policy: string,
    zones: readonly string[],
    t: number,
    regions: Readonly<Record<string, readonly string[]>> = {},
  ): boolean {
    return zones.every((zone) => {
      const local = DateTime.fromMillis(t, { zone });
      const date = local.toISODate()!;
      if (HOLIDAYS[policy]?.has(date)) return false;
      if ((regions[policy] ?? []).some((r) => REGION_HOLIDAYS[policy][r].has(date))) return false;
      const minute = local.hour * 60 + local.minute + local.second / 60 + local.millisecond / 60000;
      return WINDOWS[policy][local.weekday % 7].some(([s, e]) => minute >= s && minute < e);
    });
  }

  // Zones, and the regions whose holidays bind: a callee in another country none; a callee the
  // contact does not place (no country, no number) every one; an Australian number its area code's
  // states (02: ACT, NSW, QLD, VIC); a French mobile every Alsace-Moselle department.
  const EVERY = { france: ALSACE_MOSELLE, 'australia-telemarketing': AU_STATES };
  const contacts: Array<[unknown, readonly string[], Readonly<Record<string, readonly string[]>>]> = [
    ['+12125550123', ['America/New_York'], {}],
    ['+16025550123', ['America/Denver', 'America/Phoenix'], {}],
    ['+17097221234', ['America/St_Johns'], {}],
    ['+919812345678', ['Asia/Kolkata'], {}],
    [{ id: 'a', timezone: 'Australia/Lord_Howe' }, ['Australia/Lord_Howe'], EVERY],
    [{ id: 'b', state: 'FL', country: 'US' }, ['America/Chicago', 'America/New_York'], {}],
    ['+61212345678', ['Australia/Sydney'], { 'australia-telemarketing': ['ACT', 'NSW', 'QLD', 'VIC'] }],
    [
      { id: 'c', state: 'WA', country: 'AU' },
      ['Australia/Eucla', 'Australia/Perth'],
      { 'australia-telemarketing': ['WA'] },
    ],
    ['+33612345678', ['Europe/Paris'], { france: ALSACE_MOSELLE }],
  ];
  const instants: number[] = [];
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  for (let i = 0; i < 60; i++) instants.push(Date.UTC(2026, 0, 1) + Math.floor(random() * 365 * 86_400_000));
  for (const change of [
    '2026-03-08T07:00:00Z',
    '2026-11-01T06:00:00Z',
    '2026-03-29T01:00:00Z',
    '2026-10-25T01:00:00Z',
    '2026-04-04T15:00:00Z',
    '2026-10-03T16:00:00Z',
  ]) {
    for (let k = -8; k <= 8; k++) instants.push(Date.parse(change) + k * 1_800_000 - 1);
  }

  // Numbers not tied to a place: the oracle's zones are every zone CLDR lists for every region that
  // shares the calling code (libphonenumber's regions), the definition of "could be anywhere".
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const phoneMetadata = require('libphonenumber-js/max') as typeof import('libphonenumber-js/max');
  const planZones = (callingCode: string): string[] => {
    const zones = new Set<string>();
    for (const region of phoneMetadata.getCountries()) {
      if (phoneMetadata.getCountryCallingCode(region) !== callingCode) continue;
      const locale = new Intl.Locale(`und-${region}`) as Intl.Locale & {
        getTimeZones?: () => string[];
        timeZones?: string[];
      };
      for (const zone of locale.getTimeZones?.() ?? locale.timeZones ?? []) zones.add(zone);
    }
    return [...zones];
  };
  // (Every Australian state binds an Australian number not tied to a state; no US state rule here.)
  const unplaced: Array<[string, string, readonly string[]]> = [
    ['us-federal', '+18005550123', planZones('1')],
    ['us-federal', '+14722345678', planZones('1')],
    ['australia-telemarketing', '+611300123456', planZones('61')],
    ['australia-telemarketing', '+61412345678', planZones('61')],
  ];
  for (const [policyName, contact, zones] of unplaced) {
    it(`${policyName}: ${contact} (${zones.length} possible zones) agrees with the oracle; nextAllowedAt is the first instant every zone allows`, () => {
      const policy = createPolicy(preset(policyName)!);
      const regions = policyName === 'australia-telemarketing' ? EVERY : {};
      const dnc = new DncService({ labels: LABELS, store: storeWith([]) });
      for (const at of instants.filter((_, i) => i % 3 === 0)) {
        const d = dnc.check(contact, { policy, channel: 'voice', at });
        const where = `${contact} at ${new Date(at).toISOString()}`;
        assert.equal(d.allowed, oracle(policyName, zones, at, regions), where);
        if (d.allowed) continue;
        assert.ok(d.nextAllowedAt, where);
        const next = Date.parse(d.nextAllowedAt);
        assert.ok(oracle(policyName, zones, next, regions), `${where}: allowed at ${d.nextAllowedAt}`);
        assert.ok(
          !oracle(policyName, zones, next - 1, regions),
          `${where}: blocked just before ${d.nextAllowedAt}`,
        );
        for (let probe = at; probe < next; probe += 1_800_000) {
          assert.ok(
            !oracle(policyName, zones, probe, regions),
            `${where}: ${new Date(probe).toISOString()} allowed`,
          );
        }
      }
    });
  }

  for (const policyName of Object.keys(WINDOWS)) {
    it(`${policyName}: ${contacts.length} contacts x ${instants.length} instants agree with the oracle`, () => {
      const policy = createPolicy(preset(policyName)!);
      const dnc = new DncService({ labels: LABELS, store: storeWith([]) });
      for (const [contact, zones, regions] of contacts) {
        for (const at of instants) {
          const d = dnc.check(contact, { policy, channel: 'voice', at });
          const where = `${JSON.stringify(contact)} at ${new Date(at).toISOString()}`;
          assert.equal(d.allowed, oracle(policyName, zones, at, regions), where);
          if (d.allowed) continue;
          assert.ok(d.nextAllowedAt, where);
          const next = Date.parse(d.nextAllowedAt);
          assert.ok(oracle(policyName, zones, next, regions), `${where}: allowed at ${d.nextAllowedAt}`);
          assert.ok(
            !oracle(policyName, zones, next - 1, regions),
            `${where}: blocked just before ${d.nextAllowedAt}`,
          );
          for (let probe = at; probe < next; probe += 900_000) {
            assert.ok(
              !oracle(policyName, zones, probe, regions),
              `${where}: ${new Date(probe).toISOString()} allowed`,
            );
          }
        }
      }
    });
  }
});

describe('calling policies: holidays by the callee region (holidays.regions)', () => {
  const base = { name: 'r', rule: 'test', windows: { 'mon-fri': ['09:00-18:00'] } };
  const fri26Dec2025 = Date.parse('2025-12-26T10:00:00.000Z'); // 11:00 CET, a Friday
  const probe = (policy: CheckPolicy, contact: unknown, at: number) =>
    new DncService({ labels: LABELS, store: storeWith([]), now: () => at }).check(contact, {
      policy,
      channel: 'voice',
      at,
    });

  it('refuses region codes it cannot place, of another country, or without a calendar (DNC_INVALID_INPUT)', () => {
    const bad: Array<[unknown, string]> = [
      [{ country: 'FR', regions: { 'FR-99': {} } }, 'policy.holidays.regions.FR-99'],
      [{ country: 'FR', regions: { Moselle: {} } }, 'policy.holidays.regions.Moselle'],
      [{ country: 'FR', regions: { 'DE-BY': {} } }, 'policy.holidays.regions.DE-BY'],
      [{ country: 'FR', regions: { 'AU-QLD': {} } }, 'policy.holidays.regions.AU-QLD'],
      [{ dates: ['12-25'], regions: { 'FR-57': {} } }, 'policy.holidays.regions.FR-57'],
      [{ country: 'FR', regions: [] }, 'policy.holidays.regions'],
      [{ country: 'FR', regions: { 'FR-57': { dayz: [] } } }, 'policy.holidays.regions.FR-57.dayz'],
      [
        { country: 'FR', regions: { 'FR-57': { dates: ['13-45'] } } },
        'policy.holidays.regions.FR-57.dates[0]',
      ],
      [
        { country: 'FR', regions: { 'FR-57': { types: ['publik'] } } },
        'policy.holidays.regions.FR-57.types[0]',
      ],
      [{ country: 'FR', regions: { 'FR-75': {} } }, 'policy.holidays.regions.FR-75'],
      [
        { country: 'FR', regions: { 'FR-75': { types: ['public'], dates: ['12-26'] } } },
        'policy.holidays.regions.FR-75.types',
      ],
    ];
    for (const [holidays, field] of bad) {
      for (const build of [createPolicy, (d: never) => new CallingPolicy(d)]) {
        assert.throws(
          () => build({ ...base, holidays } as never),
          (err: unknown) =>
            err instanceof DncError && err.code === 'DNC_INVALID_INPUT' && err.field === field,
          JSON.stringify(holidays),
        );
      }
    }
  });

  it('a region of its own dates binds only callees who may be there; codes match ignoring case', () => {
    const policy = createPolicy({
      ...base,
      holidays: {
        country: 'FR',
        regions: { 'fr-75': { dates: ['12-26'], rule: 'test: Paris keeps 26 December' } },
      },
    });
    const paris = probe(policy, '+33142345678', fri26Dec2025);
    assert.equal(paris.allowed, false);
    assert.deepEqual(
      paris.reasons.map((r) => [r.code, r.rule]),
      [['HOLIDAY', 'test: Paris keeps 26 December']],
    );
    // By the number, only Alsace-Moselle can be ruled out: a Marseille 04 number may be anywhere else.
    assert.equal(
      probe(policy, '+33491234567', fri26Dec2025).allowed,
      false,
      'a 04 number is not placed in a department',
    );
    assert.equal(probe(policy, { phone: '+33612345678', postalCode: '13001' }, fri26Dec2025).allowed, true);
    assert.equal(probe(policy, { phone: '+33612345678', postalCode: '75001' }, fri26Dec2025).allowed, false);
  });

  it('the definition alone (a CallingPolicy, which cannot place the callee) binds every region: fail closed', () => {
    const alone = new CallingPolicy(preset('france')!);
    const placed = createPolicy(preset('france')!);
    assert.equal(probe(alone, '+33142345678', fri26Dec2025).allowed, false, 'Paris, every region binding');
    assert.equal(probe(placed, '+33142345678', fri26Dec2025).allowed, true, 'Paris, placed');
  });

  it('a preset named in the check options places the callee too', () => {
    const dnc = new DncService({ labels: LABELS, store: storeWith([]), now: () => fri26Dec2025 });
    const strasbourg = dnc.check(
      { phone: '+33612345678', postalCode: '67000' },
      { policy: 'france', channel: 'voice', at: fri26Dec2025 },
    );
    assert.deepEqual(
      strasbourg.reasons.map((r) => r.code),
      ['HOLIDAY'],
    );
    assert.match(strasbourg.reasons[0].rule ?? '', /L\. 3134-13/);
    assert.equal(
      dnc.check('+33142345678', { policy: 'france', channel: 'voice', at: fri26Dec2025 }).allowed,
      true,
    );
  });
});
