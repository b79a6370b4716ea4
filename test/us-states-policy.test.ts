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
const GU = '+16715550123';
const VI = '+13405550123';
// 684-555 is not a valid American Samoa exchange for libphonenumber: its own example number.
const AS = '+16846221234';
const MP = '+16705550123';
const HI = '+18085550123';
const AK = '+19075550123';
const PHX = '+16025550123';
const IL = '+13125550123';
const OK = '+14055550123';

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
  // Territories and the zones far from the mainland (no territory rule is confirmed: federal only).
  {
    id: 'uss-51',
    contact: GU,
    at: '2026-01-15T11:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-15T22:00:00.000Z',
    why: 'Guam (671, ChST UTC+10) Thu 21:30: federal 08:00-21:00; Fri 08:00 ChST',
  },
  {
    id: 'uss-52',
    contact: GU,
    at: '2026-01-15T22:00:00.000Z',
    allowed: true,
    why: 'Guam Fri 08:00 ChST',
  },
  {
    id: 'uss-53',
    contact: VI,
    at: '2026-07-16T00:30:00.000Z',
    allowed: true,
    why: 'US Virgin Islands (340, AST UTC-4, no daylight saving) Wed 20:30',
  },
  {
    id: 'uss-54',
    contact: VI,
    at: '2026-07-16T01:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-16T12:00:00.000Z',
    why: 'US Virgin Islands Wed 21:00 AST; Thu 08:00 AST',
  },
  {
    id: 'uss-55',
    contact: AS,
    at: '2026-01-15T18:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-15T19:00:00.000Z',
    why: 'American Samoa (684, SST UTC-11) Thu 07:30; 08:00 SST',
  },
  {
    id: 'uss-56',
    contact: MP,
    at: '2026-01-15T21:59:59.999Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-15T22:00:00.000Z',
    why: 'Northern Mariana Islands (670, ChST) Fri 07:59:59.999; 08:00 ChST',
  },
  {
    id: 'uss-57',
    contact: PR,
    at: '2026-01-16T00:59:59.999Z',
    allowed: true,
    why: 'Puerto Rico Thu 20:59:59.999 AST',
  },
  {
    id: 'uss-58',
    contact: PR,
    at: '2026-01-16T01:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T12:00:00.000Z',
    why: 'Puerto Rico Thu 21:00 AST (half-open); Fri 08:00 AST',
  },
  {
    id: 'uss-59',
    contact: HI,
    at: '2026-07-15T18:30:00.000Z',
    allowed: true,
    why: 'Hawaii (808, HST UTC-10, no daylight saving) Wed 08:30: no confirmed Hawaii rule',
  },
  {
    id: 'uss-60',
    contact: HI,
    at: '2026-07-16T07:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-16T18:00:00.000Z',
    why: 'Hawaii Wed 21:00 HST; Thu 08:00 HST',
  },
  {
    id: 'uss-61',
    contact: AK,
    at: '2026-07-16T04:30:00.000Z',
    allowed: true,
    why: 'Alaska (907) Wed 20:30 AKDT, 19:30 HDT on the Aleutians',
  },
  {
    id: 'uss-62',
    contact: AK,
    at: '2026-07-16T15:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-16T17:00:00.000Z',
    why: 'Alaska Thu 07:30 AKDT: 907 reaches the Aleutians too (HDT UTC-9), open at 08:00 HDT = 17:00Z',
  },
  // Daylight saving changes: Sunday 8 March and Sunday 1 November 2026.
  {
    id: 'uss-63',
    contact: MA,
    at: '2026-03-08T12:30:00.000Z',
    allowed: true,
    why: 'MA Sun 8 Mar 08:30 EDT (clocks went forward at 07:00Z); Massachusetts has no Sunday rule',
  },
  {
    id: 'uss-64',
    contact: MA,
    at: '2026-03-08T11:30:00.000Z',
    allowed: false,
    reasons: [...OUT, ...OUT],
    next: '2026-03-08T12:00:00.000Z',
    why: 'MA Sun 8 Mar 07:30 EDT: federal and Massachusetts both open at 08:00 EDT, 12:00Z, not 13:00Z',
  },
  {
    id: 'uss-65',
    contact: WA,
    at: '2026-11-01T15:30:00.000Z',
    allowed: false,
    reasons: [...OUT, ...OUT],
    next: '2026-11-01T16:00:00.000Z',
    why: 'WA Sun 1 Nov 07:30 PST (clocks went back at 09:00Z): federal and Washington both open at 08:00 PST',
  },
  {
    id: 'uss-66',
    contact: WA,
    at: '2026-11-02T04:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-11-02T16:00:00.000Z',
    why: 'WA Sun 1 Nov 20:00 PST (RCW 19.158.040(2) half-open); Mon 08:00 PST',
  },
  // The contact's state and the area code's: both bind.
  {
    id: 'uss-67',
    contact: { phone: FL, state: 'MS' },
    at: '2026-01-18T18:00:00.000Z',
    allowed: false,
    next: '2026-01-19T15:00:00.000Z',
    why: 'a Florida number, a Mississippi address, Sun 13:00 EST: no Sunday in Mississippi; Mon 09:00 CST (the later of 09:00 in Central and in Eastern)',
  },
  {
    id: 'uss-68',
    contact: { phone: MS, state: 'FL' },
    at: '2026-01-17T14:30:00.000Z',
    allowed: false,
    reasons: [...OUT, ...OUT],
    next: '2026-01-17T15:00:00.000Z',
    why: "a Mississippi number, a Florida address, Sat 08:30 CST: Mississippi binds by the area code from 09:00 CST, in the number's zone and in the address's (two reasons, one rule)",
  },
  {
    id: 'uss-69',
    contact: { phone: NY, zip: '33101' },
    at: '2026-01-16T01:30:00.000Z',
    allowed: false,
    next: '2026-01-16T14:00:00.000Z',
    why: 'a Miami ZIP with a New York number, Thu 20:30 EST: Florida binds (08:00-20:00) in every Florida zone; Fri 08:00 CST is the panhandle',
  },
  {
    id: 'uss-70',
    contact: { phone: TOLL_FREE, state: 'FL' },
    at: '2026-01-16T01:30:00.000Z',
    allowed: false,
    next: '2026-01-16T14:00:00.000Z',
    why: 'toll-free with a Florida address, Thu 20:30 EST / 19:30 CST: the Eastern part is closed; Fri 08:00 CST',
  },
  // Channels: federal governs calls and texts; each state the channels its text names.
  {
    id: 'uss-71',
    contact: MA,
    channel: 'email',
    at: '2026-01-16T04:00:00.000Z',
    allowed: true,
    why: 'an email to MA at 23:00 EST: no rule of this policy governs email',
  },
  {
    id: 'uss-72',
    contact: SD,
    channel: 'sms',
    at: '2026-01-17T15:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-17T16:00:00.000Z',
    why: 'a text to SD Sat 09:30 CST / 08:30 MST: 37-30A-3 09:00-21:00 in both 605 zones',
  },
  {
    id: 'uss-73',
    contact: CT,
    channel: 'sms',
    at: '2026-01-18T14:30:00.000Z',
    allowed: true,
    why: 'a text to CT Sun 09:30 EST: Connecticut allows every day 09:00-20:00',
  },
  {
    id: 'uss-74',
    contact: FL,
    channel: 'sms',
    at: '2026-01-16T01:30:00.000Z',
    allowed: true,
    why: 'a text to FL Thu 20:30 EST: 501.616(6) applied to calls only here; federal 21:00',
  },
  {
    id: 'uss-75',
    contact: UT,
    channel: 'sms',
    at: '2026-01-18T19:00:00.000Z',
    allowed: true,
    why: 'a text to UT Sun 12:00 MST: 13-25a-103 applied to calls only',
  },
  {
    id: 'uss-76',
    contact: NY,
    channel: 'sms',
    at: '2026-01-16T02:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-16T13:00:00.000Z',
    why: 'a text to NY Thu 21:30 EST: federal 08:00-21:00 governs texts; Fri 08:00 EST',
  },
  // Utah's legal holidays of 2026 (63G-1-301).
  {
    id: 'uss-77',
    contact: UT,
    at: '2026-04-03T18:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-04-04T14:00:00.000Z',
    why: 'UT Good Friday 3 Apr 12:00 MDT (Easter 5 April); Sat 08:00 MDT',
  },
  {
    id: 'uss-78',
    contact: UT,
    at: '2026-11-26T19:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-11-27T15:00:00.000Z',
    why: 'UT Thanksgiving Thu 26 Nov 12:00 MST; Fri 08:00 MST (the day after is not a Utah holiday)',
  },
  {
    id: 'uss-79',
    contact: UT,
    at: '2026-11-11T17:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-11-12T15:00:00.000Z',
    why: 'UT Veterans Day Wed 11 Nov 10:00 MST; Thu 08:00 MST',
  },
  {
    id: 'uss-80',
    contact: UT,
    at: '2026-12-25T17:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-12-26T15:00:00.000Z',
    why: 'UT Christmas Fri 25 Dec 10:00 MST; Sat 08:00 MST',
  },
  {
    id: 'uss-81',
    contact: UT,
    at: '2026-10-12T16:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-10-13T14:00:00.000Z',
    why: 'UT Columbus Day Mon 12 Oct 10:00 MDT (second Monday); Tue 08:00 MDT',
  },
  {
    id: 'uss-82',
    contact: UT,
    at: '2026-07-25T14:30:00.000Z',
    allowed: true,
    why: 'UT Sat 25 Jul 08:30 MDT: Pioneer Day fell on the Friday and is kept that day',
  },
  // Rhode Island's state and federal holidays (25-1-1, 5 U.S.C. 6103).
  {
    id: 'uss-83',
    contact: RI,
    at: '2026-05-25T16:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-05-26T13:00:00.000Z',
    why: 'RI Memorial Day Mon 25 May 12:00 EDT; Tue 09:00 EDT',
  },
  {
    id: 'uss-84',
    contact: RI,
    at: '2026-05-04T16:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-05-05T13:00:00.000Z',
    why: 'RI Independence Day (4 May, a Monday in 2026) 12:00 EDT; Tue 09:00 EDT',
  },
  {
    id: 'uss-85',
    contact: RI,
    at: '2026-07-03T16:00:00.000Z',
    allowed: false,
    reasons: ['HOLIDAY'],
    next: '2026-07-07T13:00:00.000Z',
    why: 'RI Fri 3 Jul 12:00 EDT: Independence Day falls on a Saturday: federal employees keep Friday (6103(b)), Rhode Island the following Monday (25-1-1), and the day itself stays a holiday; Tue 09:00 EDT',
  },
  {
    id: 'uss-86',
    contact: RI,
    at: '2026-07-14T21:59:00.000Z',
    allowed: true,
    why: 'RI Tue 14 Jul 17:59 EDT: weekdays 09:00-18:00',
  },
  // Florida's three calls a day on one subject (501.616(6)(b)).
  {
    id: 'uss-87',
    contact: FL,
    campaign: 'roof',
    attempts: ['2026-01-15T13:00:00.000Z', '2026-01-15T14:00:00.000Z'],
    at: '2026-01-15T16:00:00.000Z',
    allowed: true,
    why: 'FL: two calls Thu 08:00 and 09:00 EST, a third at 11:00 EST is allowed',
  },
  {
    id: 'uss-88',
    contact: FL,
    campaign: 'roof',
    attempts: ['2026-01-15T13:00:00.000Z', '2026-01-15T14:00:00.000Z', '2026-01-15T15:00:00.000Z'],
    at: '2026-01-16T12:59:00.000Z',
    allowed: false,
    next: '2026-01-16T13:00:00.000Z',
    why: 'FL: three calls Thu from 08:00 EST; Fri 07:59 EST is before the window and within 24 h of the first; both clear Fri 08:00 EST',
  },
  // Rules of other kinds of calls (`calls`).
  {
    id: 'uss-89',
    contact: IL,
    policy: { jurisdiction: 'us-states', calls: ['securities'] },
    at: '2026-01-18T17:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-18T18:00:00.000Z',
    why: 'IL securities solicitation Sun 11:30 CST: 815 ILCS 5/8b(a)(2) Sundays 12:00-21:00',
  },
  {
    id: 'uss-90',
    contact: IL,
    at: '2026-01-18T17:30:00.000Z',
    allowed: true,
    why: 'the same sales call under the default kinds: 5/8b binds securities solicitors only',
  },
  {
    id: 'uss-91',
    contact: IL,
    policy: { jurisdiction: 'us-states', calls: ['securities'] },
    at: '2026-01-19T14:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-19T15:00:00.000Z',
    why: 'IL securities Mon 08:30 CST: from 09:00 on weekdays (no holiday rule)',
  },
  {
    id: 'uss-92',
    contact: OK,
    policy: { jurisdiction: 'us-states', calls: ['automated'] },
    at: '2026-01-15T14:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-15T15:00:00.000Z',
    why: 'OK automated call Thu 08:30 CST: 15 O.S. 755.1(C)(2)(a) 09:00-21:00',
  },
  {
    id: 'uss-93',
    contact: OK,
    at: '2026-01-15T14:30:00.000Z',
    allowed: true,
    why: 'the same, a live sales call: 755.1 binds automated calls; federal from 08:00',
  },
  {
    id: 'uss-94',
    contact: SD,
    policy: { jurisdiction: 'us-states', calls: ['automated'] },
    at: '2026-01-17T18:00:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-01-19T17:00:00.000Z',
    why: 'SD automated call Sat 12:00 CST: SDCL 37-30-28 weekdays 10:00-20:00; Mon 10:00 MST (17:00Z) opens the Mountain part last',
  },
  {
    id: 'uss-95',
    contact: PHX,
    at: '2026-07-16T03:30:00.000Z',
    allowed: false,
    reasons: OUT,
    next: '2026-07-16T15:00:00.000Z',
    why: "Phoenix (602) Wed 20:30 MST: libphonenumber's prefix map gives it both Arizona zones, and on the Navajo Nation (Denver time, daylight saving) it is 21:30; Thu 08:00 MST",
  },
  {
    id: 'uss-96',
    contact: { phone: PHX, timezone: 'America/Phoenix' },
    at: '2026-07-16T03:30:00.000Z',
    allowed: true,
    why: "the same with the contact's own zone, Phoenix: 20:30 MST, Arizona keeps no daylight saving",
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
