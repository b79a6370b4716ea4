/**
 * Region presets: starting points, not legal advice. Each cites the rule it encodes (see
 * ../shared/COMPLIANCE.md for the sources gathered by the team). Every field can be edited in the
 * dnc-policy node; a flow designer must check the rules that bind their own calls.
 *
 * Channels: the US rules treat a text as a call (TCPA; Florida, Oklahoma and Maryland name texts), so
 * those presets govern voice and sms; Regulation F's call limits are about calls; the Canadian,
 * Australian, French and UK rules are about telephone calls. A check whose channel is unknown is always
 * governed (fail closed); email and other channels are not, unless the definition lists them.
 */
import { AU_STATES } from './holiday-regions';
import type { HolidayDefinition, PolicyDefinition } from './model';

const TCPA =
  '47 CFR 64.1200(c)(1) (TCPA) and 16 CFR 310.4(c) (TSR): no calls before 8 a.m. or after 9 p.m. local time';

/**
 * The Standard bars calls on a "national public holiday" (ACMA's and the Do Not Call Register's pages
 * on the Standard); its definition of the term was not read. The preset bars the national days (as
 * date-holidays lists them for AU) and every public holiday of each state or territory the callee may
 * be in: a superset under any reading of the term, by the callee's state (holiday-regions.ts: the
 * contact's state or postcode, else the area code; a mobile binds every state's).
 */
const AU_HOLIDAYS = (calls: string): HolidayDefinition => ({
  country: 'AU',
  types: ['public'],
  rule: `Telecommunications (Telemarketing and Research Calls) Industry Standard 2017: no ${calls} on a national public holiday; barred here: the national days and the public holidays of the callee's state or territory (the conservative reading: the Standard's definition of "national public holiday" is unconfirmed)`,
  regions: Object.fromEntries(AU_STATES.map((state) => [`AU-${state}`, {}])),
});

const ALSACE_MOSELLE =
  "Code du travail, art. L. 3134-13: in Moselle, Bas-Rhin and Haut-Rhin, Good Friday (in communes with a Protestant or mixed church: every commune is barred here, the callee's commune being unknown) and 26 December are public holidays";

export const PRESETS: Readonly<Record<string, PolicyDefinition>> = {
  'us-federal': {
    name: 'US federal (TCPA / TSR)',
    preset: 'us-federal',
    channels: ['voice', 'sms'],
    rule: TCPA,
    windows: { daily: ['08:00-21:00'] },
  },
  florida: {
    name: 'Florida (FTSA)',
    preset: 'florida',
    channels: ['voice', 'sms'],
    rule: 'Fla. Stat. 501.616(6)(a) (FTSA, as amended by SB 1120, 2021): no calls before 8 a.m. or after 8 p.m.',
    windows: { daily: ['08:00-20:00'] },
    caps: [
      {
        limit: 3,
        hours: 24,
        scope: 'campaign',
        rule: 'Fla. Stat. 501.616(6)(b): at most 3 commercial telephonic sales calls per 24 h on the same subject',
      },
    ],
  },
  oklahoma: {
    name: 'Oklahoma (OTSA)',
    preset: 'oklahoma',
    channels: ['voice', 'sms'],
    rule: 'Okla. Stat. tit. 15, 775C.4 (Oklahoma Telephone Solicitation Act, 2022): no calls before 8 a.m. or after 8 p.m.',
    windows: { daily: ['08:00-20:00'] },
    caps: [
      {
        limit: 3,
        hours: 24,
        scope: 'campaign',
        rule: 'Okla. Stat. tit. 15, 775C.4: at most 3 commercial telephonic sales calls per 24 h on the same subject',
      },
    ],
  },
  maryland: {
    name: 'Maryland (Stop the Spam Calls Act)',
    preset: 'maryland',
    channels: ['voice', 'sms'],
    rule: 'Md. Code, Com. Law 14-4503 (Stop the Spam Calls Act, in force 1 Jan 2024): no calls or texts before 8 a.m. or after 8 p.m.',
    windows: { daily: ['08:00-20:00'] },
    caps: [
      {
        limit: 3,
        hours: 24,
        scope: 'campaign',
        rule: 'Md. Code, Com. Law 14-4503: at most 3 telephone solicitations (calls or texts) per 24 h on the same subject',
      },
    ],
  },
  'us-debt-collection': {
    name: 'US debt collection (Regulation F)',
    preset: 'us-debt-collection',
    // Every communication, not only calls: 1006.6(b)(1)(i) is about communicating, which 1006.2(d)
    // defines through any medium (texts, email, voicemail). The call limits of 1006.14 are about
    // telephone calls, so the cap and the cooling-off name the voice channel.
    rule: '12 CFR 1006.6(b)(1)(i) (Regulation F): communicating before 8 a.m. or after 9 p.m. local time is presumed inconvenient; communications through any medium (1006.2(d))',
    windows: { daily: ['08:00-21:00'] },
    caps: [
      {
        limit: 7,
        days: 7,
        scope: 'campaign',
        channels: ['voice'],
        rule: '12 CFR 1006.14(b)(2)(i)(A): more than 7 telephone calls within 7 consecutive days about a debt is presumed harassment',
      },
    ],
    coolingOff: [
      {
        after: 'conversation',
        days: 7,
        scope: 'campaign',
        channels: ['voice'],
        rule: '12 CFR 1006.14(b)(2)(i)(B): a telephone call within 7 days after a telephone conversation about the debt is presumed harassment',
      },
    ],
  },
  canada: {
    name: 'Canada (CRTC Telemarketing Rules)',
    preset: 'canada',
    channels: ['voice'],
    rule: 'CRTC Unsolicited Telecommunications Rules, Part III (Telemarketing Rules): weekdays 9:00 a.m.-9:30 p.m., weekends 10:00 a.m.-6:00 p.m., called party local time',
    windows: { 'mon-fri': ['09:00-21:30'], 'sat-sun': ['10:00-18:00'] },
  },
  'australia-telemarketing': {
    name: 'Australia, telemarketing calls',
    preset: 'australia-telemarketing',
    channels: ['voice'],
    rule: 'Telecommunications (Telemarketing and Research Calls) Industry Standard 2017, calling hours: weekdays 9 a.m.-8 p.m., Saturday 9 a.m.-5 p.m., no Sunday',
    windows: { 'mon-fri': ['09:00-20:00'], sat: ['09:00-17:00'] },
    holidays: AU_HOLIDAYS('telemarketing calls'),
  },
  'australia-research': {
    name: 'Australia, research calls',
    preset: 'australia-research',
    channels: ['voice'],
    rule: 'Telecommunications (Telemarketing and Research Calls) Industry Standard 2017, research calls: weekdays 9 a.m.-8:30 p.m., weekends 9 a.m.-5 p.m.',
    windows: { 'mon-fri': ['09:00-20:30'], 'sat-sun': ['09:00-17:00'] },
    holidays: AU_HOLIDAYS('research calls'),
  },
  'india-promotional': {
    name: 'India, promotional calls and messages (TRAI)',
    preset: 'india-promotional',
    rule: 'TRAI Telecom Commercial Communications Customer Preference Regulations 2018 (operator DLT enforcement): promotional traffic 10:00-21:00 IST',
    channels: ['voice', 'sms'],
    windows: { daily: ['10:00-21:00'] },
  },
  france: {
    name: 'France (Decree 2022-1313)',
    preset: 'france',
    channels: ['voice'],
    rule: "Décret n° 2022-1313 du 13 octobre 2022 (the opt-out regime's calling rules): Monday to Friday 10:00-13:00 and 14:00-20:00 only. Since 11 August 2026 consumer telemarketing needs prior consent (Code de la consommation L. 223-1 as rewritten in 2025); whether the decree's hours still bind consented calls is unconfirmed, and this preset keeps them",
    windows: { 'mon-fri': ['10:00-13:00', '14:00-20:00'] },
    holidays: {
      country: 'FR',
      types: ['public'],
      rule: 'Décret n° 2022-1313: no calls on public holidays (jours fériés)',
      // Alsace-Moselle's own public holidays, for callees who may be in those departments
      // (holiday-regions.ts: by postal code or department, else an 03 number, a mobile or a 09 number).
      regions: {
        'FR-57': { rule: ALSACE_MOSELLE },
        'FR-67': { rule: ALSACE_MOSELLE },
        'FR-68': { rule: ALSACE_MOSELLE },
      },
    },
    caps: [
      {
        limit: 4,
        days: 30,
        scope: 'all',
        rule: 'Décret n° 2022-1313: at most 4 calls per 30 days to the same consumer',
      },
    ],
    coolingOff: [
      {
        after: 'refusal',
        days: 60,
        scope: 'all',
        rule: 'Décret n° 2022-1313: no call for 60 days after the consumer refuses',
      },
    ],
  },
  'us-states': {
    name: "US states: federal + the callee's state",
    preset: 'us-states',
    jurisdiction: 'us-states',
    rule: `${TCPA}; plus the confirmed rules of the callee's state or territory (docs/us-state-rules.md), by the contact's state and the number's area code`,
    calls: ['solicitation', 'licensed'],
  },
  'uk-industry': {
    name: 'UK industry code',
    preset: 'uk-industry',
    channels: ['voice'],
    rule: 'UK: no statutory calling window; industry practice (DMA code): not 21:00-08:00 on weekdays, not 21:00-09:00 at weekends',
    windows: { 'mon-fri': ['08:00-21:00'], 'sat-sun': ['09:00-21:00'] },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);

/** A deep copy of a preset (to edit), or undefined. */
export function preset(name: string): PolicyDefinition | undefined {
  // Own names only: `valueOf`, `constructor`... are not presets (they gave a 500 from the check route).
  const found = Object.prototype.hasOwnProperty.call(PRESETS, name) ? PRESETS[name] : undefined;
  return found === undefined ? undefined : (JSON.parse(JSON.stringify(found)) as PolicyDefinition);
}
