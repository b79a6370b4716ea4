/**
 * The US state rules table and the NANP area-code table: structure (every jurisdiction placed once, every
 * rule compiles in the policy model and cites what was read) and behaviour a dialer relies on (holiday dates
 * worked out by hand from the statutes, windows evaluated in the callee's zone).
 */
import assert from 'node:assert/strict';
import { compileDefinition } from '../lib/policy/model';
import {
  AREA_CODE_STATE,
  NON_GEOGRAPHIC,
  NON_US_AREA_CODES,
  stateOfAreaCode,
} from '../lib/policy/nanp-area-codes';
import {
  FEDERAL_ONLY,
  NOT_COVERED,
  US_JURISDICTIONS,
  US_STATE_RULES,
  easterSunday,
  holidayDates,
  toPolicyDefinition,
  type StateHolidays,
  type StateRule,
} from '../lib/policy/us-state-rules';
import { ZoneClock } from '../lib/policy/zone-clock';

function ruleOf(code: string): StateRule {
  const rule = US_STATE_RULES.find((r) => r.code === code);
  assert.ok(rule, `${code} has a rule`);
  return rule;
}

function holidaysOf(code: string): StateHolidays {
  const h = ruleOf(code).holidays;
  assert.ok(h, `${code} has holidays`);
  return h;
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

describe('US state rules: structure', () => {
  it('places each of the 56 jurisdictions in exactly one list', () => {
    assert.equal(Object.keys(US_JURISDICTIONS).length, 56);
    const ruleCodes = new Set(US_STATE_RULES.map((r) => r.code));
    const placed = [...ruleCodes, ...FEDERAL_ONLY.map((f) => f.code), ...NOT_COVERED.map((n) => n.code)];
    assert.equal(placed.length, 56, 'no code twice across the three lists');
    assert.deepEqual([...new Set(placed)].sort(), Object.keys(US_JURISDICTIONS).sort());
  });

  it('gives a state two rule entries only when they bind different calls', () => {
    const seen = new Set<string>();
    for (const r of US_STATE_RULES) {
      const key = `${r.code}/${r.binds}`;
      assert.ok(!seen.has(key), `${key} twice`);
      seen.add(key);
    }
  });

  it('names each jurisdiction as US_JURISDICTIONS does', () => {
    for (const e of [...US_STATE_RULES, ...FEDERAL_ONLY, ...NOT_COVERED])
      assert.equal(e.name, US_JURISDICTIONS[e.code], e.code);
  });

  it('cites every confirmed rule and the URL it was read at', () => {
    for (const e of [...US_STATE_RULES, ...FEDERAL_ONLY]) {
      assert.ok(e.citation.trim().length > 5, `${e.code} citation`);
      for (const url of e.source.split(' ; '))
        assert.match(url, /^https?:\/\/\S+$/, `${e.code} source ${url}`);
    }
    for (const n of NOT_COVERED) {
      assert.ok(
        n.why.length > 10 && n.wouldConfirm.length > 10,
        `${n.code} says why and what would confirm it`,
      );
    }
  });

  it('compiles every rule in the policy model, holidays expanded for 2026 and 2027', () => {
    for (const r of US_STATE_RULES) {
      const compiled = compileDefinition(toPolicyDefinition(r, [2026, 2027]));
      assert.equal(compiled.rule, r.citation);
      assert.equal(compiled.caps.length, r.caps?.length ?? 0, r.code);
    }
  });

  it('keeps every window inside the federal 08:00-21:00 (a state rule only narrows it)', () => {
    for (const r of US_STATE_RULES) {
      assert.ok(r.windows, `${r.code} differs from federal, so it has windows`);
      for (const list of Object.values(r.windows))
        for (const w of list) {
          const [start, end] = w.split('-');
          assert.ok(minutes(start) >= minutes('08:00') && minutes(end) <= minutes('21:00'), `${r.code} ${w}`);
        }
    }
  });

  it('uses only the channel names the model knows, and a binds value from the documented set', () => {
    for (const r of US_STATE_RULES) {
      assert.ok(r.channels.length > 0 && r.channels.every((c) => c === 'voice' || c === 'sms'), r.code);
      assert.ok(['solicitation', 'automated', 'licensed', 'securities'].includes(r.binds), r.code);
    }
  });
});

describe('US state rules: holiday dates worked out by hand', () => {
  it('Easter Sunday: 2026-04-05, 2027-03-28 (Good Friday 04-03 and 03-26)', () => {
    assert.equal(easterSunday(2026), '2026-04-05');
    assert.equal(easterSunday(2027), '2027-03-28');
    assert.equal(easterSunday(2024), '2024-03-31');
  });

  // Utah Code 63G-1-301 (2026 version): fixed days move Sat->Fri, Sun->Mon (only the moved day is the holiday);
  // Juneteenth moves to a Monday; Good Friday, Easter and the Monday/Thursday holidays as they fall.
  it('Utah 2026', () => {
    assert.deepEqual(holidayDates(holidaysOf('UT'), 2026), [
      '2026-01-01', // Thu
      '2026-01-19', // 3rd Monday of January
      '2026-02-16', // 3rd Monday of February
      '2026-04-03', // Good Friday
      '2026-04-05', // Easter Sunday
      '2026-05-25', // last Monday of May
      '2026-06-15', // June 19 is a Friday: the preceding Monday
      '2026-07-03', // July 4 is a Saturday: the preceding Friday
      '2026-07-24', // Pioneer Day, a Friday
      '2026-09-07', // 1st Monday of September
      '2026-10-12', // 2nd Monday of October
      '2026-11-11', // Wed
      '2026-11-26', // 4th Thursday of November
      '2026-12-25', // Fri
    ]);
  });

  it('Utah 2027, including 1 January 2028 (a Saturday) kept on Friday 2027-12-31', () => {
    assert.deepEqual(holidayDates(holidaysOf('UT'), 2027), [
      '2027-01-01', // Fri
      '2027-01-18',
      '2027-02-15',
      '2027-03-26', // Good Friday
      '2027-03-28', // Easter Sunday
      '2027-05-31',
      '2027-06-21', // June 19 is a Saturday: the following Monday
      '2027-07-05', // July 4 is a Sunday: the following Monday
      '2027-07-23', // July 24 is a Saturday: the preceding Friday
      '2027-09-06',
      '2027-10-11',
      '2027-11-11', // Thu
      '2027-11-25',
      '2027-12-24', // December 25 is a Saturday: the preceding Friday
      '2027-12-31', // 1 January 2028 is a Saturday
    ]);
    assert.ok(
      !holidayDates(holidaysOf('UT'), 2027).includes('2027-07-04'),
      'the Sunday itself is not the holiday',
    );
  });

  // R.I. Gen. Laws 25-1-1 (date kept, and the Monday after when it is kept then) + 5 U.S.C. 6103 (date, and
  // the Friday before / Monday after), election day in even years.
  it('Rhode Island 2026', () => {
    assert.deepEqual(holidayDates(holidaysOf('RI'), 2026), [
      '2026-01-01',
      '2026-01-19',
      '2026-02-16',
      '2026-05-04', // Rhode Island Independence Day, a Monday
      '2026-05-25',
      '2026-06-19', // Juneteenth (federal), a Friday
      '2026-07-03', // July 4 on a Saturday: federal Friday
      '2026-07-04',
      '2026-07-06', // ... and the state Monday
      '2026-08-10', // Victory Day, 2nd Monday of August
      '2026-09-07',
      '2026-10-12',
      '2026-11-03', // election day: the Tuesday after the first Monday (Nov 2)
      '2026-11-11',
      '2026-11-26', // Thanksgiving (federal)
      '2026-12-25',
    ]);
  });

  it('Rhode Island 2027 (no general election; 1 January 2028 on a Saturday brings federal Friday 2027-12-31)', () => {
    assert.deepEqual(holidayDates(holidaysOf('RI'), 2027), [
      '2027-01-01',
      '2027-01-18',
      '2027-02-15',
      '2027-05-04', // a Tuesday
      '2027-05-31',
      '2027-06-18', // Juneteenth on a Saturday: federal Friday
      '2027-06-19',
      '2027-07-04', // a Sunday
      '2027-07-05', // kept Monday (state and federal)
      '2027-08-09',
      '2027-09-06',
      '2027-10-11',
      '2027-11-11',
      '2027-11-25',
      '2027-12-24', // Christmas on a Saturday: federal Friday
      '2027-12-25',
      '2027-12-27', // ... and the state Monday
      '2027-12-31',
    ]);
  });

  it('maps holidays into the model as dates that block the whole local day', () => {
    const def = toPolicyDefinition(ruleOf('UT'), [2026]);
    const compiled = compileDefinition(def);
    const denver = new ZoneClock('America/Denver');
    // Friday 2026-07-03 12:00 MDT (UTC-6) = 18:00Z: a weekday inside 08:00-21:00, banned as the observed July 4.
    assert.equal(compiled.calendar.allowedIn(denver, Date.parse('2026-07-03T18:00:00Z')), false);
    // Thursday 2026-07-02 12:00 MDT: allowed.
    assert.equal(compiled.calendar.allowedIn(denver, Date.parse('2026-07-02T18:00:00Z')), true);
  });
});

describe('US state rules: windows in the callee zone', () => {
  function allowed(code: string, zone: string, iso: string): boolean {
    const compiled = compileDefinition(toPolicyDefinition(ruleOf(code), [2026, 2027]));
    return compiled.calendar.allowedIn(new ZoneClock(zone), Date.parse(iso));
  }

  it('Rhode Island: weekdays 09:00-18:00, Saturday 10:00-17:00, no Sunday', () => {
    // 2026-12-07 is a Monday; Providence is UTC-5 in December.
    assert.equal(allowed('RI', 'America/New_York', '2026-12-07T13:59:00Z'), false, '08:59 Monday');
    assert.equal(allowed('RI', 'America/New_York', '2026-12-07T14:00:00Z'), true, '09:00 Monday');
    assert.equal(allowed('RI', 'America/New_York', '2026-12-07T23:00:00Z'), false, '18:00 Monday');
    assert.equal(allowed('RI', 'America/New_York', '2026-12-12T14:30:00Z'), false, '09:30 Saturday');
    assert.equal(allowed('RI', 'America/New_York', '2026-12-12T15:00:00Z'), true, '10:00 Saturday');
    assert.equal(allowed('RI', 'America/New_York', '2026-12-13T17:00:00Z'), false, 'Sunday noon');
  });

  it('Mississippi: 09:00-20:00 local all year (the CST reading and the local reading both hold), no Sunday', () => {
    // 2026-07-06 Monday, Jackson CDT (UTC-5): 08:30 local = 07:30 CST, outside both readings.
    assert.equal(allowed('MS', 'America/Chicago', '2026-07-06T13:30:00Z'), false);
    assert.equal(allowed('MS', 'America/Chicago', '2026-07-06T14:00:00Z'), true, '09:00 CDT = 08:00 CST');
    assert.equal(allowed('MS', 'America/Chicago', '2026-07-07T01:00:00Z'), false, '20:00 CDT');
    assert.equal(allowed('MS', 'America/Chicago', '2026-07-05T17:00:00Z'), false, 'Sunday noon');
  });

  it('Illinois securities: Sunday from noon, other days from 09:00, to 21:00', () => {
    // 2026-12-13 Sunday, Chicago CST (UTC-6).
    assert.equal(allowed('IL', 'America/Chicago', '2026-12-13T17:59:00Z'), false, '11:59 Sunday');
    assert.equal(allowed('IL', 'America/Chicago', '2026-12-13T18:00:00Z'), true, '12:00 Sunday');
    assert.equal(allowed('IL', 'America/Chicago', '2026-12-14T15:00:00Z'), true, '09:00 Monday');
  });

  it('Florida (licensed sellers): 08:00-20:00 and 3 calls per 24 h on the same subject', () => {
    const fl = ruleOf('FL');
    assert.deepEqual(fl.windows, { daily: ['08:00-20:00'] });
    assert.deepEqual(
      fl.caps?.map((c) => [c.limit, c.hours, c.scope]),
      [[3, 24, 'campaign']],
    );
    assert.equal(allowed('FL', 'America/New_York', '2026-12-08T00:59:00Z'), true, '19:59 Miami');
    assert.equal(allowed('FL', 'America/New_York', '2026-12-08T01:00:00Z'), false, '20:00 Miami');
  });
});

describe('NANP area codes', () => {
  it('holds the 380 US codes, 77 non-US and 31 non-geographic of the NANPA file, with no overlap', () => {
    assert.equal(Object.keys(AREA_CODE_STATE).length, 380);
    assert.equal(Object.keys(NON_US_AREA_CODES).length, 77);
    assert.equal(Object.keys(NON_GEOGRAPHIC).length, 31);
    for (const npa of Object.keys(AREA_CODE_STATE)) {
      assert.match(npa, /^[2-9]\d\d$/);
      assert.ok(!(npa in NON_US_AREA_CODES) && !(npa in NON_GEOGRAPHIC), npa);
    }
  });

  it('gives every state, DC and territory at least one code, and maps only to them', () => {
    const covered = new Set(Object.values(AREA_CODE_STATE));
    assert.deepEqual([...covered].sort(), Object.keys(US_JURISDICTIONS).sort());
  });

  it('maps known codes', () => {
    const known: Record<string, string> = {
      '212': 'NY',
      '787': 'PR',
      '939': 'PR',
      '340': 'VI',
      '671': 'GU',
      '670': 'MP',
      '684': 'AS',
      '202': 'DC',
      '907': 'AK',
      '808': 'HI',
      '305': 'FL',
      '405': 'OK',
      '401': 'RI',
      '801': 'UT',
      '601': 'MS',
      '213': 'CA',
      '312': 'IL',
      '206': 'WA',
      '505': 'NM',
      '617': 'MA',
    };
    for (const [npa, state] of Object.entries(known)) assert.equal(stateOfAreaCode(npa), state, npa);
  });

  it('keeps Canadian and Caribbean codes and non-geographic codes out of the state table', () => {
    for (const npa of ['416', '604', '809', '876', '242', '441']) {
      assert.equal(stateOfAreaCode(npa), null, npa);
      assert.ok(npa in NON_US_AREA_CODES, npa);
    }
    assert.equal(NON_US_AREA_CODES['416'], 'Canada');
    for (const npa of ['800', '833', '844', '855', '866', '877', '888', '900', '500', '700', '710']) {
      assert.equal(stateOfAreaCode(npa), null, npa);
      assert.ok(npa in NON_GEOGRAPHIC, npa);
    }
    for (const npa of ['555', '911', '000', '999', 'abc', '']) assert.equal(stateOfAreaCode(npa), null, npa);
    assert.equal(stateOfAreaCode('toString'), null, 'no prototype keys');
  });
});

// Round 2: rules read in the statutes' text (AL r. 770-X-5-.17(1)(b), CT 42-288a(c), SC 16-17-446(C)(3),
// SD 37-30A-3(2) and 37-30-28). Every instant below was converted to UTC by hand: EST/CST in December
// (UTC-5/UTC-6), EDT/CDT in July (UTC-4/UTC-5), MST in December (UTC-7).
describe('US state rules, round 2: windows worked out by hand from the text read', () => {
  function entry(code: string, binds: StateRule['binds']): StateRule {
    const rule = US_STATE_RULES.find((r) => r.code === code && r.binds === binds);
    assert.ok(rule, `${code}/${binds} has a rule`);
    return rule;
  }
  function allowed(rule: StateRule, zone: string, iso: string): boolean {
    const compiled = compileDefinition(toPolicyDefinition(rule, [2026, 2027]));
    return compiled.calendar.allowedIn(new ZoneClock(zone), Date.parse(iso));
  }

  it('places 14 states with confirmed rules, 3 federal-only and 39 not covered', () => {
    assert.equal(new Set(US_STATE_RULES.map((r) => r.code)).size, 14);
    assert.equal(FEDERAL_ONLY.length, 3);
    assert.equal(NOT_COVERED.length, 39);
    for (const code of ['AL', 'CT', 'SC', 'SD'])
      assert.ok(!NOT_COVERED.some((n) => n.code === code), `${code} left the not-covered list`);
  });

  it('Connecticut: 09:00-20:00 every day ("nine o\'clock a.m. and eight o\'clock p.m. local time"), texts too', () => {
    const ct = entry('CT', 'solicitation');
    assert.deepEqual(ct.channels, ['voice', 'sms'], '42-284(18) names text or media messaging');
    // Monday 2026-12-07, Hartford EST.
    assert.equal(allowed(ct, 'America/New_York', '2026-12-07T13:59:00Z'), false, '08:59');
    assert.equal(allowed(ct, 'America/New_York', '2026-12-07T14:00:00Z'), true, '09:00');
    assert.equal(allowed(ct, 'America/New_York', '2026-12-08T00:59:00Z'), true, '19:59');
    assert.equal(allowed(ct, 'America/New_York', '2026-12-08T01:00:00Z'), false, '20:00');
    // No Sunday rule in 42-288a: Sunday 2026-12-13 10:00 EST is allowed.
    assert.equal(allowed(ct, 'America/New_York', '2026-12-13T15:00:00Z'), true, 'Sunday 10:00');
  });

  it('South Carolina ADAD calls: "prohibited after seven p.m. or before eight a.m.", any day', () => {
    const sc = entry('SC', 'automated');
    // Monday 2026-07-06, Columbia EDT.
    assert.equal(allowed(sc, 'America/New_York', '2026-07-06T11:59:00Z'), false, '07:59');
    assert.equal(allowed(sc, 'America/New_York', '2026-07-06T12:00:00Z'), true, '08:00');
    assert.equal(allowed(sc, 'America/New_York', '2026-07-06T22:59:00Z'), true, '18:59');
    assert.equal(allowed(sc, 'America/New_York', '2026-07-06T23:00:00Z'), false, '19:00');
    assert.equal(allowed(sc, 'America/New_York', '2026-07-05T16:00:00Z'), true, 'Sunday noon: no Sunday ban');
    assert.equal(
      US_STATE_RULES.some((r) => r.code === 'SC' && r.binds === 'solicitation'),
      false,
      'live calls (37-21-30, 08:00-21:00) are federal-equal: no entry',
    );
  });

  it("South Dakota telemarketers: 09:00-21:00 at the consumer's local time, never on Sunday, texts too", () => {
    const sd = entry('SD', 'solicitation');
    assert.deepEqual(sd.channels, ['voice', 'sms'], '37-30A-1(5): a consumer telephone call or text');
    // Saturday 2026-12-12, Sioux Falls CST.
    assert.equal(allowed(sd, 'America/Chicago', '2026-12-12T14:59:00Z'), false, 'Saturday 08:59');
    assert.equal(allowed(sd, 'America/Chicago', '2026-12-12T15:00:00Z'), true, 'Saturday 09:00');
    assert.equal(allowed(sd, 'America/Chicago', '2026-12-13T02:59:00Z'), true, 'Saturday 20:59');
    assert.equal(allowed(sd, 'America/Chicago', '2026-12-13T03:00:00Z'), false, 'Saturday 21:00');
    assert.equal(allowed(sd, 'America/Chicago', '2026-12-13T18:00:00Z'), false, 'Sunday noon');
    // Rapid City is on Mountain time: Monday 2026-12-14 09:00 MST = 16:00Z.
    assert.equal(allowed(sd, 'America/Denver', '2026-12-14T16:00:00Z'), true, 'Monday 09:00 MST');
    assert.equal(allowed(sd, 'America/Denver', '2026-12-14T15:59:00Z'), false, 'Monday 08:59 MST');
  });

  it('South Dakota automated dialing: weekdays only, 10:00-20:00 local (both readings of "the time in this state")', () => {
    const sd = entry('SD', 'automated');
    // Monday 2026-12-14. Central reading 09:00-21:00 CST; Mountain reading 09:00-21:00 MST = 10:00-22:00 CST.
    assert.equal(
      allowed(sd, 'America/Chicago', '2026-12-14T15:30:00Z'),
      false,
      '09:30 CST: before the Mountain reading',
    );
    assert.equal(allowed(sd, 'America/Chicago', '2026-12-14T16:00:00Z'), true, '10:00 CST');
    assert.equal(allowed(sd, 'America/Chicago', '2026-12-15T01:59:00Z'), true, '19:59 CST');
    assert.equal(allowed(sd, 'America/Chicago', '2026-12-15T02:00:00Z'), false, '20:00 CST');
    // Mountain callee: the Central reading ends at 20:00 MST, the Mountain reading starts at 09:00 MST.
    assert.equal(allowed(sd, 'America/Denver', '2026-12-15T02:59:00Z'), true, '19:59 MST');
    assert.equal(allowed(sd, 'America/Denver', '2026-12-15T03:00:00Z'), false, '20:00 MST');
    assert.equal(
      allowed(sd, 'America/Chicago', '2026-12-12T18:00:00Z'),
      false,
      'Saturday noon: weekdays only',
    );
  });

  it('Alabama automated solicitation: Mon-Sat 08:00-20:00, no Sundays', () => {
    const al = entry('AL', 'automated');
    // Monday 2026-12-07, Montgomery CST.
    assert.equal(allowed(al, 'America/Chicago', '2026-12-07T13:59:00Z'), false, '07:59');
    assert.equal(allowed(al, 'America/Chicago', '2026-12-07T14:00:00Z'), true, '08:00');
    assert.equal(allowed(al, 'America/Chicago', '2026-12-08T01:59:00Z'), true, '19:59');
    assert.equal(allowed(al, 'America/Chicago', '2026-12-08T02:00:00Z'), false, '20:00');
    assert.equal(allowed(al, 'America/Chicago', '2026-12-05T18:00:00Z'), true, 'Saturday noon');
    assert.equal(allowed(al, 'America/Chicago', '2026-12-06T18:00:00Z'), false, 'Sunday noon');
  });

  it('Alabama holidays: the federal legal public holidays with 6103(b) Friday/Monday, date kept too', () => {
    const h = entry('AL', 'automated').holidays;
    assert.ok(h);
    assert.deepEqual(holidayDates(h, 2026), [
      '2026-01-01',
      '2026-01-19',
      '2026-02-16',
      '2026-05-25',
      '2026-06-19', // a Friday
      '2026-07-03', // July 4 is a Saturday: Friday before
      '2026-07-04',
      '2026-09-07',
      '2026-10-12',
      '2026-11-11',
      '2026-11-26',
      '2026-12-25',
    ]);
    assert.deepEqual(holidayDates(h, 2027), [
      '2027-01-01',
      '2027-01-18',
      '2027-02-15',
      '2027-05-31',
      '2027-06-18', // June 19 is a Saturday
      '2027-06-19',
      '2027-07-04', // a Sunday
      '2027-07-05',
      '2027-09-06',
      '2027-10-11',
      '2027-11-11',
      '2027-11-25',
      '2027-12-24', // December 25 is a Saturday
      '2027-12-25',
      '2027-12-31', // 1 January 2028 is a Saturday
    ]);
    const al = entry('AL', 'automated');
    // Thanksgiving Thursday 2026-11-26 12:00 CST is banned; the Wednesday before is not.
    assert.equal(allowed(al, 'America/Chicago', '2026-11-26T18:00:00Z'), false, 'Thanksgiving noon');
    assert.equal(allowed(al, 'America/Chicago', '2026-11-25T18:00:00Z'), true, 'day before, noon');
    // Friday 2026-07-03 10:00 CDT = 15:00Z: the observed Independence Day.
    assert.equal(allowed(al, 'America/Chicago', '2026-07-03T15:00:00Z'), false, 'observed July 4');
  });
});
