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
import type { PolicyDefinition } from './model';

const TCPA =
  '47 CFR 64.1200(c)(1) (TCPA) and 16 CFR 310.4(c) (TSR): no calls before 8 a.m. or after 9 p.m. local time';

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
    holidays: {
      country: 'AU',
      types: ['public'],
      rule: 'Telemarketing and Research Calls Industry Standard 2017: no telemarketing calls on a national public holiday',
    },
  },
  'australia-research': {
    name: 'Australia, research calls',
    preset: 'australia-research',
    channels: ['voice'],
    rule: 'Telecommunications (Telemarketing and Research Calls) Industry Standard 2017, research calls: weekdays 9 a.m.-8:30 p.m., weekends 9 a.m.-5 p.m.',
    windows: { 'mon-fri': ['09:00-20:30'], 'sat-sun': ['09:00-17:00'] },
    holidays: {
      country: 'AU',
      types: ['public'],
      rule: 'Telemarketing and Research Calls Industry Standard 2017: no calls on a national public holiday',
    },
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
    rule: 'Décret n° 2022-1313 du 13 octobre 2022: Monday to Friday 10:00-13:00 and 14:00-20:00 only',
    windows: { 'mon-fri': ['10:00-13:00', '14:00-20:00'] },
    holidays: {
      country: 'FR',
      types: ['public'],
      rule: 'Décret n° 2022-1313: no calls on public holidays (jours fériés)',
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
    name: "US federal + the callee's state",
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
