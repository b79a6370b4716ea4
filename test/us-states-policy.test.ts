/**
 * The us-states policy: federal rules plus the callee's state's, the state taken from the contact and
 * from the area code. Every expected answer was worked out by hand from the rules in
 * lib/policy/us-state-rules.ts (their citations in docs/us-state-rules.md) and the zones' offsets:
 * January 2026 is standard time everywhere (EST -5, CST -6, MST -7, PST -8, AST -4 in Puerto Rico);
 * 15 Jan 2026 is a Thursday, 18 Jan a Sunday, 19 Jan 2026 Martin Luther King Jr. Day (third Monday of
 * January: a federal holiday under 5 U.S.C. 6103, a Utah legal holiday under 63G-1-301).
 * Area codes (NANPA): 212 New York, 617 Massachusetts, 305 Florida, 601 Mississippi, 801 Utah, 401
 * Rhode Island, 206 Washington, 505 New Mexico, 213 California, 416 Ontario (Canada), 787 Puerto Rico,
 * 800 toll-free.
 */
import assert from 'node:assert/strict';
import { isDncError } from '../lib/errors';
import { DncService } from '../lib/service';
import type { AttemptRecord, DncStore } from '../lib/store/types';

const NY = '+12125550123';
const MA = '+16175550123';
const FL = '+13055550123';
const MS = '+16015550123';
const UT = '+18015550123';
const RI = '+14015550123';
const WA = '+12065550123';
const NM = '+15055550123';
const CA = '+12135550123';
const ON = '+14165550123';
const PR = '+17875550123';
const TOLL_FREE = '+18005550123';
const CT = '+12035550123';
const SD = '+16055550123';
const AL = '+12055550123';
const SC = '+18035550123';

function storeWith(records: readonly AttemptRecord[]): DncStore {
  const store: Partial<DncStore> = {
    status: () => ({ state: 'ready', contacts: 0, keys: 0, seq: 0 }),
    lookup: () => undefined,
    lookupAll: () => [],
    attempts: (key, since) => records.filter((r) => r.keys.includes(key) && r.at >= since),
  };
  return store as DncStore;
}

interface Case {
  readonly id: string;
  readonly contact: unknown;
  readonly at: string;
  readonly policy?: unknown;
  readonly channel?: string;
  readonly campaign?: string;
  readonly attempts?: readonly string[];
  readonly allowed: boolean;
  readonly reasons?: readonly string[];
  readonly next?: string | null;
  readonly why: string;
}

const OUT = ['OUTSIDE_CALLING_HOURS'];
const CASES: readonly Case[] = [
  {
    id: 'uss-01',
    contact: NY,
    at: '2026-01-16T01:30:00.000Z',
    allowed: true,
    why: 'NY Thu 20:30 EST: New York adds nothing to federal 08:00-21:00',
  },
  {
    id: 'uss-02',
    contact: MA,
    at: '2026-01-16T01:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T13:00:00.000Z',
    why: 'MA Thu 20:30 EST: 201 CMR 12.02(2) 08:00-20:00; Fri 08:00 EST',
  },
  {
    id: 'uss-03',
    contact: MA,
    at: '2026-01-16T00:59:59.999Z',
    allowed: true,
    why: 'MA Thu 19:59:59.999 EST',
  },
  {
    id: 'uss-04',
    contact: FL,
    at: '2026-01-16T01:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T13:00:00.000Z',
    why: 'FL Thu 20:30 EST: 501.616(6)(a) 08:00-20:00',
  },
  {
    id: 'uss-05',
    contact: MS,
    at: '2026-01-18T18:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-19T15:00:00.000Z',
    why: 'MS Sun 12:00 CST: no Sunday calls (77-3-723); Mon 09:00 CST',
  },
  {
    id: 'uss-06',
    contact: MS,
    at: '2026-01-17T14:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-17T15:00:00.000Z',
    why: 'MS Sat 08:30 CST: federal allows, Mississippi from 09:00',
  },
  { id: 'uss-07', contact: MS, at: '2026-01-17T15:00:00.000Z', allowed: true, why: 'MS Sat 09:00 CST' },
  {
    id: 'uss-08',
    contact: UT,
    at: '2026-01-19T19:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-01-20T15:00:00.000Z',
    why: 'UT Mon 19 Jan 12:00 MST: Martin Luther King Jr. Day, a legal holiday (13-25a-103, 63G-1-301); Tue 08:00 MST',
  },
  {
    id: 'uss-09',
    contact: UT,
    at: '2026-01-18T19:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-20T15:00:00.000Z',
    why: 'UT Sun 12:00 MST: no Sunday calls; Monday is a holiday: Tue 08:00 MST',
  },
  {
    id: 'uss-10',
    contact: RI,
    at: '2026-01-17T22:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-20T14:00:00.000Z',
    why: 'RI Sat 17:30 EST: Saturday 10:00-17:00 (5-61-2); no Sunday; Mon 19 Jan a federal holiday: Tue 09:00 EST',
  },
  {
    id: 'uss-11',
    contact: RI,
    at: '2026-01-20T23:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-21T14:00:00.000Z',
    why: 'RI Tue 18:00 EST: weekdays 09:00-18:00 (half-open); Wed 09:00 EST',
  },
  {
    id: 'uss-12',
    contact: { phone: NY, state: 'MA' },
    at: '2026-01-16T01:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T13:00:00.000Z',
    why: 'a New York number, a Massachusetts address: Massachusetts binds',
  },
  {
    id: 'uss-13',
    contact: { phone: MA, state: 'NY' },
    at: '2026-01-16T01:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T13:00:00.000Z',
    why: "a Massachusetts number, a New York address: both bind, so Massachusetts's 20:00 does",
  },
  {
    id: 'uss-14',
    contact: { phone: NY, state: 'Flordia' },
    at: '2026-01-18T17:00:00.000Z',
    allowed: false,
    reasons: [
      'OUTSIDE_CALLING_HOURS',
      'OUTSIDE_CALLING_HOURS',
      'OUTSIDE_CALLING_HOURS',
      'OUTSIDE_CALLING_HOURS',
    ],
    next: '2026-01-20T14:00:00.000Z',
    why: 'a state that is not one (typo) rules no state out: every state binds; Sun 12:00 EST is banned by Mississippi, Utah, Rhode Island and South Dakota (SDCL 37-30A-3(2)); Monday is a holiday in Utah and Rhode Island; Tue 09:00 EST opens Rhode Island, South Dakota and Connecticut (last to open)',
  },
  {
    id: 'uss-15',
    contact: NY,
    at: '2026-01-18T17:00:00.000Z',
    allowed: true,
    why: 'NY Sun 12:00 EST: no Sunday rule in New York',
  },
  {
    id: 'uss-16',
    contact: MA,
    channel: 'sms',
    at: '2026-01-16T01:30:00.000Z',
    allowed: true,
    why: 'MA Thu 20:30 EST on sms: 201 CMR 12.02 was read for calls only; federal 21:00 binds texts',
  },
  {
    id: 'uss-17',
    contact: WA,
    at: '2026-01-16T04:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T16:00:00.000Z',
    why: 'WA Thu 20:30 PST: RCW 19.158.040(2) 08:00-20:00; Fri 08:00 PST',
  },
  {
    id: 'uss-18',
    contact: NM,
    at: '2026-01-15T15:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-15T16:00:00.000Z',
    why: 'NM Thu 08:30 MST: 57-12-22 09:00-21:00',
  },
  {
    id: 'uss-19',
    contact: FL,
    campaign: 'spring',
    attempts: ['2026-01-15T13:00:00.000Z', '2026-01-15T14:00:00.000Z', '2026-01-15T15:00:00.000Z'],
    at: '2026-01-15T17:00:00.000Z',
    allowed: false,
    reasons: ['FREQUENCY_CAP'],
    next: '2026-01-16T13:00:00.000Z',
    why: 'FL: three calls Thu 08:00, 09:00, 10:00 EST on the same subject: 501.616(6)(b) clears 24 h after the first, Fri 08:00 EST, when the window is open',
  },
  {
    id: 'uss-20',
    contact: CA,
    at: '2026-01-15T16:30:00.000Z',
    allowed: true,
    why: 'CA Thu 08:30 PST, a live call: 2872(c) binds automated calls only',
  },
  {
    id: 'uss-21',
    contact: CA,
    policy: { jurisdiction: 'us-states', calls: ['solicitation', 'licensed', 'automated'] },
    at: '2026-01-15T16:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-15T17:00:00.000Z',
    why: 'the same, automated calls included: 09:00 PST',
  },
  {
    id: 'uss-22',
    contact: ON,
    at: '2026-01-18T17:00:00.000Z',
    allowed: true,
    why: 'a Toronto number (Canada shares +1): no US state, federal only',
  },
  {
    id: 'uss-23',
    contact: PR,
    at: '2026-01-18T16:00:00.000Z',
    allowed: true,
    why: 'Puerto Rico Sun 12:00 AST: no confirmed territory rule (10 L.P.R.A. 4033 not read): federal only',
  },
  {
    id: 'uss-24',
    contact: TOLL_FREE,
    at: '2026-01-18T23:00:00.000Z',
    allowed: false,
    why: 'toll-free, no state: every state binds; Sun 18:00 EST is a Sunday on the mainland (Mississippi, Utah, Rhode Island)',
  },
  {
    id: 'uss-25',
    contact: { phone: TOLL_FREE, state: 'NY' },
    at: '2026-01-18T23:00:00.000Z',
    allowed: true,
    why: 'toll-free with a New York address: New York zones, no state rule; Sun 18:00 EST',
  },
  {
    id: 'uss-26',
    contact: { phone: NY, postalCode: '02108' },
    at: '2026-01-16T01:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T13:00:00.000Z',
    why: 'ZIP 02108 is Boston: Massachusetts binds',
  },
  // July 2026 is daylight time: EDT -4, CDT -5, MDT -6, PDT -7. 24 Jul 2026 is a Friday, 3 Jul a Friday,
  // 4 Jul a Saturday, 18 Jul a Saturday, 19 Jul a Sunday, 1 Aug a Saturday, 10 Aug a Monday.
  // 203 Connecticut, 605 South Dakota (Central and Mountain), 205 Alabama, 803 South Carolina.
  {
    id: 'uss-27',
    contact: CT,
    at: '2026-01-15T13:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-15T14:00:00.000Z',
    why: 'CT Thu 08:30 EST: 42-288a(c) 09:00-20:00',
  },
  {
    id: 'uss-28',
    contact: CT,
    at: '2026-01-16T01:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T14:00:00.000Z',
    why: 'CT Thu 20:00 EST (half-open); Fri 09:00 EST',
  },
  {
    id: 'uss-29',
    contact: CT,
    at: '2026-01-16T00:59:59.999Z',
    allowed: true,
    why: 'CT Thu 19:59:59.999 EST',
  },
  {
    id: 'uss-30',
    contact: CT,
    channel: 'sms',
    at: '2026-01-16T01:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T14:00:00.000Z',
    why: 'CT text Thu 20:30 EST: 42-284 covers text messages',
  },
  {
    id: 'uss-31',
    contact: SD,
    at: '2026-01-18T18:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-19T16:00:00.000Z',
    why: 'SD Sun 12:00 CST: no Sunday (37-30A-3); Mon 09:00 in both 605 zones: 09:00 MST = 16:00Z',
  },
  {
    id: 'uss-32',
    contact: SD,
    channel: 'sms',
    at: '2026-01-18T18:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-19T16:00:00.000Z',
    why: 'SD text on a Sunday: 37-30A-3 covers texts',
  },
  {
    id: 'uss-33',
    contact: SD,
    at: '2026-01-19T15:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-19T16:00:00.000Z',
    why: 'SD Mon 09:30 CST is 08:30 MST: the Mountain part opens at 16:00Z',
  },
  {
    id: 'uss-34',
    contact: UT,
    at: '2026-07-24T18:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-07-25T14:00:00.000Z',
    why: 'UT Fri 24 Jul 12:00 MDT: Pioneer Day; Sat 08:00 MDT',
  },
  {
    id: 'uss-35',
    contact: UT,
    at: '2026-07-03T18:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-07-04T14:00:00.000Z',
    why: 'UT Fri 3 Jul 12:00 MDT: Independence Day on a Saturday is kept the Friday before (63G-1-301); the Saturday itself is not a holiday then',
  },
  {
    id: 'uss-36',
    contact: RI,
    at: '2026-08-10T16:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-08-11T13:00:00.000Z',
    why: 'RI Mon 10 Aug 12:00 EDT: Victory Day (second Monday of August, 25-1-1); Tue 09:00 EDT',
  },
  {
    id: 'uss-37',
    contact: RI,
    at: '2026-08-01T13:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-08-01T14:00:00.000Z',
    why: 'RI Sat 1 Aug 09:30 EDT: Saturday 10:00-17:00',
  },
  {
    id: 'uss-38',
    contact: MS,
    at: '2026-07-19T01:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-20T14:00:00.000Z',
    why: 'MS Sat 18 Jul 20:00 CDT: closed; no Sunday; Mon 09:00 CDT',
  },
  {
    id: 'uss-39',
    contact: WA,
    at: '2026-07-20T03:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-20T15:00:00.000Z',
    why: 'WA Sun 19 Jul 20:00 PDT; Mon 08:00 PDT',
  },
  {
    id: 'uss-40',
    contact: NM,
    at: '2026-07-19T14:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-19T15:00:00.000Z',
    why: 'NM Sun 08:30 MDT: 09:00-21:00 every day',
  },
  {
    id: 'uss-41',
    contact: FL,
    at: '2026-07-16T00:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-16T12:00:00.000Z',
    why: 'FL Wed 15 Jul 20:00 EDT; Thu 08:00 EDT',
  },
  {
    id: 'uss-42',
    contact: AL,
    at: '2026-07-19T17:00:00.000Z',
    allowed: true,
    why: 'AL Sun 12:00 CDT, a live call: r. 770-X-5-.17(1)(b) binds automated calls',
  },
  {
    id: 'uss-43',
    contact: AL,
    policy: { jurisdiction: 'us-states', calls: ['solicitation', 'automated'] },
    at: '2026-07-19T17:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-20T13:00:00.000Z',
    why: 'the same, automated: no Sunday; Mon 08:00 CDT',
  },
  {
    id: 'uss-44',
    contact: SC,
    at: '2026-07-15T23:30:00.000Z',
    allowed: true,
    why: 'SC Wed 19:30 EDT, a live call: 16-17-446 binds automated calls',
  },
  {
    id: 'uss-45',
    contact: SC,
    policy: { jurisdiction: 'us-states', calls: ['automated'] },
    at: '2026-07-15T23:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-16T12:00:00.000Z',
    why: 'the same, automated: 08:00-19:00; Thu 08:00 EDT',
  },
  {
    id: 'uss-46',
    contact: { phone: CT, state: 'RI' },
    at: '2026-07-18T16:00:00.000Z',
    allowed: true,
    why: 'a Connecticut number, a Rhode Island address, Sat 12:00 EDT: both allow (RI 10-17, CT 09-20)',
  },
  {
    id: 'uss-47',
    contact: { phone: CT, state: 'RI' },
    at: '2026-08-10T16:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-08-11T13:00:00.000Z',
    why: 'the same on Victory Day: Rhode Island binds by the address',
  },
  {
    id: 'uss-48',
    contact: { phone: NY, state: 'Rhode Island' },
    at: '2026-08-10T16:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-08-11T13:00:00.000Z',
    why: 'a state given by name',
  },
  {
    id: 'uss-49',
    contact: { phone: NY, postalCode: '84101' },
    at: '2026-07-24T18:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY', 'HOLIDAY'],
    next: '2026-07-25T14:00:00.000Z',
    why: 'a Salt Lake City ZIP with a New York number: Utah binds, in Mountain and in Eastern time (one reason for each zone); Sat 08:00 MDT (10:00 EDT)',
  },
  {
    id: 'uss-50',
    contact: { phone: ON, region: 'ON' },
    at: '2026-01-18T17:00:00.000Z',
    allowed: true,
    why: 'an Ontario contact: a province, not a misspelt state: federal only',
  },
];

function check(c: Case) {
  const records: AttemptRecord[] = (c.attempts ?? []).map((at) => ({
    keys: [typeof c.contact === 'string' ? c.contact : (c.contact as { phone: string }).phone],
    at: Date.parse(at),
    attempt: true,
    outcome: null,
    channel: 'voice',
    campaign: c.campaign ?? null,
    source: 'test',
  }));
  const service = new DncService({
    labels: [{ name: 'DNC' }],
    defaultCountry: 'US',
    store: storeWith(records),
    now: () => Date.parse(c.at),
  });
  return service.check(c.contact, {
    policy: (c.policy ?? 'us-states') as string,
    channel: c.channel ?? 'voice',
    campaign: c.campaign ?? null,
    at: Date.parse(c.at),
  });
}

describe("calling policy us-states: federal rules plus the callee's state", () => {
  for (const c of CASES) {
    it(`${c.id}: ${c.why}`, () => {
      const decision = check(c);
      assert.equal(decision.allowed, c.allowed, JSON.stringify(decision.reasons));
      if (c.allowed) return;
      if (c.reasons !== undefined)
        assert.deepEqual(decision.reasons.map((r) => r.code).sort(), [...c.reasons].sort());
      if (c.next !== undefined) assert.equal(decision.nextAllowedAt, c.next);
      for (const reason of decision.reasons)
        assert.notEqual(reason.rule ?? '', '', 'each reason cites its rule');
    });
  }

  it('the same toll-free instant is allowed under us-federal: the states made the difference', () => {
    const decision = check({ ...CASES.find((c) => c.id === 'uss-24')!, policy: 'us-federal' });
    assert.equal(decision.allowed, true);
  });

  it('refuses a definition it cannot apply, naming the field', () => {
    for (const [policy, field] of [
      [{ jurisdiction: 'us-states', windows: { daily: ['09:00-17:00'] } }, 'policy.windows'],
      [{ jurisdiction: 'eu' }, 'policy.jurisdiction'],
      [{ jurisdiction: 'us-states', calls: ['live'] }, 'policy.calls[0]'],
      [{ jurisdiction: 'us-states', calls: [] }, 'policy.calls'],
      [{ jurisdiction: 'us-states', channels: ['voice'] }, 'policy.channels'],
    ] as const) {
      assert.throws(
        () =>
          new DncService({ labels: [{ name: 'DNC' }], store: storeWith([]) }).plan({
            policy: policy as never,
          }),
        (error: unknown) => isDncError(error) && error.code === 'DNC_INVALID_INPUT' && error.field === field,
        JSON.stringify(policy),
      );
    }
  });
});

describe('calling policy us-states against an independent oracle (luxon wall clock)', () => {
  // Windows written here by hand from the cited texts (docs/us-state-rules.md), minutes of the local
  // day per weekday (0 Sunday): the federal 08:00-21:00 intersected with the state's. The oracle reads
  // the wall clock with luxon at each instant asked: no spans, no caches, no code shared with the policy.
  const federal = (): Record<number, Array<[number, number]>> =>
    Object.fromEntries([0, 1, 2, 3, 4, 5, 6].map((d) => [d, [[480, 1260]]]));
  const WINDOWS: Record<string, Record<number, Array<[number, number]>>> = {
    NY: federal(),
    MA: Object.fromEntries([0, 1, 2, 3, 4, 5, 6].map((d) => [d, [[480, 1200]]])),
    WA: Object.fromEntries([0, 1, 2, 3, 4, 5, 6].map((d) => [d, [[480, 1200]]])),
    NM: Object.fromEntries([0, 1, 2, 3, 4, 5, 6].map((d) => [d, [[540, 1260]]])),
    MS: { 0: [], ...Object.fromEntries([1, 2, 3, 4, 5, 6].map((d) => [d, [[540, 1200]]])) },
    CT: Object.fromEntries([0, 1, 2, 3, 4, 5, 6].map((d) => [d, [[540, 1200]]])),
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DateTime } = require('luxon') as typeof import('luxon');
  function oracle(states: readonly string[], zones: readonly string[], t: number): boolean {
    return zones.every((zone) => {
      const local = DateTime.fromMillis(t, { zone });
      const minute = local.hour * 60 + local.minute + local.second / 60 + local.millisecond / 60000;
      return states.every((state) =>
        WINDOWS[state][local.weekday % 7].some(([s, e]) => minute >= s && minute < e),
      );
    });
  }
  const contacts: Array<[unknown, readonly string[], readonly string[]]> = [
    [NY, ['NY'], ['America/New_York']],
    [MA, ['MA'], ['America/New_York']],
    [WA, ['WA'], ['America/Los_Angeles']],
    [NM, ['NM'], ['America/Denver']],
    [MS, ['MS'], ['America/Chicago']],
    ['+12035550123', ['CT'], ['America/New_York']],
    [{ phone: WA, state: 'MA' }, ['MA', 'WA'], ['America/New_York', 'America/Los_Angeles']],
    [{ phone: MS, state: 'NM' }, ['MS', 'NM'], ['America/Chicago', 'America/Denver']],
  ];
  const instants: number[] = [];
  let seed = 11;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  for (let i = 0; i < 80; i++) instants.push(Date.UTC(2026, 0, 1) + Math.floor(random() * 365 * 86_400_000));
  for (const change of ['2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z']) {
    for (let k = -8; k <= 8; k++) instants.push(Date.parse(change) + k * 1_800_000 - 1);
  }
  const service = new DncService({
    labels: [{ name: 'DNC' }],
    store: storeWith([]),
    now: () => Date.UTC(2026, 6, 1),
  });

  for (const [contact, states, zones] of contacts) {
    it(`${JSON.stringify(contact)} (${states.join(' + ')}): ${instants.length} instants agree; nextAllowedAt is the first instant all allow`, () => {
      for (const at of instants) {
        const d = service.check(contact, { policy: 'us-states', channel: 'voice', at });
        const where = `${JSON.stringify(contact)} at ${new Date(at).toISOString()}`;
        assert.equal(d.allowed, oracle(states, zones, at), where);
        if (d.allowed) continue;
        assert.ok(d.nextAllowedAt, where);
        const next = Date.parse(d.nextAllowedAt);
        assert.ok(oracle(states, zones, next), `${where}: allowed at ${d.nextAllowedAt}`);
        assert.ok(!oracle(states, zones, next - 1), `${where}: blocked just before ${d.nextAllowedAt}`);
        for (let probe = at; probe < next; probe += 900_000) {
          assert.ok(!oracle(states, zones, probe), `${where}: ${new Date(probe).toISOString()} allowed`);
        }
      }
    });
  }
});
