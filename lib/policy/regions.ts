/**
 * Time zones of states, provinces and territories, and postal codes to regions, for the second step of
 * zone resolution (a region given with the contact). From the tz database's zone.tab comments (which
 * zone covers which part of a region). A region spanning several zones lists all of them: the policy
 * then allows only the overlap of their windows.
 *
 * Places served by another country's postal system are listed where their addresses say they are: the
 * USPS codes PW, FM and MH (Palau, Micronesia, the Marshall Islands, ZIP codes 969xx) beside the US
 * territories; American Samoa's ZIP code 96799 inside Hawaii's 967; Christmas Island (6798), the Cocos
 * (Keeling) Islands (6799) and Norfolk Island (2899) inside Australia's postcodes, under their ISO codes.
 * A postal code that could be anywhere (US military APO/FPO/DPO codes: 090-098 AE, 340 AA, 962-966 AP)
 * places nothing: the number or the country decides.
 */
const NY = 'America/New_York';
const CHI = 'America/Chicago';
const DEN = 'America/Denver';
const LA = 'America/Los_Angeles';

export const REGION_ZONES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  US: {
    AL: [CHI],
    AK: [
      'America/Anchorage',
      'America/Juneau',
      'America/Sitka',
      'America/Metlakatla',
      'America/Yakutat',
      'America/Nome',
      'America/Adak',
    ],
    AZ: ['America/Phoenix', DEN], // the Navajo Nation keeps daylight saving time
    AR: [CHI],
    CA: [LA],
    CO: [DEN],
    CT: [NY],
    DE: [NY],
    DC: [NY],
    FL: [NY, CHI],
    GA: [NY],
    HI: ['Pacific/Honolulu'],
    ID: ['America/Boise', LA],
    IL: [CHI],
    IN: ['America/Indiana/Indianapolis', CHI],
    IA: [CHI],
    KS: [CHI, DEN],
    KY: ['America/Kentucky/Louisville', CHI],
    LA: [CHI],
    ME: [NY],
    MD: [NY],
    MA: [NY],
    MI: ['America/Detroit', 'America/Menominee'],
    MN: [CHI],
    MS: [CHI],
    MO: [CHI],
    MT: [DEN],
    NE: [CHI, DEN],
    NV: [LA, DEN],
    NH: [NY],
    NJ: [NY],
    NM: [DEN],
    NY: [NY],
    NC: [NY],
    ND: [CHI, DEN],
    OH: [NY],
    OK: [CHI],
    OR: [LA, 'America/Boise'],
    PA: [NY],
    RI: [NY],
    SC: [NY],
    SD: [CHI, DEN],
    TN: [NY, CHI],
    TX: [CHI, DEN],
    UT: [DEN],
    VT: [NY],
    VA: [NY],
    WA: [LA],
    WV: [NY],
    WI: [CHI],
    WY: [DEN],
    PR: ['America/Puerto_Rico'],
    VI: ['America/St_Thomas'],
    GU: ['Pacific/Guam'],
    MP: ['Pacific/Saipan'],
    AS: ['Pacific/Pago_Pago'],
    // Freely Associated States, in the US postal system (USPS state codes)
    PW: ['Pacific/Palau'],
    FM: ['Pacific/Chuuk', 'Pacific/Pohnpei', 'Pacific/Kosrae'],
    MH: ['Pacific/Majuro', 'Pacific/Kwajalein'],
  },
  CA: {
    NL: ['America/St_Johns', 'America/Goose_Bay'],
    NS: ['America/Halifax'],
    PE: ['America/Halifax'],
    NB: ['America/Moncton'],
    QC: ['America/Toronto', 'America/Blanc-Sablon', 'America/Halifax'],
    ON: ['America/Toronto', 'America/Winnipeg', 'America/Atikokan'],
    MB: ['America/Winnipeg'],
    SK: ['America/Regina', 'America/Edmonton'],
    AB: ['America/Edmonton'],
    BC: [
      'America/Vancouver',
      'America/Edmonton',
      'America/Creston',
      'America/Dawson_Creek',
      'America/Fort_Nelson',
    ],
    YT: ['America/Whitehorse'],
    NT: ['America/Edmonton', 'America/Inuvik'],
    NU: ['America/Iqaluit', 'America/Rankin_Inlet', 'America/Cambridge_Bay'],
  },
  AU: {
    NSW: ['Australia/Sydney', 'Australia/Broken_Hill', 'Australia/Lord_Howe'],
    ACT: ['Australia/Sydney'],
    VIC: ['Australia/Melbourne'],
    QLD: ['Australia/Brisbane'],
    SA: ['Australia/Adelaide'],
    WA: ['Australia/Perth', 'Australia/Eucla'],
    TAS: ['Australia/Hobart'],
    NT: ['Australia/Darwin'],
    // external territories in Australia's postal system (ISO 3166-1 codes)
    CX: ['Indian/Christmas'],
    CC: ['Indian/Cocos'],
    NF: ['Pacific/Norfolk'],
  },
  IN: {},
};

/** US ZIP code first three digits (inclusive ranges) to states. */
const US_ZIP3: ReadonlyArray<readonly [number, number, string]> = [
  [5, 5, 'NY'],
  [6, 7, 'PR'],
  [8, 8, 'VI'],
  [9, 9, 'PR'],
  [10, 27, 'MA'],
  [28, 29, 'RI'],
  [30, 38, 'NH'],
  [39, 49, 'ME'],
  [50, 59, 'VT'],
  [60, 69, 'CT'],
  [70, 89, 'NJ'],
  [100, 149, 'NY'],
  [150, 196, 'PA'],
  [197, 199, 'DE'],
  [200, 205, 'DC'],
  [206, 219, 'MD'],
  [220, 246, 'VA'],
  [247, 268, 'WV'],
  [270, 289, 'NC'],
  [290, 299, 'SC'],
  [300, 319, 'GA'],
  [320, 339, 'FL'],
  [341, 349, 'FL'],
  [350, 369, 'AL'],
  [370, 385, 'TN'],
  [386, 397, 'MS'],
  [398, 399, 'GA'],
  [400, 427, 'KY'],
  [430, 459, 'OH'],
  [460, 479, 'IN'],
  [480, 499, 'MI'],
  [500, 528, 'IA'],
  [530, 549, 'WI'],
  [550, 567, 'MN'],
  [570, 577, 'SD'],
  [580, 588, 'ND'],
  [590, 599, 'MT'],
  [600, 629, 'IL'],
  [630, 658, 'MO'],
  [660, 679, 'KS'],
  [680, 693, 'NE'],
  [700, 715, 'LA'],
  [716, 729, 'AR'],
  [730, 749, 'OK'],
  [750, 799, 'TX'],
  [800, 816, 'CO'],
  [820, 831, 'WY'],
  [832, 838, 'ID'],
  [840, 847, 'UT'],
  [850, 865, 'AZ'],
  [870, 884, 'NM'],
  [885, 885, 'TX'],
  [889, 898, 'NV'],
  [900, 961, 'CA'],
  [967, 968, 'HI'],
  [970, 979, 'OR'],
  [980, 994, 'WA'],
  [995, 999, 'AK'],
];

/** Five-digit US ZIP codes whose region is not their first three digits' (inclusive ranges). */
const US_ZIP5: ReadonlyArray<readonly [number, number, string]> = [
  [96799, 96799, 'AS'],
  [96910, 96932, 'GU'],
  [96939, 96940, 'PW'],
  [96941, 96944, 'FM'],
  [96950, 96952, 'MP'],
  [96960, 96960, 'MH'],
  [96970, 96970, 'MH'],
];
/** ZIP code prefixes wholly in US_ZIP5: a code of the prefix not listed there places nothing. */
const US_ZIP5_ONLY = new Set([969]);

/** Canadian postal codes: the first letter names the province. */
const CA_POSTAL: Readonly<Record<string, readonly string[]>> = {
  A: ['NL'],
  B: ['NS'],
  C: ['PE'],
  E: ['NB'],
  G: ['QC'],
  H: ['QC'],
  J: ['QC'],
  K: ['ON'],
  L: ['ON'],
  M: ['ON'],
  N: ['ON'],
  P: ['ON'],
  R: ['MB'],
  S: ['SK'],
  T: ['AB'],
  V: ['BC'],
  X: ['NT', 'NU'],
  Y: ['YT'],
};

const AU_TERRITORY_POSTCODES: Readonly<Record<string, string>> = { '6798': 'CX', '6799': 'CC', '2899': 'NF' };

/** Australian postcodes (first digit; 02xx is the ACT, 08xx the Northern Territory). */
function auRegions(code: string): readonly string[] | null {
  if (!/^\d{4}$/.test(code)) return null;
  const territory = AU_TERRITORY_POSTCODES[code];
  if (territory !== undefined) return [territory];
  const first = code[0];
  if (first === '0') return code[1] === '2' ? ['ACT'] : code[1] === '8' || code[1] === '9' ? ['NT'] : null;
  return (
    { '2': ['NSW', 'ACT'], '3': ['VIC'], '4': ['QLD'], '5': ['SA'], '6': ['WA'], '7': ['TAS'] }[first] ?? null
  );
}

/** Regions (country, code) of a postal code, or null when it cannot be placed. */
export function regionsOfPostalCode(
  postal: string,
  country: string | null,
): Array<readonly [string, string]> | null {
  const text = postal.trim().toUpperCase();
  const out: Array<readonly [string, string]> = [];
  if ((country === null || country === 'US') && /^\d{5}(-\d{4})?$/.test(text)) {
    const zip5 = Number(text.slice(0, 5));
    const zip3 = Math.floor(zip5 / 100);
    const exact = US_ZIP5.find(([lo, hi]) => zip5 >= lo && zip5 <= hi);
    if (exact !== undefined) out.push(['US', exact[2]]);
    else if (!US_ZIP5_ONLY.has(zip3))
      for (const [lo, hi, state] of US_ZIP3) if (zip3 >= lo && zip3 <= hi) out.push(['US', state]);
  }
  if ((country === null || country === 'CA') && /^[A-Z]\d[A-Z] ?\d[A-Z]\d$/.test(text)) {
    for (const province of CA_POSTAL[text[0]] ?? []) out.push(['CA', province]);
  }
  if (country === 'AU') for (const state of auRegions(text) ?? []) out.push(['AU', state]);
  return out.length > 0 ? out : null;
}

/** Zones of a region code (`FL`, `US-FL`, `ON`), within a country when one is known. */
export function zonesOfRegion(region: string, country: string | null): readonly string[] | null {
  let text = region.trim().toUpperCase();
  let within = country;
  const dash = /^([A-Z]{2})-([A-Z]{2,3})$/.exec(text);
  if (dash) {
    within = dash[1];
    text = dash[2];
  }
  const zones = new Set<string>();
  for (const [c, regions] of Object.entries(REGION_ZONES)) {
    if (within !== null && c !== within) continue;
    for (const zone of regions[text] ?? []) zones.add(zone);
  }
  return zones.size > 0 ? [...zones] : null;
}
