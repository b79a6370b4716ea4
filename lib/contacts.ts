/**
 * Contact identity: turn what people and systems send (phone numbers in any common format, `tel:` and
 * `whatsapp:` URIs, email addresses, objects with several identifiers) into normalised index keys.
 *
 * Index keys (one per identifier, and the only form the store and the index know):
 * - a phone or WhatsApp number: its E.164 form, `+14155550123` (both channels share one key: it is one number)
 * - an email address: trimmed, lower-cased, domain in its ASCII (punycode) form: `ana@xn--bcher-kva.example`
 * - an external id: `id:` followed by the id as given (trimmed): `id:crm-42`
 * The kinds never collide: only numbers start with `+`, only emails contain `@` without an `id:` prefix.
 *
 * Phone numbers must be valid (not merely possible) for libphonenumber-js with its 'max' metadata. The key
 * of a number is exactly what libphonenumber-js gives (`parsePhoneNumber(text).number`), whichever path
 * computed it: input that is already E.164 takes a fast path (see "Validity of E.164 input" below) that
 * returns the same answer without parsing.
 *
 * Extensions (`tel:+1-201-555-0123;ext=12`, `+1 201 555 0123 ext. 12`, `x12`) are stripped: the key is the
 * number that is dialled. Do-not-call rules and registries (FTC, TPS) list telephone numbers, not
 * extensions, and for a DNC list blocking the whole line is the safe side of the choice.
 */
import { domainToASCII } from 'node:url';
import { Metadata } from 'libphonenumber-js/core';
import parsePhoneNumberFromString, {
  isSupportedCountry,
  isValidPhoneNumber,
  validatePhoneNumberLength,
  type CountryCode,
} from 'libphonenumber-js/max';
import maxMetadata from 'libphonenumber-js/max/metadata';
import { DncError } from './errors';

export interface ParsedContact {
  /** Distinct index keys, in input order: phone, whatsapp, email, id. Never empty. */
  readonly keys: readonly string[];
  /** E.164 phone number, when one was given. */
  readonly phone?: string;
  /** E.164 WhatsApp number, when one was given. */
  readonly whatsapp?: string;
  /** Normalised email address, when one was given. */
  readonly email?: string;
  /** External id (without the `id:` prefix), when one was given. */
  readonly id?: string;
}

export interface ContactParserOptions {
  /** ISO 3166-1 alpha-2 country for national-format numbers (`GB`, `US`...). Optional. */
  readonly defaultCountry?: string;
}

export { DncError };

/** Longest string accepted as a contact; anything longer is rejected before any parsing (320 = RFC 3696 email bound). */
export const MAX_CONTACT_TEXT_LENGTH = 320;

// ------------------------------------------------------------------------------------------------
// Validity of E.164 input
//
// libphonenumber-js decides validity of `+<calling code><national number>` from regular expressions in its
// metadata, evaluated on the national number N (digits only):
//   - the main country's national-prefix-for-parsing pattern, matched at the start of N (when it matches,
//     libphonenumber may strip or rewrite digits even of international input: `+4402079460000`);
//   - each country's leading-digits pattern, matched at the start of N (chooses the country when several
//     share the calling code: +1, +7, +44...);
//   - each country's national-number pattern and per-type patterns (fixed line, mobile...), matched
//     against all of N, plus per-type possible lengths, which depend on N's length only.
// So, when the national-prefix pattern does not match, libphonenumber's answer is a function of
// (length of N, which patterns match). We compile every pattern of a calling code into one automaton over
// digits (Glushkov construction, then a lazily built DFA): the DFA state reached after reading N tells
// exactly which patterns match. The answer for (DFA state, length) is then taken once from libphonenumber
// itself on the first number that reaches it and memoised: any other number reaching the same state with
// the same length makes libphonenumber take the same branches, so it gets the same answer. Exact by
// construction, and the memo is bounded by the size of the automaton, not by the number of distinct
// numbers seen. States where the national-prefix pattern may match answer "ask libphonenumber" (exact).
// A calling code whose patterns use syntax the compiler does not know falls back to libphonenumber.
// ------------------------------------------------------------------------------------------------

const PHONE_NUMBER_TYPES = [
  'FIXED_LINE',
  'MOBILE',
  'PREMIUM_RATE',
  'TOLL_FREE',
  'SHARED_COST',
  'VOIP',
  'PERSONAL_NUMBER',
  'PAGER',
  'UAN',
  'VOICEMAIL',
] as const;

/** The parts of libphonenumber-js's Metadata class we read (its typings only declare the constructor). */
interface NumberingPlanView {
  nationalNumberPattern(): string;
  nationalPrefixForParsing(): string | undefined;
  leadingDigits(): string | undefined;
  type(type: string): { pattern(): string } | undefined;
}
interface MetadataView {
  selectNumberingPlan(countryOrCallingCode: string): void;
  numberingPlan?: NumberingPlanView;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
  hasCallingCode(callingCode: string): boolean;
}

/** Regex syntax tree of the subset used by the metadata: digits, classes, groups, alternation, quantifiers. */
type RegexNode =
  | { kind: 'char'; mask: number }
  | { kind: 'empty' }
  | { kind: 'seq'; items: RegexNode[] }
  | { kind: 'alt'; options: RegexNode[] }
  | { kind: 'repeat'; item: RegexNode; min: number; max: number };

class UnsupportedRegexError extends Error {}

const ALL_DIGITS_MASK = 0x3ff;

/**
 * Parses a metadata pattern. `$` is only allowed when `endAnchorAsEmpty` is set: it then matches the empty
 * string, which can only make the language larger (used for the national-prefix pattern, where a possible
 * match just sends the number to libphonenumber).
 */
function parseRegex(source: string, endAnchorAsEmpty: boolean): RegexNode {
  let index = 0;
  const fail = (what: string): never => {
    throw new UnsupportedRegexError(`${what} at ${index} in /${source}/`);
  };
  const parseAlternation = (): RegexNode => {
    const options = [parseSequence()];
    while (source[index] === '|') {
      index++;
      options.push(parseSequence());
    }
    return options.length === 1 ? options[0] : { kind: 'alt', options };
  };
  const parseSequence = (): RegexNode => {
    const items: RegexNode[] = [];
    while (index < source.length && source[index] !== '|' && source[index] !== ')') {
      items.push(parseQuantifier(parseAtom()));
    }
    return items.length === 1 ? items[0] : { kind: 'seq', items };
  };
  const parseAtom = (): RegexNode => {
    const c = source[index];
    if (c === '(') {
      index++;
      if (source[index] === '?') {
        if (source[index + 1] !== ':') fail('lookaround');
        index += 2;
      }
      const inner = parseAlternation();
      if (source[index] !== ')') fail('unclosed group');
      index++;
      return inner;
    }
    if (c === '[') {
      index++;
      if (source[index] === '^') fail('negated class');
      let mask = 0;
      while (source[index] !== ']') {
        if (index >= source.length) fail('unclosed class');
        if (source[index] === '\\') {
          if (source[index + 1] !== 'd') fail('class escape');
          mask |= ALL_DIGITS_MASK;
          index += 2;
          continue;
        }
        const from = source.charCodeAt(index) - 48;
        if (from < 0 || from > 9) fail('non-digit in class');
        let to = from;
        if (source[index + 1] === '-' && source[index + 2] !== ']') {
          to = source.charCodeAt(index + 2) - 48;
          if (to < from || to > 9) fail('bad range');
          index += 3;
        } else {
          index++;
        }
        for (let d = from; d <= to; d++) mask |= 1 << d;
      }
      index++;
      return { kind: 'char', mask };
    }
    if (c === '\\') {
      if (source[index + 1] !== 'd') fail('escape');
      index += 2;
      return { kind: 'char', mask: ALL_DIGITS_MASK };
    }
    if (c >= '0' && c <= '9') {
      index++;
      return { kind: 'char', mask: 1 << (c.charCodeAt(0) - 48) };
    }
    if (c === '$' && endAnchorAsEmpty) {
      index++;
      return { kind: 'empty' };
    }
    return fail(`syntax '${c}'`);
  };
  const parseQuantifier = (item: RegexNode): RegexNode => {
    let min: number;
    let max: number;
    const c = source[index];
    if (c === '?') [min, max] = [0, 1];
    else if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '{') {
      const match = /^\{(\d+)(?:(,)(\d*))?\}/.exec(source.slice(index));
      if (!match) return fail('quantifier');
      min = Number(match[1]);
      max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
      index += match[0].length - 1;
    } else return item;
    index++;
    // Lazy or possessive quantifiers do not change which strings match entirely, but are not expected.
    if (source[index] === '?' || source[index] === '+' || source[index] === '*' || source[index] === '{') {
      fail('stacked quantifier');
    }
    return { kind: 'repeat', item, min, max };
  };
  const tree = parseAlternation();
  if (index !== source.length) fail('unbalanced )');
  return tree;
}

interface Fragment {
  nullable: boolean;
  first: number[];
  last: number[];
}

/** One calling code's patterns compiled into a single Glushkov automaton and a lazily built DFA. */
class CallingCodeAutomaton {
  /** Digit mask of each position. */
  private readonly positionMask: number[] = [];
  /** Which pattern each position belongs to. */
  private readonly positionPattern: number[] = [];
  private readonly positionFollow: Set<number>[] = [];
  private readonly positionIsLast: boolean[] = [];
  /** Per pattern: true when it is matched at the start of the number (a prefix), false when matched entirely. */
  private readonly patternIsPrefix: boolean[] = [];
  private readonly patternFirst: number[][] = [];
  private readonly patternNullable: boolean[] = [];
  /** Index of the national-prefix-for-parsing pattern, or -1. */
  private readonly nationalPrefixPattern: number = -1;

  // DFA: state 0 is the start state. A state is (active positions, prefix patterns matched so far).
  private stateIds = new Map<string, number>();
  private stateActive: Int32Array[] = [];
  private stateMatchedPrefixes: Uint8Array[] = [];
  /** transitions[state * 10 + digit]: next state, -1 when not built yet. */
  private transitions = new Int32Array(0);
  /** answers[state * 16 + national length]: 0 unknown, else an E164Answer. */
  private answers = new Uint8Array(0);
  /** types[state * 16 + national length]: 0 unknown, else a TypeAnswer (same exactness argument as answers). */
  private types = new Uint8Array(0);
  private keyChars = 0;

  constructor(
    readonly callingCode: string,
    metadata: MetadataView,
  ) {
    metadata.selectNumberingPlan(callingCode);
    const mainPlan = metadata.numberingPlan!;
    const nationalPrefix = mainPlan.nationalPrefixForParsing();
    if (nationalPrefix) {
      this.nationalPrefixPattern = this.addPattern(parseRegex(nationalPrefix, true), true);
    }
    const countries = metadata.getCountryCodesForCallingCode(callingCode);
    const plans: NumberingPlanView[] = [];
    if (countries && countries.length > 0) {
      for (const country of countries) {
        metadata.selectNumberingPlan(country);
        plans.push(metadata.numberingPlan!);
      }
    } else {
      plans.push(mainPlan); // non-geographic calling code (+800, +882...)
    }
    for (const plan of plans) {
      this.addPattern(parseRegex(plan.nationalNumberPattern(), false), false);
      const leadingDigits = plan.leadingDigits();
      if (leadingDigits) this.addPattern(parseRegex(leadingDigits, false), true);
      for (const type of PHONE_NUMBER_TYPES) {
        const pattern = plan.type(type)?.pattern();
        if (pattern) this.addPattern(parseRegex(pattern, false), false);
      }
    }
    this.reset();
  }

  private addPattern(tree: RegexNode, isPrefix: boolean): number {
    const patternIndex = this.patternIsPrefix.length;
    const fragment = this.build(tree, patternIndex);
    for (const position of fragment.last) this.positionIsLast[position] = true;
    this.patternIsPrefix.push(isPrefix);
    this.patternFirst.push(fragment.first);
    this.patternNullable.push(fragment.nullable);
    return patternIndex;
  }

  /** Glushkov construction; bounded repeats are expanded into copies (each copy gets its own positions). */
  private build(node: RegexNode, patternIndex: number): Fragment {
    switch (node.kind) {
      case 'char': {
        const position = this.positionMask.length;
        this.positionMask.push(node.mask);
        this.positionPattern.push(patternIndex);
        this.positionFollow.push(new Set());
        this.positionIsLast.push(false);
        return { nullable: false, first: [position], last: [position] };
      }
      case 'empty':
        return { nullable: true, first: [], last: [] };
      case 'seq':
        return node.items
          .map((item) => this.build(item, patternIndex))
          .reduce((left, right) => this.concat(left, right), {
            nullable: true,
            first: [],
            last: [],
          } as Fragment);
      case 'alt': {
        const options = node.options.map((option) => this.build(option, patternIndex));
        return {
          nullable: options.some((option) => option.nullable),
          first: options.flatMap((option) => option.first),
          last: options.flatMap((option) => option.last),
        };
      }
      case 'repeat': {
        let result: Fragment = { nullable: true, first: [], last: [] };
        for (let i = 0; i < node.min; i++) result = this.concat(result, this.build(node.item, patternIndex));
        if (node.max === Infinity) {
          const loop = this.build(node.item, patternIndex);
          for (const position of loop.last)
            for (const next of loop.first) this.positionFollow[position].add(next);
          result = this.concat(result, { nullable: true, first: loop.first, last: loop.last });
        } else {
          for (let i = node.min; i < node.max; i++) {
            const optional = this.build(node.item, patternIndex);
            result = this.concat(result, { nullable: true, first: optional.first, last: optional.last });
          }
        }
        return result;
      }
    }
  }

  private concat(left: Fragment, right: Fragment): Fragment {
    for (const position of left.last) for (const next of right.first) this.positionFollow[position].add(next);
    return {
      nullable: left.nullable && right.nullable,
      first: left.nullable ? [...left.first, ...right.first] : left.first,
      last: right.nullable ? [...left.last, ...right.last] : right.last,
    };
  }

  /** Drops the DFA (kept NFA); used when the global memo budget is exceeded. */
  reset(): void {
    this.stateIds = new Map();
    this.stateActive = [];
    this.stateMatchedPrefixes = [];
    this.transitions = new Int32Array(64 * 10).fill(-1);
    this.answers = new Uint8Array(64 * 16);
    this.types = new Uint8Array(64 * 16);
    this.keyChars = 0;
    // The start state: no position active yet; "virtual start" is encoded as -1 - pattern.
    const start = new Int32Array(this.patternIsPrefix.length);
    const matched = new Uint8Array(this.patternIsPrefix.length);
    for (let pattern = 0; pattern < start.length; pattern++) {
      start[pattern] = -1 - pattern;
      if (this.patternIsPrefix[pattern] && this.patternNullable[pattern]) matched[pattern] = 1;
    }
    this.internState(start, matched);
  }

  get stateCount(): number {
    return this.stateActive.length;
  }

  /** Approximate bytes held by the DFA (typed arrays, state keys and position lists). */
  get memoBytes(): number {
    let bytes =
      this.transitions.byteLength + this.answers.byteLength + this.types.byteLength + this.keyChars * 2;
    for (const active of this.stateActive) bytes += active.byteLength + 64;
    bytes += this.stateMatchedPrefixes.length * (this.patternIsPrefix.length + 64);
    return bytes + this.stateIds.size * 48;
  }

  private internState(active: Int32Array, matched: Uint8Array): number {
    const key = `${active.join(',')}|${matched.join('')}`;
    const known = this.stateIds.get(key);
    if (known !== undefined) return known;
    const id = this.stateActive.length;
    this.stateIds.set(key, id);
    this.stateActive.push(active);
    this.stateMatchedPrefixes.push(matched);
    this.keyChars += key.length;
    if ((id + 1) * 10 > this.transitions.length) {
      const grown = new Int32Array(this.transitions.length * 2).fill(-1);
      grown.set(this.transitions);
      this.transitions = grown;
      const grownAnswers = new Uint8Array(this.answers.length * 2);
      grownAnswers.set(this.answers);
      this.answers = grownAnswers;
      const grownTypes = new Uint8Array(this.types.length * 2);
      grownTypes.set(this.types);
      this.types = grownTypes;
    }
    return id;
  }

  private followOf(position: number): Iterable<number> {
    return position < 0 ? this.patternFirst[-1 - position] : this.positionFollow[position];
  }

  private buildTransition(state: number, digit: number): number {
    const bit = 1 << digit;
    const matched = this.stateMatchedPrefixes[state].slice();
    const next = new Set<number>();
    for (const position of this.stateActive[state]) {
      for (const candidate of this.followOf(position)) {
        if ((this.positionMask[candidate] & bit) === 0) continue;
        const pattern = this.positionPattern[candidate];
        if (this.patternIsPrefix[pattern]) {
          if (matched[pattern]) continue; // a prefix pattern that has matched needs no more tracking
          if (this.positionIsLast[candidate]) {
            matched[pattern] = 1;
            continue;
          }
        }
        next.add(candidate);
      }
    }
    // Positions of prefix patterns that matched in this step may have been added before the match.
    const active = Int32Array.from(
      [...next].filter((p) => !matched[this.positionPattern[p]]).sort((a, b) => a - b),
    );
    const target = this.internState(active, matched);
    this.transitions[state * 10 + digit] = target;
    return target;
  }

  /**
   * The memoised answer for an E.164 string whose calling code is this one; `nationalStart` is the index
   * of the national number's first digit. The string must be `+` and digits only.
   */
  answer(e164: string, nationalStart: number): E164Answer {
    const state = this.stateAfter(e164, nationalStart);
    const slot = state * 16 + (e164.length - nationalStart);
    const known = this.answers[slot];
    if (known !== 0) return known;
    let computed: E164Answer;
    if (this.nationalPrefixPattern >= 0 && this.stateMatchedPrefixes[state][this.nationalPrefixPattern]) {
      computed = E164Answer.AskLibphonenumber; // libphonenumber may strip or rewrite a national prefix
    } else {
      computed = answerFromLibphonenumber(e164);
    }
    this.answers[slot] = computed;
    return computed;
  }

  /**
   * libphonenumber's `getType()` for an E.164 string whose calling code is this one, memoised like
   * `answer` (the type is decided by the same patterns and lengths). AskLibphonenumber where a national
   * prefix may be rewritten.
   */
  typeAnswer(e164: string, nationalStart: number): TypeAnswer {
    const state = this.stateAfter(e164, nationalStart);
    const slot = state * 16 + (e164.length - nationalStart);
    const known = this.types[slot];
    if (known !== 0) return known;
    const computed =
      this.nationalPrefixPattern >= 0 && this.stateMatchedPrefixes[state][this.nationalPrefixPattern]
        ? TYPE_ASK_LIBPHONENUMBER
        : typeAnswerOf(typeFromLibphonenumber(e164));
    this.types[slot] = computed;
    return computed;
  }

  private stateAfter(e164: string, nationalStart: number): number {
    let state = 0;
    for (let i = nationalStart; i < e164.length; i++) {
      const digit = e164.charCodeAt(i) - 48;
      const next = this.transitions[state * 10 + digit];
      state = next >= 0 ? next : this.buildTransition(state, digit);
    }
    return state;
  }
}

/** What getType() answers: the metadata's types, and FIXED_LINE_OR_MOBILE when both patterns match. */
const NUMBER_TYPE_ANSWERS = [...PHONE_NUMBER_TYPES, 'FIXED_LINE_OR_MOBILE'] as const;
export type PhoneNumberType = (typeof NUMBER_TYPE_ANSWERS)[number];

/** A memoised number type: 1 + index in NUMBER_TYPE_ANSWERS, TYPE_NONE (no type), or "ask". */
type TypeAnswer = number;
const TYPE_NONE = 254;
const TYPE_ASK_LIBPHONENUMBER = 255;

function typeAnswerOf(type: PhoneNumberType | undefined): TypeAnswer {
  const index = type === undefined ? -1 : NUMBER_TYPE_ANSWERS.indexOf(type);
  return index < 0 ? TYPE_NONE : 1 + index;
}

function typeFromLibphonenumber(e164: string): PhoneNumberType | undefined {
  return parsePhoneNumberFromString(e164, { extract: false })?.getType();
}

const enum E164Answer {
  /** Valid, and libphonenumber's E.164 form is the input itself. */
  Valid = 1,
  /** Not decidable from the memo (a national prefix may be rewritten): ask libphonenumber for this number. */
  AskLibphonenumber = 2,
  // Invalid, with libphonenumber's reason (validatePhoneNumberLength), so batches of bad numbers stay fast.
  InvalidTooShort = 3,
  InvalidTooLong = 4,
  InvalidLength = 5,
  InvalidCallingCode = 6,
  InvalidNotInUse = 7,
}

const INVALID_REASONS: Record<number, string> = {
  [E164Answer.InvalidTooShort]: 'too short',
  [E164Answer.InvalidTooLong]: 'too long',
  [E164Answer.InvalidLength]: 'wrong number of digits',
  [E164Answer.InvalidCallingCode]: 'unknown country calling code',
  [E164Answer.InvalidNotInUse]: 'not a number in use in any numbering plan',
};

const LENGTH_PROBLEM_ANSWERS: Record<string, E164Answer> = {
  TOO_SHORT: E164Answer.InvalidTooShort,
  TOO_LONG: E164Answer.InvalidTooLong,
  INVALID_LENGTH: E164Answer.InvalidLength,
  INVALID_COUNTRY: E164Answer.InvalidCallingCode,
  NOT_A_NUMBER: E164Answer.InvalidNotInUse,
};

/** libphonenumber's own answer (and reason when invalid) for one E.164 number. */
function answerFromLibphonenumber(e164: string): E164Answer {
  const parsed = parsePhoneNumberFromString(e164, { extract: false });
  if (parsed && parsed.isValid()) {
    return parsed.number === e164 ? E164Answer.Valid : E164Answer.AskLibphonenumber;
  }
  const lengthProblem = validatePhoneNumberLength(e164);
  return lengthProblem ? LENGTH_PROBLEM_ANSWERS[lengthProblem] : E164Answer.InvalidNotInUse;
}

/** Memo budget shared by all calling codes; when exceeded, every DFA is dropped and rebuilt on demand. */
const MEMO_BUDGET_BYTES = 4 * 1024 * 1024;
const metadataView = new Metadata(
  maxMetadata as unknown as ConstructorParameters<typeof Metadata>[0],
) as unknown as MetadataView;
/** Automata by calling code, compiled on first use; null: patterns not compilable, libphonenumber decides. */
const automata = new Map<string, CallingCodeAutomaton | null>();
/** callingCodeLengthOf[n] for the 1-, 2- and 3-digit prefixes of the number (index = prefix value + offset). */
const callingCodeLength = new Uint8Array(10 + 100 + 1000);
for (let length = 1; length <= 3; length++) {
  const offset = length === 1 ? 0 : length === 2 ? 10 : 110;
  const count = length === 1 ? 10 : length === 2 ? 100 : 1000;
  for (let value = 0; value < count; value++) {
    const code = String(value).padStart(length, '0');
    if (code[0] !== '0' && metadataView.hasCallingCode(code)) callingCodeLength[offset + value] = length;
  }
}
let memoChecks = 0;

function automatonFor(callingCode: string): CallingCodeAutomaton | null {
  let automaton = automata.get(callingCode);
  if (automaton === undefined) {
    try {
      automaton = new CallingCodeAutomaton(callingCode, metadataView);
    } catch (error) {
      if (!(error instanceof UnsupportedRegexError)) throw error;
      automaton = null;
    }
    automata.set(callingCode, automaton);
  }
  return automaton;
}

function enforceMemoBudget(): void {
  if (phoneMemoStats().bytes > MEMO_BUDGET_BYTES) {
    for (const automaton of automata.values()) automaton?.reset();
  }
}

/** True when `text` is `+` then 7 to 15 digits, the first not 0, and nothing else. */
function isE164Shaped(text: string): boolean {
  const length = text.length;
  if (length < 8 || length > 16 || text.charCodeAt(0) !== 43) return false;
  const first = text.charCodeAt(1);
  if (first < 49 || first > 57) return false;
  for (let i = 2; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function e164Answer(e164: string): E164Answer {
  const d1 = e164.charCodeAt(1) - 48;
  const d2 = e164.charCodeAt(2) - 48;
  const d3 = e164.charCodeAt(3) - 48;
  let ccLength = callingCodeLength[d1];
  if (ccLength === 0) ccLength = callingCodeLength[10 + d1 * 10 + d2]!;
  if (ccLength === 0) ccLength = callingCodeLength[110 + d1 * 100 + d2 * 10 + d3]!;
  if (ccLength === 0) return E164Answer.InvalidCallingCode; // no such calling code: libphonenumber does not parse it
  const automaton = automatonFor(e164.slice(1, 1 + ccLength));
  if (automaton === null) return E164Answer.AskLibphonenumber;
  const states = automaton.stateCount;
  const answer = automaton.answer(e164, 1 + ccLength);
  // New states are rare after warm-up; only then can the budget have moved.
  if (automaton.stateCount !== states && ++memoChecks % 64 === 0) enforceMemoBudget();
  return answer;
}

/**
 * Whether an E.164 number (`+` and digits only) is valid: exactly libphonenumber-js's
 * `isValidPhoneNumber(e164)` with 'max' metadata, answered from the memo described above. Anything that is
 * not `+` and 7-15 digits returns false.
 */
export function isValidE164(e164: string): boolean {
  if (!isE164Shaped(e164)) return false;
  const answer = e164Answer(e164);
  if (answer === E164Answer.AskLibphonenumber) return isValidPhoneNumber(e164);
  return answer === E164Answer.Valid;
}

/**
 * libphonenumber-js's `getType()` of an E.164 number (`+` and digits only; 'max' metadata), answered from
 * the same memo as validity: FIXED_LINE, MOBILE, TOLL_FREE... or undefined when no type pattern matches
 * (an invalid number). The calling policy uses it to tell numbers tied to a place from numbers that are not.
 */
export function phoneNumberTypeOf(e164: string): PhoneNumberType | undefined {
  if (!isE164Shaped(e164)) return undefined;
  const d1 = e164.charCodeAt(1) - 48;
  const d2 = e164.charCodeAt(2) - 48;
  const d3 = e164.charCodeAt(3) - 48;
  let ccLength = callingCodeLength[d1];
  if (ccLength === 0) ccLength = callingCodeLength[10 + d1 * 10 + d2]!;
  if (ccLength === 0) ccLength = callingCodeLength[110 + d1 * 100 + d2 * 10 + d3]!;
  if (ccLength === 0) return undefined;
  const automaton = automatonFor(e164.slice(1, 1 + ccLength));
  if (automaton === null) return typeFromLibphonenumber(e164);
  const states = automaton.stateCount;
  const answer = automaton.typeAnswer(e164, 1 + ccLength);
  if (automaton.stateCount !== states && ++memoChecks % 64 === 0) enforceMemoBudget();
  if (answer === TYPE_ASK_LIBPHONENUMBER) return typeFromLibphonenumber(e164);
  return answer === TYPE_NONE ? undefined : NUMBER_TYPE_ANSWERS[answer - 1];
}

/** Size of the validity memo (for benchmarks and monitoring). */
export function phoneMemoStats(): { callingCodes: number; states: number; bytes: number } {
  let states = 0;
  let bytes = 0;
  for (const automaton of automata.values()) {
    if (!automaton) continue;
    states += automaton.stateCount;
    bytes += automaton.memoBytes;
  }
  return { callingCodes: automata.size, states, bytes };
}

/** Drops the validity memo (compiled automata included); it rebuilds on demand. */
export function clearPhoneMemo(): void {
  automata.clear();
}

// ------------------------------------------------------------------------------------------------
// Parsing
// ------------------------------------------------------------------------------------------------

/** Every contact error names the `contact` field; the message says which part (`contact.email: ...`). */
function invalidContact(message: string): DncError {
  // Bad input is data, not a bug: its stack says nothing the message does not, and capturing one costs
  // more than the whole E.164 check, which matters when a batch holds many bad numbers.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new DncError('DNC_INVALID_CONTACT', message, { field: 'contact' });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

function normaliseCountry(value: string): CountryCode | undefined {
  const upper = value.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(upper) && isSupportedCountry(upper) ? upper : undefined;
}

/** Characters a written phone number may contain once URI prefixes are removed (NFKC already applied). */
const PHONE_TEXT = /^\+?[\d\s().\-/]*\d[\d\s().\-/]*(?:(?:\s*(?:ext\.?|extension|x|#)\s*|;ext=)\d{1,10})?$/i;

/** Strips `tel:`, `whatsapp:`, `sip:` wrappers; returns the number as written and whether it came from WhatsApp. */
function unwrapPhoneUri(text: string): { number: string; whatsapp: boolean } {
  const lower = text.slice(0, 9).toLowerCase();
  if (lower.startsWith('whatsapp:')) return { number: text.slice(9).trim(), whatsapp: true };
  if (lower.startsWith('tel:')) return { number: unwrapTel(text.slice(4)), whatsapp: false };
  if (lower.startsWith('sip:') || lower.startsWith('sips:')) {
    // sip:+14155550123@carrier.example;user=phone: the user part is the number.
    const rest = text.slice(lower.startsWith('sip:') ? 4 : 5);
    const at = rest.indexOf('@');
    const user = (at >= 0 ? rest.slice(0, at) : rest).split(';')[0];
    return { number: unwrapTel(user), whatsapp: false };
  }
  return { number: text, whatsapp: false };
}

/** RFC 3966 `tel:` body: drops parameters (`ext=` included), applies a numeric `phone-context`. */
function unwrapTel(body: string): string {
  const [number, ...parameters] = body.split(';');
  let context: string | undefined;
  for (const parameter of parameters) {
    const [name, value] = parameter.split('=');
    if (name?.trim().toLowerCase() === 'phone-context' && value !== undefined) context = value.trim();
  }
  const visual = decodeURIComponentSafe(number.trim());
  if (context !== undefined && !visual.startsWith('+')) {
    // A local number: its context is either a `+` prefix (use it) or a domain (not a routable number).
    return context.startsWith('+') ? `${context}${visual}` : `tel-context:${context}`;
  }
  return visual;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A phone number as people write it -> E.164, or a DncError saying why not. */
function parsePhone(raw: string, country: CountryCode | undefined): string | DncError {
  const text = raw.normalize('NFKC').trim();
  if (text.length === 0) return invalidContact('the phone number is empty');
  const { number: unwrapped } = unwrapPhoneUri(text);
  let number = unwrapped;
  if (!PHONE_TEXT.test(number)) {
    return invalidContact(`${quote(raw)} is not a phone number (unexpected characters)`);
  }
  const digits = number.replace(/[^\d+]/g, '');
  if (!digits.startsWith('+') && digits.startsWith('00') && country === undefined) {
    // `00` is the international prefix almost everywhere; without a default country it can only mean that.
    number = `+${number.replace(/^[^\d]*00/, '')}`;
  } else if (!number.startsWith('+') && country === undefined) {
    return invalidContact(`${quote(raw)} is a national number and no default country is configured`);
  }
  const parsed = parsePhoneNumberFromString(number.replace(/;ext=/i, ' ext '), {
    defaultCountry: country,
    extract: false,
  });
  if (parsed && parsed.isValid()) return parsed.number;
  const lengthProblem = validatePhoneNumberLength(number, { defaultCountry: country });
  const answer = lengthProblem ? LENGTH_PROBLEM_ANSWERS[lengthProblem] : E164Answer.InvalidNotInUse;
  return invalidPhone(raw, answer);
}

function invalidPhone(raw: string, answer: E164Answer): DncError {
  return invalidContact(`${quote(raw)} is not a valid phone number (${INVALID_REASONS[answer]})`);
}

/** Phone input: the E.164 fast path, then libphonenumber. */
function phoneKeyOrError(raw: string, country: CountryCode | undefined): string | DncError {
  if (isE164Shaped(raw)) {
    const answer = e164Answer(raw);
    if (answer === E164Answer.Valid) return raw;
    if (answer !== E164Answer.AskLibphonenumber) return invalidPhone(raw, answer);
  }
  return parsePhone(raw, country);
}

const EMAIL_LOCAL_PART = /^[^\s@<>()[\]\\,;:"\p{Cc}]+$/u;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function parseEmail(raw: string): string | DncError {
  let text = raw.normalize('NFC').trim();
  if (/^mailto:/i.test(text)) text = decodeURIComponentSafe(text.slice(7).split('?')[0].trim());
  const fail = (why: string) => invalidContact(`${quote(raw)} is not a valid email address (${why})`);
  if (/\s/.test(text)) return fail('contains spaces');
  const at = text.indexOf('@');
  if (at < 0 || at !== text.lastIndexOf('@')) return fail('it must contain exactly one @');
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (local.length === 0) return fail('nothing before the @');
  if (domain.length === 0) return fail('no domain after the @');
  if (local.length > 64) return fail('the part before the @ is longer than 64 characters');
  if (!EMAIL_LOCAL_PART.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return fail('invalid characters or dots before the @');
  }
  const asciiDomain = domainToASCII(domain.toLowerCase());
  const labels = asciiDomain.split('.');
  if (
    asciiDomain === '' ||
    asciiDomain.length > 253 ||
    labels.length < 2 ||
    !labels.every((label) => DOMAIN_LABEL.test(label)) ||
    /^\d+$/.test(labels[labels.length - 1])
  ) {
    return fail(`${quote(domain)} is not a valid domain`);
  }
  return `${local.toLowerCase()}@${asciiDomain}`;
}

function parseId(raw: string | number): string | DncError {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return invalidContact(`id ${String(raw)} is not a finite number`);
    return String(raw);
  }
  const id = raw.trim();
  if (id.length === 0) return invalidContact('the id is empty');
  return id;
}

const CONTACT_FIELDS = ['phone', 'whatsapp', 'email', 'id', 'country'] as const;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Builds a ParsedContact; keys follow the field order phone, whatsapp, email, id and are distinct. */
function contactOf(fields: {
  phone?: string;
  whatsapp?: string;
  email?: string;
  id?: string;
}): ParsedContact {
  const keys: string[] = [];
  if (fields.phone !== undefined) keys.push(fields.phone);
  if (fields.whatsapp !== undefined && fields.whatsapp !== fields.phone) keys.push(fields.whatsapp);
  if (fields.email !== undefined) keys.push(fields.email);
  if (fields.id !== undefined) keys.push(`id:${fields.id}`);
  const contact: { -readonly [K in keyof ParsedContact]: ParsedContact[K] } = { keys };
  if (fields.phone !== undefined) contact.phone = fields.phone;
  if (fields.whatsapp !== undefined) contact.whatsapp = fields.whatsapp;
  if (fields.email !== undefined) contact.email = fields.email;
  if (fields.id !== undefined) contact.id = fields.id;
  return contact;
}

export class ContactParser {
  readonly defaultCountry: string | undefined;
  private readonly country: CountryCode | undefined;

  constructor(options: ContactParserOptions = {}) {
    const given = options.defaultCountry;
    if (given === undefined || given === '') {
      this.country = undefined;
    } else {
      const country = typeof given === 'string' ? normaliseCountry(given) : undefined;
      if (!country) {
        throw new DncError(
          'DNC_INVALID_INPUT',
          `defaultCountry ${JSON.stringify(given)} is not an ISO 3166-1 alpha-2 country code with a numbering plan`,
          { field: 'defaultCountry' },
        );
      }
      this.country = country;
    }
    this.defaultCountry = this.country;
  }

  /** Parses a contact (string or object) into its index keys; throws DncError DNC_INVALID_CONTACT. */
  parse(input: unknown): ParsedContact {
    // The E.164 fast path first: it is the input of nearly every check.
    if (typeof input === 'string' && isE164Shaped(input) && e164Answer(input) === E164Answer.Valid) {
      return { keys: [input], phone: input };
    }
    const result = this.parseAny(input);
    if (result instanceof DncError) throw result;
    return result;
  }

  /** Like parse(), but returns the DncError instead of throwing (batch checks). */
  tryParse(input: unknown): ParsedContact | DncError {
    if (typeof input === 'string' && isE164Shaped(input) && e164Answer(input) === E164Answer.Valid) {
      return { keys: [input], phone: input };
    }
    try {
      return this.parseAny(input);
    } catch (error) {
      // Only a bug could land here; keep the never-throws promise.
      return error instanceof DncError
        ? error
        : new DncError('DNC_INVALID_CONTACT', `the contact could not be parsed: ${String(error)}`, {
            field: 'contact',
            cause: error,
          });
    }
  }

  /** A phone number (any accepted form) -> E.164; throws DNC_INVALID_CONTACT. */
  phoneKey(text: string, country?: string): string {
    if (typeof text !== 'string')
      throw invalidContact(`a phone number must be a string, got ${describe(text)}`);
    if (text.length > MAX_CONTACT_TEXT_LENGTH)
      throw invalidContact(`the phone number is longer than ${MAX_CONTACT_TEXT_LENGTH} characters`);
    let countryCode = this.country;
    if (country !== undefined) {
      countryCode = normaliseCountry(country);
      if (!countryCode)
        throw invalidContact(`country ${JSON.stringify(country)} is not an ISO 3166-1 alpha-2 country code`);
    }
    const key = phoneKeyOrError(text, countryCode);
    if (key instanceof DncError) throw key;
    return key;
  }

  private parseAny(input: unknown): ParsedContact | DncError {
    if (typeof input === 'string') return this.parseString(input);
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) return this.parseObject(input);
    return invalidContact(
      `a contact must be a phone number, an email address or an object with phone, whatsapp, email or id; got ${describe(input)}`,
    );
  }

  private parseString(input: string): ParsedContact | DncError {
    if (input.length > MAX_CONTACT_TEXT_LENGTH) {
      return invalidContact(`the contact is longer than ${MAX_CONTACT_TEXT_LENGTH} characters`);
    }
    const text = input.trim();
    if (text.length === 0) return invalidContact('the contact is empty');
    if (/^id:/i.test(text)) {
      // The key form of an external id parses to itself, so keys can be fed back in.
      const id = parseId(text.slice(3));
      return id instanceof DncError ? id : contactOf({ id });
    }
    const lower = text.slice(0, 9).toLowerCase();
    const isSip = lower.startsWith('sip:') || lower.startsWith('sips:');
    if (lower.startsWith('mailto:') || (!isSip && text.includes('@'))) {
      const email = parseEmail(text);
      return email instanceof DncError ? email : contactOf({ email });
    }
    const whatsapp = lower.startsWith('whatsapp:');
    const phone = phoneKeyOrError(whatsapp ? text.slice(9).trim() : text, this.country);
    if (phone instanceof DncError) return phone;
    return whatsapp ? contactOf({ whatsapp: phone }) : contactOf({ phone });
  }

  private parseObject(input: object): ParsedContact | DncError {
    // Own properties only: `__proto__` or inherited keys must never turn into identifiers.
    const own = (name: string): unknown =>
      Object.prototype.hasOwnProperty.call(input, name)
        ? (input as Record<string, unknown>)[name]
        : undefined;
    const values: Partial<Record<(typeof CONTACT_FIELDS)[number], unknown>> = {};
    for (const field of CONTACT_FIELDS) {
      const value = own(field);
      // null and blank strings are "no value": CRM rows carry them for missing data.
      if (value === undefined || value === null || (typeof value === 'string' && value.trim() === ''))
        continue;
      if (
        field === 'id' ? typeof value !== 'string' && typeof value !== 'number' : typeof value !== 'string'
      ) {
        return invalidContact(
          `contact.${field} must be a ${field === 'id' ? 'string or number' : 'string'}, got ${describe(value)}`,
        );
      }
      if (typeof value === 'string' && value.length > MAX_CONTACT_TEXT_LENGTH) {
        return invalidContact(`contact.${field} is longer than ${MAX_CONTACT_TEXT_LENGTH} characters`);
      }
      values[field] = value;
    }
    let country = this.country;
    if (values.country !== undefined) {
      country = normaliseCountry(values.country as string);
      if (!country) {
        return invalidContact(
          `contact.country: ${JSON.stringify(values.country)} is not an ISO 3166-1 alpha-2 country code`,
        );
      }
    }
    const fields: { phone?: string; whatsapp?: string; email?: string; id?: string } = {};
    for (const field of ['phone', 'whatsapp'] as const) {
      const value = values[field] as string | undefined;
      if (value === undefined) continue;
      const text = value.trim();
      const number = /^whatsapp:/i.test(text) ? text.slice(9).trim() : text;
      const key = phoneKeyOrError(number, country);
      if (key instanceof DncError) return invalidContact(`contact.${field}: ${key.message}`);
      fields[field] = key;
    }
    if (values.email !== undefined) {
      const email = parseEmail(values.email as string);
      if (email instanceof DncError) return invalidContact(`contact.email: ${email.message}`);
      fields.email = email;
    }
    if (values.id !== undefined) {
      const id = parseId(values.id as string | number);
      if (id instanceof DncError) return invalidContact(`contact.id: ${id.message}`);
      fields.id = id;
    }
    if (Object.keys(fields).length === 0) {
      return invalidContact('the contact object has none of phone, whatsapp, email or id');
    }
    return contactOf(fields);
  }
}

/** A short display form: the first key (phone, whatsapp, email, else the id without its `id:` prefix). */
export function contactLabel(contact: ParsedContact): string {
  const first = contact.keys[0] ?? '';
  return first.startsWith('id:') ? first.slice(3) : first;
}
