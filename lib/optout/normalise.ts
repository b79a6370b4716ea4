/**
 * Text normalisation for the opt-out classifier: one pass from a raw SMS, chat line or speech transcript
 * to a token list the rules can match, keeping each token's place in the original text (so `matched` can
 * quote the words that decided).
 *
 * - Unicode NFKC; lower case; Latin accents folded (`arrêt` = `arret`, `não` = `nao`, `ß` = `ss`,
 *   Turkish `ı` = `i`); Devanagari nukta dropped and candrabindu read as anusvara (`फ़ोन` = `फोन`,
 *   `हाँ` = `हां`); Cyrillic look-alikes inside a Latin word read as Latin (`parа` with a Cyrillic `а`).
 * - Letters stretched for emphasis (`stoooop`, `paraaaa`, `pleeease`): a run of three or more of one
 *   letter is read once, or twice when only that spelling is a word the rules know (`callll` = `call`).
 * - English contractions expanded (`don't`, `dont` -> `do not`); other apostrophes split words
 *   (`m'appeler` -> `m appeler`); hyphens split words (`opt-out` -> `opt out`).
 * - Quoted text ("...", “...”, «...», '...') is cut out and becomes a clause break, unless the quote is
 *   the whole message: a quote of someone else's words is not a request.
 * - Speech fillers (uh, um, euh, äh, arre...) are dropped, a stutter (`stop stop`) is read once, digits
 *   and runs of three or more spelled-out numbers (`five five five one`) become one `#` token.
 * - Clause breaks (. ! ? ; । and line ends) end a clause: no rule matches across one. Commas and colons
 *   are soft breaks: rules match across them, but a negation does not reach over one ("no, stop").
 */

export interface Tokens {
  /** Folded tokens. */
  readonly norm: string[];
  /** Lower-cased tokens before accent folding (`sí` vs `si`). */
  readonly raw: string[];
  /** The original word was written in capitals (at least two letters). */
  readonly caps: boolean[];
  /** The token stands for the same word said or typed more than once ("stop stop"), read once. */
  readonly repeated: boolean[];
  /** Offsets of the source word in `text`. */
  readonly start: number[];
  readonly end: number[];
  /** Clause (hard break) and segment (soft break) numbers. */
  readonly clause: number[];
  readonly segment: number[];
  /** The text the offsets refer to (NFKC, quotes of other text blanked out). */
  readonly text: string;
  /** The message has lower-case letters (so a word in capitals stands out). */
  readonly mixedCase: boolean;
}

/** A Map, not an object: message words such as `constructor` must not reach Object.prototype. */
const CONTRACTIONS = new Map<string, readonly string[]>(
  Object.entries({
    dont: ['do', 'not'],
    doesnt: ['does', 'not'],
    didnt: ['did', 'not'],
    cant: ['can', 'not'],
    cannot: ['can', 'not'],
    wont: ['will', 'not'],
    isnt: ['is', 'not'],
    arent: ['are', 'not'],
    wasnt: ['was', 'not'],
    werent: ['were', 'not'],
    shouldnt: ['should', 'not'],
    wouldnt: ['would', 'not'],
    couldnt: ['could', 'not'],
    havent: ['have', 'not'],
    hasnt: ['has', 'not'],
    aint: ['is', 'not'],
    im: ['i', 'am'],
    ive: ['i', 'have'],
    youre: ['you', 'are'],
  }),
);

/** Hesitations and interjections speech recognisers (and people) put anywhere. */
export const FILLERS: ReadonlySet<string> = new Set([
  'uh',
  'uhh',
  'uhm',
  'um',
  'umm',
  'hmm',
  'hmmm',
  'hm',
  'mm',
  'mmm',
  'er',
  'erm',
  'ah',
  'ahh',
  'eh',
  'ehh',
  'euh',
  'heu',
  'ahm',
  'ohm',
  'oh',
  'arre',
  'अरे',
  'अं',
  'उम्म',
]);

/** Spelled-out numbers in the supported languages; a run of three or more is a number. */
const NUMBER_WORDS: ReadonlySet<string> = new Set(
  (
    'zero oh one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty ' +
    'seventy eighty ninety hundred thousand double triple ' +
    'cero uno una dos tres cuatro cinco seis siete ocho nueve diez cien mil ' +
    'zero un une deux trois quatre cinq six sept huit neuf dix cent ' +
    'null eins zwei drei vier funf sechs sieben acht neun zehn hundert tausend ' +
    'um dois duas tres quatro cinco seis sete oito nove dez cem ' +
    'shunya ek do teen char paanch panch chhe chah saat aath nau das ' +
    'शून्य एक दो तीन चार पांच छह छः सात आठ नौ दस'
  ).split(' '),
);

const WORD = /[\p{L}\p{M}\p{N}]+(?:['’`´][\p{L}\p{M}]+)*/gu;
const HARD_BREAK = /[.!?;¿¡।|\n\r…]/;
const SOFT_BREAK = /[,:()–—]|\s-\s/;
const QUOTED =
  /["“”„«»‹›]([^"“”„«»‹›\n]{1,300})["“”„«»‹›]|(^|[\s(])['‘‚]([^'’‘\n]{1,300})['’](?=$|[\s.,!?;:)])/gu;
const NON_ASCII = /[^\u0020-\u007e]/;
/**
 * Printable ASCII, tabs and line breaks: NFKC leaves such text as it is, and WORD_ASCII reads it as WORD
 * does, faster.
 */
const ASCII_ONLY = /^[\t\n\r\u0020-\u007e]*$/;
const WORD_ASCII = /[A-Za-z0-9]+(?:['`][A-Za-z]+)*/g;
const APOSTROPHES = /['’`´]/;
const COMBINING = /[\u0300-\u036f\u093c\u200c\u200d]/g;
const CYRILLIC = /[\u0400-\u04ff]/;
const LATIN = /[a-z]/;
/** Cyrillic letters drawn like Latin ones, as spoofed into "STOP"-like words. */
const CONFUSABLES = new Map<string, string>(
  Object.entries({
    а: 'a',
    е: 'e',
    ё: 'e',
    о: 'o',
    р: 'p',
    с: 'c',
    у: 'y',
    х: 'x',
    і: 'i',
    ј: 'j',
    ѕ: 's',
    ԁ: 'd',
    һ: 'h',
    ӏ: 'l',
    к: 'k',
    м: 'm',
    т: 't',
  }),
);

/** Digits only (any script's digits). */
function isNumber(word: string): boolean {
  const c = word.charCodeAt(0);
  if (c < 0x80) {
    for (let i = 0; i < word.length; i++) {
      const d = word.charCodeAt(i);
      if (d < 48 || d > 57) return false;
    }
    return true;
  }
  return /^\p{N}+$/u.test(word);
}

/** Folds one lower-case word (accents, ß, dotless ı, nukta, candrabindu, Cyrillic look-alikes). */
export function foldWord(lower: string): string {
  if (!NON_ASCII.test(lower)) return lower;
  if (CYRILLIC.test(lower) && LATIN.test(lower)) {
    lower = lower.replace(/[\u0400-\u04ff]/g, (ch) => CONFUSABLES.get(ch) ?? ch);
  }
  return lower
    .replace(/ß/g, 'ss')
    .replace(/ı/g, 'i')
    .normalize('NFD')
    .replace(COMBINING, '')
    .replace(/\u0901/g, '\u0902')
    .normalize('NFC');
}

/** Cuts quoted text out (a clause break), unless the quote is the whole message or a keyword an instruction quotes. */
function dropQuotes(text: string, instructions?: ReadonlySet<string>): string {
  if (!/["“”„«»‹›'‘‚]/.test(text)) return text;
  return text.replace(
    QUOTED,
    (
      whole: string,
      inner1: string | undefined,
      lead: string | undefined,
      inner2: string | undefined,
      at: number,
    ) => {
      const rest = text.replace(whole, ' ');
      // The whole message is the quote ("STOP"): it is the person's own words.
      if (!/[\p{L}\p{N}]/u.test(rest)) return whole;
      // A keyword an instruction quotes ('Text "STOP" to opt out', 'Text back "unstop" to...'): kept, so
      // the instruction gate reads the clause as the footer it is.
      if (
        instructions !== undefined &&
        quotedByInstruction(text.slice(0, at), inner1 ?? inner2 ?? '', instructions)
      )
        return whole;
      return `${lead ?? ''}\n`;
    },
  );
}

/**
 * A quote of at most three words in a sentence that opens with an instruction verb and has at most two
 * other words before the quote ('Text "STOP" to...', 'Text back "unstop"'): a footer. The person's own
 * report ('I replied "STOP" yesterday, stop texting me') does not open with the verb, and its quote is
 * cut as before.
 */
function quotedByInstruction(before: string, inner: string, instructions: ReadonlySet<string>): boolean {
  if ((inner.match(/[\p{L}\p{N}]+/gu) ?? []).length > 3) return false;
  const sentence = before.split(/[.!?;:\n\r]/).pop() ?? '';
  const words = sentence
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .match(/[\p{L}\p{N}]+/gu);
  return words !== null && words.length <= 3 && instructions.has(words[0]);
}

/** Splits a word with apostrophes: English n't contractions, else at each apostrophe. */
function splitWord(lower: string, out: string[]): void {
  if (!APOSTROPHES.test(lower)) {
    const expanded = CONTRACTIONS.get(lower);
    if (expanded !== undefined) out.push(...expanded);
    else out.push(lower);
    return;
  }
  const plain = lower.replace(/[’`´]/g, "'");
  if (plain.endsWith("n't")) {
    const stem = plain.slice(0, -3);
    if (stem === 'won') out.push('will', 'not');
    else if (stem === 'ca') out.push('can', 'not');
    else if (stem === 'ai') out.push('is', 'not');
    else out.push(stem, 'not');
    return;
  }
  if (plain === "i'm") {
    out.push('i', 'am');
    return;
  }
  for (const part of plain.split("'")) if (part !== '') out.push(part);
}

/**
 * The word with runs of one character cut to `keep` characters: every run longer than `keep`, or
 * (`longOnly`) only runs of three or more, so a word's own double letters stay ("arrêteeeez" =
 * "arretez").
 */
function cutRuns(word: string, keep: number, longOnly = false): string {
  let out = '';
  let start = 0;
  for (let i = 1; i <= word.length; i++) {
    if (i < word.length && word[i] === word[start]) continue;
    const length = i - start;
    const kept = longOnly && length < 3 ? length : Math.min(length, keep);
    out += word[start].repeat(kept);
    start = i;
  }
  return out;
}

/**
 * A word stretched for emphasis read as meant: each run of three or more of one letter once ("stoooop"),
 * with the word's own double letters kept or also cut ("arrêteeeez" = "arretez", "paraaaa" = "para"), or
 * twice ("callll"), whichever spelling is in `vocabulary`. Other words are returned as they are.
 */
export function unstretch(word: string, vocabulary?: ReadonlySet<string>): string {
  let stretched = false;
  for (let i = 2; i < word.length; i++) {
    if (word.charCodeAt(i) === word.charCodeAt(i - 1) && word.charCodeAt(i) === word.charCodeAt(i - 2)) {
      stretched = true;
      break;
    }
  }
  if (!stretched) return word;
  const once = cutRuns(word, 1);
  if (vocabulary === undefined) return once;
  const keepingDoubles = cutRuns(word, 1, true);
  if (vocabulary.has(keepingDoubles)) return keepingDoubles;
  if (vocabulary.has(once)) return once;
  const twice = cutRuns(word, 2);
  return vocabulary.has(twice) ? twice : once;
}

/**
 * The stop sign emoji (🛑, U+1F6D1) read as the word STOP: Postscript unsubscribes on a "STOP" emoji
 * as on the keyword (help.postscript.io, "Unsubscribing"). Other emoji are not words here.
 */
function stopSigns(text: string): string {
  return text.includes('\u{1F6D1}') ? text.replace(/\u{1F6D1}\uFE0F?/gu, ' stop ') : text;
}

/** A word of a message as the rules read it: its parts (fillers dropped) and each part folded. */
interface WordReading {
  readonly parts: readonly string[];
  readonly folded: readonly string[];
}

/**
 * Readings of the words the rules know, per vocabulary (the same few hundred words come back in every
 * message: "stop", "me", "please"). Only words made entirely of rule words are kept, so no word of a
 * person's own (a name, an address) stays in memory; the map is emptied when it is full.
 */
const READINGS = new WeakMap<ReadonlySet<string>, Map<string, WordReading>>();
const READINGS_LIMIT = 20_000;
const READING_MAX_LENGTH = 40;

/** A copy of the string that shares no memory with the text it was cut from. */
function detach(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** The readings kept for a vocabulary (looked up once per message, not per word). */
function readingsFor(vocabulary: ReadonlySet<string>): Map<string, WordReading> {
  let map = READINGS.get(vocabulary);
  if (map === undefined) {
    map = new Map();
    READINGS.set(vocabulary, map);
  }
  return map;
}

function readWord(
  lower: string,
  vocabulary: ReadonlySet<string> | undefined,
  cache: Map<string, WordReading> | undefined,
  scratch: string[],
): WordReading {
  const hit = cache?.get(lower);
  if (hit !== undefined) return hit;
  scratch.length = 0;
  splitWord(lower, scratch);
  const parts = scratch.filter((part) => !FILLERS.has(part));
  const reading = { parts, folded: parts.map((part) => unstretch(foldWord(part), vocabulary)) };
  if (
    cache !== undefined &&
    vocabulary !== undefined &&
    lower.length <= READING_MAX_LENGTH &&
    reading.folded.every((word) => vocabulary.has(word))
  ) {
    if (cache.size >= READINGS_LIMIT) cache.clear();
    // Copies: a word cut from a message may share the message's memory, and the cache must not keep it.
    cache.set(detach(lower), { parts: parts.map(detach), folded: reading.folded.map(detach) });
  }
  return reading;
}

/**
 * The message as tokens. `vocabulary` (the words the rules know) decides how a stretched word is read
 * back ("callll" = "call", "stooop" = "stop"); a short quote right after one of `instructions` (reply,
 * text...) is kept as words.
 */
export function tokenise(
  input: string,
  vocabulary?: ReadonlySet<string>,
  instructions?: ReadonlySet<string>,
): Tokens {
  const ascii = ASCII_ONLY.test(input);
  // An ASCII text stays ASCII: quotes are cut to ASCII and a stop sign is not ASCII.
  const text = stopSigns(dropQuotes(ascii ? input : input.normalize('NFKC'), instructions));
  const words = ascii ? WORD_ASCII : WORD;
  const cache = vocabulary === undefined ? undefined : readingsFor(vocabulary);
  const norm: string[] = [];
  const raw: string[] = [];
  const caps: boolean[] = [];
  const repeated: boolean[] = [];
  const start: number[] = [];
  const end: number[] = [];
  const clause: number[] = [];
  const segment: number[] = [];
  let clauseNo = 0;
  let segmentNo = 0;
  let last = 0;
  const parts: string[] = [];
  words.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = words.exec(text)) !== null) {
    const word = m[0];
    const at = m.index;
    // Most gaps are one space: no break to look for.
    if (at > last && !(at === last + 1 && text.charCodeAt(last) === 32)) {
      const gap = text.slice(last, at);
      if (HARD_BREAK.test(gap)) {
        clauseNo += 1;
        segmentNo += 1;
      } else if (SOFT_BREAK.test(gap)) segmentNo += 1;
    }
    last = at + word.length;
    const lower = word.toLowerCase();
    const isCaps = word !== lower && word === word.toUpperCase() && word.length >= 2;
    const read = readWord(lower, vocabulary, cache, parts);
    for (let p = 0; p < read.parts.length; p++) {
      const part = read.parts[p];
      const folded = read.folded[p];
      const n = norm.length;
      // A stutter ("stop stop stop", "i i want"): read once.
      if (n > 0 && norm[n - 1] === folded && segment[n - 1] === segmentNo) {
        end[n - 1] = last;
        repeated[n - 1] = true;
        continue;
      }
      norm.push(isNumber(folded) ? '#' : folded);
      raw.push(part);
      caps.push(isCaps);
      repeated.push(false);
      start.push(at);
      end.push(last);
      clause.push(clauseNo);
      segment.push(segmentNo);
    }
  }
  collapseNumberRuns(norm, raw, caps, repeated, start, end, clause, segment);
  return {
    norm,
    raw,
    caps,
    repeated,
    start,
    end,
    clause,
    segment,
    text,
    mixedCase: text !== text.toUpperCase(),
  };
}

/** Replaces each run of three or more number words (a spoken phone number) with one `#`. */
function collapseNumberRuns(
  norm: string[],
  raw: string[],
  caps: boolean[],
  repeated: boolean[],
  start: number[],
  end: number[],
  clause: number[],
  segment: number[],
): void {
  let i = 0;
  while (i < norm.length) {
    if (!NUMBER_WORDS.has(norm[i]) && norm[i] !== '#') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < norm.length && (NUMBER_WORDS.has(norm[j]) || norm[j] === '#') && clause[j] === clause[i])
      j += 1;
    if (j - i >= 3 || (j - i >= 2 && norm.slice(i, j).includes('#'))) {
      const count = j - i;
      norm.splice(i, count, '#');
      raw.splice(i, count, '#');
      caps.splice(i, count, false);
      repeated.splice(i, count, false);
      const last = end[j - 1];
      start.splice(i + 1, count - 1);
      end.splice(i, count, last);
      clause.splice(i + 1, count - 1);
      segment.splice(i + 1, count - 1);
    }
    i += 1;
  }
}

/** Normalises a lexicon phrase exactly as message text is normalised: its folded tokens. */
export function phraseTokens(phrase: string): string[] {
  return tokenise(phrase).norm;
}
