/**
 * US state and territory calling rules that differ from the federal floor, as data, each confirmed by reading
 * its text (statute, regulation or an official page) in the research passes of 2026-12 (round 1, then round 2:
 * AL, CT, SC, SD; docs/us-state-rules.md holds the sources, what each search found and what is not covered).
 *
 * Federal floor, which every rule here stacks on: 08:00-21:00 in the callee's local time, every day
 * (47 CFR 64.1200(c)(1); 16 CFR 310.4(c)). A state rule only narrows it.
 *
 * Every one of the 56 jurisdictions (50 states, DC, PR, VI, GU, MP, AS) is in exactly one of: US_STATE_RULES
 * (a confirmed rule that differs; a state can have several entries, one per kind of call it binds),
 * FEDERAL_ONLY (its rule was read and is no stricter than federal) or NOT_COVERED (not confirmed: never
 * guessed, with what would confirm it).
 *
 * Shape notes (deviations from the brief's sketch, and why):
 *  - `holidays` is a StateHolidays: a list of HolidayRule computed per year (fixed date, nth weekday, Easter
 *    offset, election day) with the statute's own observed-date rule. date-holidays' US-<state> calendars
 *    were not used: none of them matches a statute's list exactly (RI bans federal AND state holidays; Utah's
 *    list changed in 2025 and 2026). `holidayDates()` turns a rule into the model's 'YYYY-MM-DD' dates.
 *  - `gaps`: what the statute text read does not settle, or a stricter rule of the same state that is only
 *    reported (so the state is partly not covered even though a confirmed entry exists).
 *  - `zone` is informational: the model evaluates windows in the callee's local time, so a rule naming a
 *    fixed zone (Mississippi's "Central Standard Time") carries a window already made conservative for it.
 */
import type { CapDefinition, PolicyDefinition } from './model';

export type Weekday = 'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat';

/** How a holiday's date is found in a year. */
export type HolidayDate =
  /** A fixed day: July 4 is { month: 7, day: 4 }. */
  | { readonly month: number; readonly day: number }
  /** The nth weekday of a month, n = -1 for the last: Memorial Day is { month: 5, weekday: 'mon', n: -1 }. */
  | { readonly month: number; readonly weekday: Weekday; readonly n: number }
  /** Easter Sunday (Gregorian) plus `easter` days: Good Friday is { easter: -2 }. */
  | { readonly easter: number }
  /** The Tuesday after the first Monday of November. */
  | { readonly electionDay: true };

export interface HolidayRule {
  readonly name: string;
  readonly date: HolidayDate;
  /** Only in even years (Rhode Island's general election day). Default: every year. */
  readonly years?: 'even';
  /** Observed-date rule, as the statute gives it: days to move when the date falls on that weekday. */
  readonly observed?: Readonly<Partial<Record<Weekday, number>>>;
  /** With `observed`: whether the date itself stays a banned day too. Default false (the observed day replaces it). */
  readonly keepActual?: boolean;
}

export interface StateHolidays {
  /** Citation of the ban and of the holiday list. */
  readonly rule: string;
  readonly days: readonly HolidayRule[];
  /** Holidays the statute names that no calendar can compute (proclaimed days): a dialer must add them by hand. */
  readonly unmodelled?: string;
}

export interface StateRule {
  /** USPS code: 'FL', 'PR'. */
  readonly code: string;
  readonly name: string;
  /** Which calls it binds: 'solicitation' (every telephone solicitation), 'automated' (ADAD / prerecorded /
   * autodialed only), 'licensed' (only licensed or registered telephone sellers as the act defines them),
   * 'securities' (securities dealers and investment advisers). */
  readonly binds: 'solicitation' | 'automated' | 'licensed' | 'securities';
  /** Channels the text covers: ['voice'], or ['voice', 'sms'] where the text names texts or messages. */
  readonly channels: readonly string[];
  /** Windows in the model's format (lib/policy/model.ts); a day absent = no calls that day. Absent: federal. */
  readonly windows?: Readonly<Record<string, readonly string[]>>;
  /** A fixed zone the statute names instead of the callee's local time (informational; see header). */
  readonly zone?: string;
  readonly holidays?: StateHolidays;
  readonly caps?: readonly CapDefinition[];
  readonly citation: string;
  /** URL(s) the text was read at, ' ; '-separated. */
  readonly source: string;
  /** When the rule (or its holiday list) starts or stops being the text read: 'YYYY-MM-DD', `to` exclusive. */
  readonly effective?: { readonly from?: string; readonly to?: string };
  readonly note?: string;
  readonly gaps?: string;
}

export interface FederalOnly {
  readonly code: string;
  readonly name: string;
  readonly citation: string;
  readonly source: string;
  readonly note?: string;
}

export interface NotCovered {
  readonly code: string;
  readonly name: string;
  readonly why: string;
  readonly wouldConfirm: string;
}

/** The 56 jurisdictions a `us-states` policy must place: 50 states, DC and 5 inhabited territories. */
export const US_JURISDICTIONS: Readonly<Record<string, string>> = Object.freeze({
  AL: 'Alabama',
  AK: 'Alaska',
  AZ: 'Arizona',
  AR: 'Arkansas',
  CA: 'California',
  CO: 'Colorado',
  CT: 'Connecticut',
  DE: 'Delaware',
  DC: 'District of Columbia',
  FL: 'Florida',
  GA: 'Georgia',
  HI: 'Hawaii',
  ID: 'Idaho',
  IL: 'Illinois',
  IN: 'Indiana',
  IA: 'Iowa',
  KS: 'Kansas',
  KY: 'Kentucky',
  LA: 'Louisiana',
  ME: 'Maine',
  MD: 'Maryland',
  MA: 'Massachusetts',
  MI: 'Michigan',
  MN: 'Minnesota',
  MS: 'Mississippi',
  MO: 'Missouri',
  MT: 'Montana',
  NE: 'Nebraska',
  NV: 'Nevada',
  NH: 'New Hampshire',
  NJ: 'New Jersey',
  NM: 'New Mexico',
  NY: 'New York',
  NC: 'North Carolina',
  ND: 'North Dakota',
  OH: 'Ohio',
  OK: 'Oklahoma',
  OR: 'Oregon',
  PA: 'Pennsylvania',
  RI: 'Rhode Island',
  SC: 'South Carolina',
  SD: 'South Dakota',
  TN: 'Tennessee',
  TX: 'Texas',
  UT: 'Utah',
  VT: 'Vermont',
  VA: 'Virginia',
  WA: 'Washington',
  WV: 'West Virginia',
  WI: 'Wisconsin',
  WY: 'Wyoming',
  PR: 'Puerto Rico',
  VI: 'U.S. Virgin Islands',
  GU: 'Guam',
  MP: 'Northern Mariana Islands',
  AS: 'American Samoa',
});

// ---- holiday lists

/** 5 U.S.C. 6103(a) legal public holidays; 6103(b) moves a Saturday one to Friday and a Sunday one to Monday. */
const FEDERAL_HOLIDAYS: readonly HolidayRule[] = [
  { name: "New Year's Day", date: { month: 1, day: 1 }, observed: { sat: -1, sun: 1 }, keepActual: true },
  { name: 'Birthday of Martin Luther King, Jr.', date: { month: 1, weekday: 'mon', n: 3 } },
  { name: "Washington's Birthday", date: { month: 2, weekday: 'mon', n: 3 } },
  { name: 'Memorial Day', date: { month: 5, weekday: 'mon', n: -1 } },
  {
    name: 'Juneteenth National Independence Day',
    date: { month: 6, day: 19 },
    observed: { sat: -1, sun: 1 },
    keepActual: true,
  },
  { name: 'Independence Day', date: { month: 7, day: 4 }, observed: { sat: -1, sun: 1 }, keepActual: true },
  { name: 'Labor Day', date: { month: 9, weekday: 'mon', n: 1 } },
  { name: 'Columbus Day', date: { month: 10, weekday: 'mon', n: 2 } },
  { name: 'Veterans Day', date: { month: 11, day: 11 }, observed: { sat: -1, sun: 1 }, keepActual: true },
  { name: 'Thanksgiving Day', date: { month: 11, weekday: 'thu', n: 4 } },
  { name: 'Christmas Day', date: { month: 12, day: 25 }, observed: { sat: -1, sun: 1 }, keepActual: true },
];

/**
 * R.I. Gen. Laws 25-1-1. Its text: January 1, July 4, November 11 and December 25 are celebrated by state
 * employees on the following Monday when they fall on a Saturday or Sunday, and any listed day that falls on a
 * Sunday is kept the day after. The day itself stays named a holiday, so both are banned (keepActual).
 */
const RHODE_ISLAND_HOLIDAYS: readonly HolidayRule[] = [
  {
    name: "New Year's Day (R.I.)",
    date: { month: 1, day: 1 },
    observed: { sat: 2, sun: 1 },
    keepActual: true,
  },
  { name: "Dr. Martin Luther King, Jr.'s Birthday", date: { month: 1, weekday: 'mon', n: 3 } },
  { name: "Washington's Birthday (R.I.)", date: { month: 2, weekday: 'mon', n: 3 } },
  {
    name: 'Rhode Island Independence Day',
    date: { month: 5, day: 4 },
    observed: { sun: 1 },
    keepActual: true,
  },
  { name: 'Memorial Day (R.I.)', date: { month: 5, weekday: 'mon', n: -1 } },
  {
    name: 'Independence Day (R.I.)',
    date: { month: 7, day: 4 },
    observed: { sat: 2, sun: 1 },
    keepActual: true,
  },
  { name: 'Victory Day', date: { month: 8, weekday: 'mon', n: 2 } },
  { name: 'Labor Day (R.I.)', date: { month: 9, weekday: 'mon', n: 1 } },
  { name: 'Columbus Day (R.I.)', date: { month: 10, weekday: 'mon', n: 2 } },
  {
    name: "Veterans' Day (R.I.)",
    date: { month: 11, day: 11 },
    observed: { sat: 2, sun: 1 },
    keepActual: true,
  },
  {
    name: 'Christmas Day (R.I.)',
    date: { month: 12, day: 25 },
    observed: { sat: 2, sun: 1 },
    keepActual: true,
  },
  { name: 'Election day (general election of state officers)', date: { electionDay: true }, years: 'even' },
];

/**
 * Utah Code 63G-1-301 as in effect 2026-05-06 to 2027-01-01 (the version read). (1)(a) days move to the
 * preceding Friday / following Monday and only that day "is the legal holiday"; Juneteenth moves to a Monday
 * by (2)(c),(d); (1)(b) days are not moved. Good Friday is listed "subject to Subsection (6)", which the copy
 * read cut off: it is kept (fail closed). Every Sunday is a legal holiday too (the window bans Sunday anyway).
 */
const UTAH_HOLIDAYS_2026: readonly HolidayRule[] = [
  { name: "New Year's Day (Utah)", date: { month: 1, day: 1 }, observed: { sat: -1, sun: 1 } },
  { name: 'Independence Day (Utah)', date: { month: 7, day: 4 }, observed: { sat: -1, sun: 1 } },
  { name: 'Pioneer Day', date: { month: 7, day: 24 }, observed: { sat: -1, sun: 1 } },
  { name: 'Veterans Day (Utah)', date: { month: 11, day: 11 }, observed: { sat: -1, sun: 1 } },
  { name: 'Christmas (Utah)', date: { month: 12, day: 25 }, observed: { sat: -1, sun: 1 } },
  { name: 'Dr. Martin Luther King, Jr. Day (Utah)', date: { month: 1, weekday: 'mon', n: 3 } },
  { name: "Presidents' Day (Utah)", date: { month: 2, weekday: 'mon', n: 3 } },
  { name: 'Good Friday (Utah)', date: { easter: -2 } },
  { name: 'Easter Sunday (Utah)', date: { easter: 0 } },
  { name: 'Memorial Day (Utah)', date: { month: 5, weekday: 'mon', n: -1 } },
  { name: 'Labor Day (Utah)', date: { month: 9, weekday: 'mon', n: 1 } },
  { name: 'Columbus Day (Utah)', date: { month: 10, weekday: 'mon', n: 2 } },
  { name: 'Thanksgiving Day (Utah)', date: { month: 11, weekday: 'thu', n: 4 } },
  {
    name: 'Juneteenth National Freedom Day (Utah)',
    date: { month: 6, day: 19 },
    observed: { tue: -1, wed: -2, thu: -3, fri: -4, sat: 2, sun: 1 },
  },
];

// ---- the rules

/**
 * Round 2 read several statutes in a public repository that vendors the state codes verbatim with each
 * section's source URL (saint1415/us-statutes, data branch, Justia text, 2026-02): `search` only returns the
 * opening of long statute pages, so the clause itself was never reached there. Cited next to the source URL.
 */
const REPO = 'https://github.com/saint1415/us-statutes/tree/data/data/states';

export const US_STATE_RULES: readonly StateRule[] = [
  {
    code: 'AL',
    name: 'Alabama',
    binds: 'automated',
    channels: ['voice'],
    windows: { 'mon-sat': ['08:00-20:00'] },
    holidays: {
      rule: 'Ala. Admin. Code r. 770-X-5-.17(1)(b) ("No solicitation calls are allowed on Sundays or holidays"); "holidays" is not defined in the text read, so the federal legal public holidays (5 U.S.C. 6103) are applied as the certain minimum',
      days: FEDERAL_HOLIDAYS,
      unmodelled:
        'Alabama state holidays (Ala. Code 1-3-8, not read) that are not federal holidays must be added as dates by hand.',
    },
    citation: 'Ala. Admin. Code r. 770-X-5-.17(1)(b) (Public Service Commission, telephone rules)',
    source:
      'https://d1tvxue8o4w0fl.cloudfront.net/regulation/alabama-administrative-code/title-770-alabama-public-service-commission/chapter-770-x-5-telephone-rules/section-770-x-5-17-live-and-automated-solicitations-and-announcements',
    note: 'Mirror of the rule text (current through Register Vol. 43, No. 02, 2024-11-27). (1) applies "to all automated solicitation telephone calls to consumers in the State of Alabama": "(b) No solicitation calls are allowed on Sundays or holidays. On the days that calls are allowed, none will be placed prior to 8 a.m. or after 8 p.m." The rule names no zone: read as the consumer\'s local time (Alabama is all in America/Chicago).',
    gaps: 'Paragraph (2) of the rule (reported to apply the same hours to live solicitation calls) was cut off in the copy read: live calls are not covered by this entry. Which days are "holidays" is not defined in the text read; state-only holidays are not modelled.',
  },
  {
    code: 'CA',
    name: 'California',
    binds: 'automated',
    channels: ['voice'],
    windows: { daily: ['09:00-21:00'] },
    zone: 'America/Los_Angeles',
    citation: 'Cal. Pub. Util. Code 2872(c)',
    source: 'https://codes.findlaw.com/ca/public-utilities-code/puc-sect-2872.html',
    note: 'Automatic dialing-announcing devices only ("between 9 p.m. and 9 a.m. California time", calls received in California; exemptions in 2872(d)). Live calls follow federal.',
  },
  {
    code: 'CT',
    name: 'Connecticut',
    binds: 'solicitation',
    channels: ['voice', 'sms'],
    windows: { daily: ['09:00-20:00'] },
    citation: 'Conn. Gen. Stat. 42-288a(c) (as amended by P.A. 23-98); definitions 42-284(18),(19)',
    source: `https://law.justia.com/codes/connecticut/title-42/chapter-743m/section-42-288a/ ; https://law.justia.com/codes/connecticut/title-42/chapter-743m/section-42-284/ ; ${REPO}/connecticut`,
    note: 'Read in the Justia text as vendored (verbatim, with source URL and history note ending "P.A. 23-98, S. 13") by the public repository saint1415/us-statutes (data branch, 2026-02): "A telephonic sales call that is made to any consumer residential, mobile or telephonic paging device telephone number that is not otherwise prohibited by this section shall be limited to being conducted between the hours of nine o\'clock a.m. and eight o\'clock p.m. local time." 42-284(18) makes a "telephonic sales call" include calls by live voice, automated dialing system, recorded message device, soundboard, over-the-top messaging and text or media messaging, to a resident consumer or a Connecticut area code (42-288(c) presumption). 42-288a(l) also requires prior express written consent for every telephonic sales call (not a window).',
    gaps: 'The effective date of P.A. 23-98 (reported 2023-10-01) was not read; the window is applied at every date.',
  },
  {
    code: 'FL',
    name: 'Florida',
    binds: 'licensed',
    channels: ['voice'],
    windows: { daily: ['08:00-20:00'] },
    caps: [
      {
        limit: 3,
        hours: 24,
        scope: 'campaign',
        rule: 'Fla. Stat. 501.616(6)(b): no more than three commercial telephone solicitation phone calls from any number to a person over a 24-hour period on the same subject matter or issue',
      },
    ],
    citation: 'Fla. Stat. 501.616(6)(a),(b) (SB 1120, 2021)',
    source:
      'http://www.lawserver.com/law/state/florida/statutes/florida_statutes_501-616 ; https://flsenate.gov/Session/Bill/2021/1120/BillText/Filed/HTML',
    effective: { from: '2021-07-01' },
    note: 'Binds commercial telephone sellers and salespersons under the Florida Telemarketing Act (part IV of ch. 501, exemptions in 501.604), "including calls made through automated dialing or recorded messages"; local time in the called person\'s time zone. The general 501.059 rule keeps 08:00-21:00.',
    gaps: 'Whether the window and cap reach texts is not stated in 501.616 (the lib/policy/presets.ts "florida" preset applies them to sms too, the conservative reading). (6)(b) was read in the filed bill text; the enrolled text was read in an earlier pass.',
  },
  {
    code: 'IL',
    name: 'Illinois',
    binds: 'securities',
    channels: ['voice'],
    windows: { 'mon-sat': ['09:00-21:00'], sun: ['12:00-21:00'] },
    zone: 'America/Chicago',
    citation: '815 ILCS 5/8b(a)(2)',
    source: 'http://www.ilga.gov/legislation/ilcs/documents/081500050K8b.htm',
    note: 'Unsolicited calls by securities telephone solicitors to natural persons without an existing account relationship, "as determined in the Central Time Zone": every Illinois callee is in that zone, so it is the callee\'s local time. General solicitation: 815 ILCS 413/15(a), no calls 21:00-08:00 (federal-equal, text of 2005).',
    gaps: '815 ILCS 413/15 was read only as shown in a 2005 bill; 2024 HB 5566 amends 413/15 (content and status not read).',
  },
  {
    code: 'MA',
    name: 'Massachusetts',
    binds: 'solicitation',
    channels: ['voice'],
    windows: { daily: ['08:00-20:00'] },
    citation: '201 CMR 12.02(2) (under M.G.L. c. 159C)',
    source: 'https://regulations.justia.com/states/massachusetts/201-cmr/title-201-cmr-12-00/section-12-02',
    note: "Unsolicited telephonic sales calls, local time at the consumer's location. 12.02(4) also bans unsolicited sales calls by recorded message device (not a window: block such campaigns).",
  },
  {
    code: 'MS',
    name: 'Mississippi',
    binds: 'solicitation',
    channels: ['voice'],
    windows: { 'mon-sat': ['09:00-20:00'] },
    zone: 'UTC-06:00 (Central Standard Time)',
    citation: 'Miss. Code 77-3-723',
    source:
      'https://getpocketlaw.com/law/state_mississippi/section-77-3-723-rules-for-authorized-calls_57b73fa7ff73',
    note: '"between the hours of 8:00 a.m. and 8:00 p.m. Central Standard Time. No telephone solicitations may be made on a Sunday." Mississippi is all in America/Chicago. Read as fixed UTC-6, 08:00-20:00 CST is 09:00-21:00 local during daylight time; read as local civil time it is 08:00-20:00. The window here is the intersection all year, 09:00-20:00 local (fails closed one hour in winter mornings).',
    gaps: 'No holiday ban in 77-3-723 as read; a former PSC rule (39 Miss. Admin. Code Pt. I, R. 1:28) banned holidays and is reported repealed after HB 1225 (2023): not confirmed from the AG.',
  },
  {
    code: 'NM',
    name: 'New Mexico',
    binds: 'solicitation',
    channels: ['voice'],
    windows: { daily: ['09:00-21:00'] },
    citation: 'NMSA 1978, 57-12-22(B)(5)',
    source: 'https://law.justia.com/codes/new-mexico/2006/nmrc/jd_57-12-22-13117.html',
    note: 'Telephone solicitations for a purchase of goods or services "received before 9:00 a.m. or after 9:00 p.m."',
    gaps: 'Read in the 2006 edition only; re-read the current NMSA 57-12-22.',
  },
  {
    code: 'OK',
    name: 'Oklahoma',
    binds: 'automated',
    channels: ['voice'],
    windows: { daily: ['09:00-21:00'] },
    citation: '15 O.S. 755.1(C)(2)(a)',
    source:
      'https://self-law.org/code/ok/title-15-contracts/15-755-1 ; http://www.contactcentercompliance.com/legal/statutes/OK/15_Okl._St./755.1.adpx',
    note: 'Automatic dial announcing devices, calls terminating in Oklahoma: not before 9 a.m. or after 9 p.m.',
    gaps: 'The Telephone Solicitation Act of 2022 (15 O.S. 775C.1 et seq., HB 3168, in force 2022-11-01) binds commercial telephone sellers: the enrolled bill title confirms a time frame and a per-24-hour limit, and news and law firms report 08:00-20:00 and 3 calls per 24 h on the same subject, but 775C.4\'s text was not read (round 2: not in the corpus, not in the vendored Oklahoma title 15; a public repository cites only "775C.1 et seq." for 08:00-20:00 and 3 per 24 h). Not covered until read (the lib/policy/presets.ts "oklahoma" preset carries the reported figures).',
  },
  {
    code: 'RI',
    name: 'Rhode Island',
    binds: 'licensed',
    channels: ['voice'],
    windows: { 'mon-fri': ['09:00-18:00'], sat: ['10:00-17:00'] },
    holidays: {
      rule: 'R.I. Gen. Laws 5-61-2(2) ("Monday through Friday, except a state or federal holiday") and 5-61-3.6; state holidays: R.I. Gen. Laws 25-1-1; federal: 5 U.S.C. 6103',
      days: [...RHODE_ISLAND_HOLIDAYS, ...FEDERAL_HOLIDAYS],
      unmodelled:
        'Days the governor, the General Assembly, the President or Congress appoint as holidays (25-1-1) must be added as dates by hand.',
    },
    citation:
      'R.I. Gen. Laws 5-61-3.6, 5-61-2(2) "hours of operation" (3.6 still cites the old paragraph 5-61-2(9))',
    source:
      'http://webserver.rilin.state.ri.us/Statutes/TITLE5/5-61/5-61-3.6.HTM ; https://instalawyer.io/laws/rhode-island-general-laws/section-5-61-2-definitions ; http://statutes.laws-info.com/rhode-island/title-25/chapter-25-1/25-1-1 ; https://unicourt.github.io/cic-code-ri/transforms/ri/ocri/r71/gov.ri.code.title.25.html',
    note: 'Unsolicited telephonic sales calls by a salesperson or "telephonic seller" (a registered seller as 5-61-2 defines it) to residential, mobile or paging numbers. No Sunday window. Holidays: both the date and the day it is kept are banned (25-1-1 keeps the date named; 6103(b)\'s Friday/Monday rule is for federal pay and leave), and a holiday on a Saturday is banned although the text excepts holidays only Monday-Friday: both conservative.',
    gaps: 'The "telephonic seller" criteria in 5-61-2 were read only in part: treat every sales call as bound.',
  },
  {
    code: 'SC',
    name: 'South Carolina',
    binds: 'automated',
    channels: ['voice'],
    windows: { daily: ['08:00-19:00'] },
    citation: 'S.C. Code 16-17-446(C)(3)',
    source: `https://law.justia.com/codes/south-carolina/title-16/chapter-17/section-16-17-446/ ; ${REPO}/south-carolina`,
    note: 'ADAD calls (an automatically dialed announcing device delivering a recorded message without a live operator) that 16-17-446(B) does not prohibit "are prohibited after seven p.m. or before eight a.m." (C)(3); no zone is named: read as the callee\'s local time. Live telephone solicitations, texts included (37-21-20(6)), are federal-equal: "at any time other than between 8:00 a.m. and 9:00 p.m. local time at the consumer\'s location" (37-21-30, 2018 Act No. 218). Both read in the Justia text vendored by saint1415/us-statutes.',
    gaps: '16-17-446(A) defines ADAD calls by reference to 16-17-445(A)(3), which 2018 Act No. 218 deleted; the window is applied anyway (fail closed).',
  },
  {
    code: 'SD',
    name: 'South Dakota',
    binds: 'solicitation',
    channels: ['voice', 'sms'],
    windows: { 'mon-sat': ['09:00-21:00'] },
    citation: 'SDCL 37-30A-3(2); definitions 37-30A-1',
    source: `https://law.justia.com/codes/south-dakota/title-37/chapter-30a/section-37-30a-3/ ; https://law.justia.com/codes/south-dakota/title-37/chapter-30a/section-37-30a-1/ ; ${REPO}/south-dakota`,
    note: 'A telemarketer may not "Place unsolicited consumer telephone communications to any residence which will be received before 9 a.m. or after 9 p. m. at the consumer\'s local time or place any unsolicited consumer telephone communications on Sunday" (37-30A-3(2), SL 2020 ch 171). An "unsolicited consumer telephone communication" is a consumer telephone call "or text" (37-30A-1(5)) for consumer goods or services, with exceptions (request, existing debt or contract, existing business relationship, newspaper publishers, appointments with Title 58 licensees).',
  },
  {
    code: 'SD',
    name: 'South Dakota',
    binds: 'automated',
    channels: ['voice'],
    windows: { 'mon-fri': ['10:00-20:00'] },
    zone: 'the time in this state (Central or Mountain)',
    citation: 'SDCL 37-30-28; definitions 37-30-23, 37-30-24',
    source:
      'http://legis.state.sd.us/statutes/DisplayStatute.aspx?Type=Statute&Statute=37-30-28 ; https://law.justia.com/codes/south-dakota/title-37/chapter-30/section-37-30-23/',
    note: 'Automated telephone dialing systems (random or sequential numbers, prerecorded message, no live operator: 37-30-23) making a telephone solicitation to a residential customer (37-30-24, business-to-business excluded): only "weekdays between 9 a.m. and 9 p.m., according to the time in this state". No Saturday or Sunday.',
    gaps: '"The time in this state": South Dakota spans Central and Mountain time and the text does not say which. Read as Central time, 09:00-21:00 is 08:00-20:00 for a Mountain callee; read as Mountain time, it is 10:00-22:00 for a Central callee. The window is the intersection of both readings in either zone, 10:00-20:00 callee-local on weekdays (one hour short at each end for the callee whose zone the statute meant).',
  },
  {
    code: 'UT',
    name: 'Utah',
    binds: 'solicitation',
    channels: ['voice'],
    windows: { 'mon-sat': ['08:00-21:00'] },
    holidays: {
      rule: 'Utah Code 13-25a-103(3)(c) (no telephone solicitation on a legal holiday) and 63G-1-301 (legal holidays, version in effect 2026-05-06 to 2027-01-01)',
      days: UTAH_HOLIDAYS_2026,
      unmodelled:
        'Days proclaimed by the President or the governor as days of fasting or thanksgiving, and holidays the governor declares under 63G-1-301(2), must be added as dates by hand.',
    },
    citation: 'Utah Code 13-25a-103(3)(a)-(c); 63G-1-301',
    source:
      'https://codes.findlaw.com/ut/title-13-commerce-and-trade/ut-code-sect-13-25a-103/ ; https://self-law.org/code/ut/title-63g/chapter-1/1 ; https://writingpartners.net/documents/10600?scroll_to=56470&show_comment=com_56470',
    effective: { to: '2027-01-01' },
    note: 'Telephone solicitations to residential or cellular telephones without prior express consent: not 21:00-08:00 local time, not on a Sunday, not on a legal holiday.',
    gaps: 'The holiday list read is marked superseded on 2027-01-01; the next version was not read (2026 HB 104, introduced, would add Election Day from 2027-01-01). Until it is read the 2026 list keeps being applied after that date.',
  },
  {
    code: 'WA',
    name: 'Washington',
    binds: 'solicitation',
    channels: ['voice'],
    windows: { daily: ['08:00-20:00'] },
    citation: 'RCW 19.158.040(2)',
    source: 'https://app.leg.wa.gov/RCW/default.aspx?cite=19.158.040',
    note: 'Commercial telephone solicitors (RCW 19.158.020, with its exclusions): calls "received before 8:00 a.m. or after 8:00 p.m. at the call recipient\'s local time". Also: end the call within 10 s when asked, honour do-not-call at once (19.158.040(5),(6)).',
  },
];

export const FEDERAL_ONLY: readonly FederalOnly[] = [
  {
    code: 'MO',
    name: 'Missouri',
    citation: 'RSMo 407.1076(5)',
    source:
      'https://legalfix.com/statutes/state-codes/missouri/title-xxvi/chapter-407/section-407-1076 ; https://statutes.laws.com/missouri/t26/c407/407_1076',
    note: "Telemarketing to a consumer's residence only between 8:00 a.m. and 9:00 p.m. local time at the called consumer's location.",
  },
  {
    code: 'NY',
    name: 'New York',
    citation: 'N.Y. Gen. Bus. Law 399-z(2)',
    source:
      'https://instalawyer.io/laws/new-york-laws/399-z-telemarketing-establishment-of ; https://www.nysenate.gov/legislation/laws/GBS/399-Z/',
    note: '08:00-21:00 at the location of the customer unless the customer consented to another time; "telemarketer" includes electronic messaging texts. Reported, not read: unsolicited telemarketing sales calls are banned during a declared state of emergency (a switch, not a window).',
  },
  {
    code: 'VA',
    name: 'Virginia',
    citation: 'Va. Code 59.1-511',
    source:
      'http://law.lis.virginia.gov/vacodepopularnames/virginia-telephone-privacy-protection-act/ ; https://law.uslawyerdatabase.com/category/us-law/2022-code-of-virginia/title-59-1-trade-and-commerce/chapter-44-virginia-telephone-privacy-protection-act',
    note: '08:00-21:00 local time at the called person\'s location unless prior consent; "telephone solicitation call" includes texts to Virginia area codes or residents (59.1-510).',
  },
];

const READ_STATUTE = "read the state's telemarketing statute for a calling-hours, Sunday or holiday rule";

export const NOT_COVERED: readonly NotCovered[] = [
  {
    code: 'AK',
    name: 'Alaska',
    why: 'Not researched beyond the search for a statute (nothing found).',
    wouldConfirm: `${READ_STATUTE} (AS 45.50.475 is the usual cite).`,
  },
  {
    code: 'AZ',
    name: 'Arizona',
    why: 'No stricter rule found in earlier passes; not re-read in this one.',
    wouldConfirm: `${READ_STATUTE} (A.R.S. 44-1271 et seq.; 2026 HB 2246 pending).`,
  },
  {
    code: 'AR',
    name: 'Arkansas',
    why: 'No stricter rule found in earlier passes; not re-read in this one.',
    wouldConfirm: READ_STATUTE,
  },
  {
    code: 'CO',
    name: 'Colorado',
    why: 'Only its do-not-call list was researched.',
    wouldConfirm: `${READ_STATUTE} (C.R.S. 6-1-901 et seq.).`,
  },
  {
    code: 'DE',
    name: 'Delaware',
    why: 'Not researched (no search found a calling-hours rule).',
    wouldConfirm: READ_STATUTE,
  },
  {
    code: 'DC',
    name: 'District of Columbia',
    why: 'Not researched (no search found a calling-hours rule).',
    wouldConfirm: READ_STATUTE,
  },
  {
    code: 'GA',
    name: 'Georgia',
    why: 'Only a 2010 text of O.C.G.A. 46-5-187(3) (08:00-21:00 for telecommunications companies) was read, in an earlier pass.',
    wouldConfirm: 'Re-read O.C.G.A. 46-5-27 and 46-5-187 as in force.',
  },
  { code: 'HI', name: 'Hawaii', why: 'Not researched.', wouldConfirm: READ_STATUTE },
  {
    code: 'ID',
    name: 'Idaho',
    why: 'No stricter rule found in earlier passes; not re-read.',
    wouldConfirm: READ_STATUTE,
  },
  {
    code: 'IN',
    name: 'Indiana',
    why: 'No stricter rule found in earlier passes; not re-read.',
    wouldConfirm: READ_STATUTE,
  },
  { code: 'IA', name: 'Iowa', why: 'Not researched.', wouldConfirm: READ_STATUTE },
  {
    code: 'KS',
    name: 'Kansas',
    why: 'No stricter rule found in earlier passes; not re-read.',
    wouldConfirm: READ_STATUTE,
  },
  {
    code: 'KY',
    name: 'Kentucky',
    why: "A vendor and a public repository's code comment report KRS 367.46955(16): no solicitation \"to a person's residence at any time other than between 10 a.m. - 9 p.m. local time, at the called person's location\"; the copies read (self-law, lawserver) stop at (7). KRS 367.461(2)(e) (automated calling equipment 08:00-21:00, federal-equal) was read only on a vendor site.",
    wouldConfirm: 'Read KRS 367.46955 in full (paragraphs (8) onward) at apps.legislature.ky.gov.',
  },
  {
    code: 'LA',
    name: 'Louisiana',
    why: 'Hours (08:00-20:00), Sunday and legal-holiday bans are reported from LPSC General Order R-29617 section V(A) (residential telephonic solicitation; a public repository summarises it), not read; the vendored R.S. 45:844.x has headings only. Confirmed (LPSC page, R.S. 45:844.31): all telephonic solicitation is banned during a governor-declared emergency while the PSC must staff the Emergency Operations Center; that is a switch a dialer must set, not a window.',
    wouldConfirm: 'Read LPSC General Order R-29617 (and its holiday definition).',
  },
  {
    code: 'ME',
    name: 'Maine',
    why: 'Reported: automated calling device solicitations 09:00-17:00 Monday-Friday only, one completed call per 8 h (10 M.R.S. 1498(3)); a public repository reports that the live-call statute (1499-B) has no hours. Only a 2003 bill text of 1498 was seen (markup not visible); the vendored chapter 225 is empty.',
    wouldConfirm: 'Read the current 10 M.R.S. 1498.',
  },
  {
    code: 'MD',
    name: 'Maryland',
    why: 'Reported (news, vendor, bill synopsis): 08:00-20:00 and at most 3 calls or texts per 24 h on the same subject (Stop the Spam Calls Act, SB 90 ch. 413, from 2024-01-01). The copies of Com. Law 14-4502 read (lexace, self-law) stop at (a)(3) (consent for automated calls). A public repository quotes 14-4502(c): "to a called party during the hours between 8 p.m. and 8 a.m. in the called party\'s time zone" and a 3-per-24-h cap in (c)(2): a quotation in someone else\'s code, not the statute, so not confirmed. The "14-4503" cited by lib/policy/presets.ts is contradicted by that quotation.',
    wouldConfirm:
      'Read Md. Code, Com. Law 14-4502(c) in full (mgaleg.maryland.gov, or the 2023 session law ch. 413/414).',
  },
  {
    code: 'MI',
    name: 'Michigan',
    why: 'No hour rule in the texts read in earlier passes; not re-read.',
    wouldConfirm: READ_STATUTE,
  },
  {
    code: 'MN',
    name: 'Minnesota',
    why: 'No hour rule in the texts read in earlier passes (ADAD consent only, Minn. Stat. 325E.27); not re-read.',
    wouldConfirm: READ_STATUTE,
  },
  { code: 'MT', name: 'Montana', why: 'Not researched.', wouldConfirm: READ_STATUTE },
  {
    code: 'NE',
    name: 'Nebraska',
    why: 'Only Neb. Rev. Stat. 86-256(2)(c) was read: ADAD messages other than telephone solicitations 08:00-21:00 (federal-equal). The rule for telephone solicitations was not read.',
    wouldConfirm:
      'Read the Automatic Dialing-Announcing Devices Act and the Telemarketing and Prize Promotions Act (Neb. Rev. Stat. 86-212 et seq.).',
  },
  {
    code: 'NV',
    name: 'Nevada',
    why: "NRS 597.814(2)(a) (ADAD calls 09:00-21:00, no call-back after a hang-up) was read only on a compliance vendor's site; the vendored NRS chapter 597 (saint1415/us-statutes) has headings only.",
    wouldConfirm: 'Read NRS 597.814 at leg.state.nv.us.',
  },
  { code: 'NH', name: 'New Hampshire', why: 'Not researched.', wouldConfirm: READ_STATUTE },
  {
    code: 'NJ',
    name: 'New Jersey',
    why: 'N.J.S.A. 56:8-128(d) (no unsolicited sales call 21:00-08:00) was read in an earlier pass; not re-read in this one.',
    wouldConfirm: 'Re-read N.J.S.A. 56:8-128.',
  },
  {
    code: 'NC',
    name: 'North Carolina',
    why: 'No stricter rule found in earlier passes; not re-read.',
    wouldConfirm: READ_STATUTE,
  },
  {
    code: 'ND',
    name: 'North Dakota',
    why: 'The AG page (08:00-21:00) was read in an earlier pass; N.D.C.C. 51-28-05 itself was never read.',
    wouldConfirm: 'Read N.D.C.C. 51-28-05.',
  },
  { code: 'OH', name: 'Ohio', why: 'Not researched.', wouldConfirm: READ_STATUTE },
  {
    code: 'OR',
    name: 'Oregon',
    why: 'No stricter rule found in earlier passes; not re-read.',
    wouldConfirm: READ_STATUTE,
  },
  {
    code: 'PA',
    name: 'Pennsylvania',
    why: "73 P.S. 2245(a)(1) (no telemarketing after 9 p.m. or before 8 a.m.: federal-equal) was read on the official compilation. The holiday ban (Act 73 of 2019, from 2019-12-03) is confirmed only by a sponsor's press release and vendors, with a vendor's holiday list. Round 2 found a public repository reporting that SB 992 was enacted as Act 47 of 2026 (approved 2026-07-20, effective in 90 days: about 2026-10-18) with 'on a Sunday or after 7 p.m. or before 9 a.m.'; that is a report, not the act's text, so neither the holiday list nor the 09:00-19:00 / Sunday rule is confirmed.",
    wouldConfirm:
      'Read 73 P.S. 2245 as amended by Act 73 of 2019 and by Act 47 of 2026 (SB 992; palegis.us session law), with its definition of legal holiday and its effective date.',
  },
  {
    code: 'TN',
    name: 'Tennessee',
    why: 'Rule 1220-04-11-.02(1) and T.C.A. 47-18-1502 (08:00-21:00, federal-equal) were read in an earlier pass; only a bill summary in this one.',
    wouldConfirm: 'Re-read Tenn. Comp. R. & Regs. 1220-04-11-.02.',
  },
  {
    code: 'TX',
    name: 'Texas',
    why: 'Reported 09:00-21:00 Monday-Saturday and 12:00-21:00 Sunday (Tex. Bus. & Com. Code 301.051, "Telephone Solicitation Requirements"); round 2 found only summaries of it (code comments in public repositories) and its heading (instalawyer index); the statute copies in the corpus stop before the hours (2005 ch. 37 on Justia) and the vendored Texas code (saint1415/us-statutes) lacks the Business and Commerce Code.',
    wouldConfirm:
      'Read statutes.capitol.texas.gov/Docs/BC/htm/BC.301.htm#301.051, or Acts 2007 ch. 885 (H.B. 2278) which enacted it (and 2025 SB 140 on texts).',
  },
  { code: 'VT', name: 'Vermont', why: 'Not researched.', wouldConfirm: READ_STATUTE },
  { code: 'WV', name: 'West Virginia', why: 'Not researched.', wouldConfirm: READ_STATUTE },
  {
    code: 'WI',
    name: 'Wisconsin',
    why: 'The DATCP page (no calls before 08:00 or after 21:00) was read in an earlier pass; ATCP 127 was not re-read.',
    wouldConfirm: 'Re-read Wis. Admin. Code ATCP 127.',
  },
  {
    code: 'WY',
    name: 'Wyoming',
    why: 'Reported 08:00-20:00: a public repository quotes W.S. 40-12-302(d) ("to a consumer before the hour of 8 a.m. or after 8 p.m. local time at the consumer\'s location"); the section\'s text did not come up (cliclaw stops in 40-12-301, the vendored Wyoming title 40 has headings only). 40-12-301 (definitions) and 40-12-303 (automated sales calls, no hours) were read.',
    wouldConfirm: 'Read W.S. 40-12-302 (wyoleg.gov title 40 PDF).',
  },
  {
    code: 'PR',
    name: 'Puerto Rico',
    why: 'A 2003 law-firm newsletter reports 09:00-21:00 and at most five rings (Law 210-2003); 10 L.P.R.A. 4033 itself was not read (4034, the 5-year registry, was).',
    wouldConfirm: 'Read 10 L.P.R.A. 4033 (Ley 210-2003, art. 4).',
  },
  {
    code: 'VI',
    name: 'U.S. Virgin Islands',
    why: "No territorial rule found; the federal rules' reach to the territory was not confirmed in this pass.",
    wouldConfirm: 'Read the V.I. Code consumer-protection title for a telemarketing rule.',
  },
  {
    code: 'GU',
    name: 'Guam',
    why: 'No territorial rule found.',
    wouldConfirm: 'Read the Guam Code Annotated consumer-protection title for a telemarketing rule.',
  },
  {
    code: 'MP',
    name: 'Northern Mariana Islands',
    why: 'No territorial rule found.',
    wouldConfirm: 'Read the CNMI Commonwealth Code consumer-protection title for a telemarketing rule.',
  },
  {
    code: 'AS',
    name: 'American Samoa',
    why: 'No territorial rule found.',
    wouldConfirm: 'Read the American Samoa Code Annotated for a telemarketing rule.',
  },
];

// ---- holiday computation

const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_MS = 86_400_000;

function utcDay(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher). */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return iso(utcDay(year, month, day));
}

function nthWeekday(year: number, month: number, weekday: Weekday, n: number): number {
  const want = WEEKDAYS.indexOf(weekday);
  if (n > 0) {
    const first = utcDay(year, month, 1);
    const shift = (want - new Date(first).getUTCDay() + 7) % 7;
    return first + (shift + (n - 1) * 7) * DAY_MS;
  }
  const last = utcDay(year, month + 1, 0);
  const back = (new Date(last).getUTCDay() - want + 7) % 7;
  return last - (back + (-n - 1) * 7) * DAY_MS;
}

/** The legal date(s) a rule bans in `year`'s calendar, before clipping to the year. */
function datesOf(rule: HolidayRule, year: number): number[] {
  if (rule.years === 'even' && year % 2 !== 0) return [];
  const d = rule.date;
  let day: number;
  if ('easter' in d) day = Date.parse(easterSunday(year)) + d.easter * DAY_MS;
  else if ('electionDay' in d) day = nthWeekday(year, 11, 'mon', 1) + DAY_MS;
  else if ('weekday' in d) day = nthWeekday(year, d.month, d.weekday, d.n);
  else day = utcDay(year, d.month, d.day);
  const move = rule.observed?.[WEEKDAYS[new Date(day).getUTCDay()]];
  if (move === undefined || move === 0) return [day];
  return rule.keepActual === true ? [day, day + move * DAY_MS] : [day + move * DAY_MS];
}

/**
 * Every banned date of `year` ('YYYY-MM-DD', sorted, unique). An observed day can cross a year boundary
 * (Utah: 1 January on a Saturday is kept on the Friday before, 31 December), so neighbouring years are
 * computed and clipped to `year`.
 */
export function holidayDates(holidays: StateHolidays, year: number): string[] {
  const out = new Set<string>();
  for (const y of [year - 1, year, year + 1])
    for (const rule of holidays.days)
      for (const day of datesOf(rule, y)) {
        const text = iso(day);
        if (text.startsWith(`${year}-`)) out.add(text);
      }
  return [...out].sort();
}

/**
 * A state rule as a dnc-policy definition (lib/policy/model.ts), with its holidays expanded for `years`
 * (the model takes fixed dates). The federal window is a separate policy stacked with this one.
 */
export function toPolicyDefinition(rule: StateRule, years: readonly number[]): PolicyDefinition {
  const dates = rule.holidays ? years.flatMap((y) => holidayDates(rule.holidays as StateHolidays, y)) : [];
  return {
    name: `${rule.name} (${rule.binds})`,
    rule: rule.citation,
    channels: rule.channels,
    windows: rule.windows ?? { daily: ['08:00-21:00'] },
    ...(rule.holidays && dates.length > 0 ? { holidays: { dates, rule: rule.holidays.rule } } : {}),
    ...(rule.caps ? { caps: rule.caps } : {}),
  };
}
