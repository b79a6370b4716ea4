/**
 * One calling code's metadata patterns compiled into a single automaton over digits, and the answers
 * of libphonenumber it memoises per (DFA state, national length): validity with its reason, and the
 * number type. Why this is exact is explained in e164-validity.ts.
 */
import parsePhoneNumberFromString, { validatePhoneNumberLength } from 'libphonenumber-js/max';
import { parseRegex, type RegexNode } from './metadata-regex';

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
export interface MetadataView {
  selectNumberingPlan(countryOrCallingCode: string): void;
  numberingPlan?: NumberingPlanView;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
  hasCallingCode(callingCode: string): boolean;
}

interface Fragment {
  nullable: boolean;
  first: number[];
  last: number[];
}

/** One calling code's patterns compiled into a single Glushkov automaton and a lazily built DFA. */
export class CallingCodeAutomaton {
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
  /** Index of the national number's first digit in an E.164 string of this calling code. */
  private readonly nationalStart: number;

  constructor(
    readonly callingCode: string,
    metadata: MetadataView,
  ) {
    this.nationalStart = 1 + callingCode.length;
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
   * The memoised answer for an E.164 string whose calling code is this one. The string must be `+` and
   * digits only.
   */
  answer(e164: string): E164Answer {
    const slot = this.slotAfter(e164);
    const known = this.answers[slot];
    if (known !== 0) return known;
    const computed = this.nationalPrefixMayMatch(slot)
      ? E164Answer.AskLibphonenumber // libphonenumber may strip or rewrite a national prefix
      : answerFromLibphonenumber(e164);
    this.answers[slot] = computed;
    return computed;
  }

  /**
   * libphonenumber's `getType()` for an E.164 string whose calling code is this one, memoised like
   * `answer` (the type is decided by the same patterns and lengths). AskLibphonenumber where a national
   * prefix may be rewritten.
   */
  typeAnswer(e164: string): TypeAnswer {
    const slot = this.slotAfter(e164);
    const known = this.types[slot];
    if (known !== 0) return known;
    const computed = this.nationalPrefixMayMatch(slot)
      ? TYPE_ASK_LIBPHONENUMBER
      : typeAnswerOf(typeFromLibphonenumber(e164));
    this.types[slot] = computed;
    return computed;
  }

  /** The memo slot of a number: (DFA state after its national digits) * 16 + national length. */
  private slotAfter(e164: string): number {
    const nationalStart = this.nationalStart;
    let state = 0;
    for (let i = nationalStart; i < e164.length; i++) {
      const digit = e164.charCodeAt(i) - 48;
      const next = this.transitions[state * 10 + digit];
      state = next >= 0 ? next : this.buildTransition(state, digit);
    }
    return state * 16 + (e164.length - nationalStart);
  }

  /** In the slot's state, the national-prefix-for-parsing pattern may have matched (national length < 16). */
  private nationalPrefixMayMatch(slot: number): boolean {
    return (
      this.nationalPrefixPattern >= 0 &&
      this.stateMatchedPrefixes[slot >>> 4][this.nationalPrefixPattern] === 1
    );
  }
}

/** What getType() answers: the metadata's types, and FIXED_LINE_OR_MOBILE when both patterns match. */
export const NUMBER_TYPE_ANSWERS = [...PHONE_NUMBER_TYPES, 'FIXED_LINE_OR_MOBILE'] as const;
export type PhoneNumberType = (typeof NUMBER_TYPE_ANSWERS)[number];

/** A memoised number type: 1 + index in NUMBER_TYPE_ANSWERS, TYPE_NONE (no type), or "ask". */
export type TypeAnswer = number;
export const TYPE_NONE = 254;
export const TYPE_ASK_LIBPHONENUMBER = 255;

function typeAnswerOf(type: PhoneNumberType | undefined): TypeAnswer {
  const index = type === undefined ? -1 : NUMBER_TYPE_ANSWERS.indexOf(type);
  return index < 0 ? TYPE_NONE : 1 + index;
}

export function typeFromLibphonenumber(e164: string): PhoneNumberType | undefined {
  return parsePhoneNumberFromString(e164, { extract: false })?.getType();
}

export const enum E164Answer {
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

export const INVALID_REASONS: Record<number, string> = {
  [E164Answer.InvalidTooShort]: 'too short',
  [E164Answer.InvalidTooLong]: 'too long',
  [E164Answer.InvalidLength]: 'wrong number of digits',
  [E164Answer.InvalidCallingCode]: 'unknown country calling code',
  [E164Answer.InvalidNotInUse]: 'not a number in use in any numbering plan',
};

export const LENGTH_PROBLEM_ANSWERS: Record<string, E164Answer> = {
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
