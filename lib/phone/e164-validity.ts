/**
 * Validity (and type) of E.164 input without parsing: the fast path of ContactParser and of the
 * calling policy's zone lookup. The answers are libphonenumber-js's own ('max' metadata), memoised.
 */
import { Metadata } from 'libphonenumber-js/core';
import { isValidPhoneNumber } from 'libphonenumber-js/max';
import maxMetadata from 'libphonenumber-js/max/metadata';
import { UnsupportedRegexError } from './metadata-regex';
import {
  CallingCodeAutomaton,
  E164Answer,
  NUMBER_TYPE_ANSWERS,
  TYPE_ASK_LIBPHONENUMBER,
  TYPE_NONE,
  typeFromLibphonenumber,
  type MetadataView,
  type PhoneNumberType,
} from './pattern-automaton';

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

/**
 * The automaton of an E.164 number's calling code (`+` and at least three digits), compiled on first use:
 * undefined when no calling code starts the number, null when its patterns are not compilable
 * (libphonenumber decides).
 */
function automatonOf(e164: string): CallingCodeAutomaton | null | undefined {
  const d1 = e164.charCodeAt(1) - 48;
  const d2 = e164.charCodeAt(2) - 48;
  const d3 = e164.charCodeAt(3) - 48;
  let ccLength = callingCodeLength[d1];
  if (ccLength === 0) ccLength = callingCodeLength[10 + d1 * 10 + d2]!;
  if (ccLength === 0) ccLength = callingCodeLength[110 + d1 * 100 + d2 * 10 + d3]!;
  if (ccLength === 0) return undefined;
  const callingCode = e164.slice(1, 1 + ccLength);
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
export function isE164Shaped(text: string): boolean {
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

/** The memoised answer for an E.164-shaped string (isE164Shaped). */
export function e164Answer(e164: string): E164Answer {
  const automaton = automatonOf(e164);
  // No such calling code: libphonenumber does not parse it.
  if (automaton === undefined) return E164Answer.InvalidCallingCode;
  if (automaton === null) return E164Answer.AskLibphonenumber;
  const states = automaton.stateCount;
  const answer = automaton.answer(e164);
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
  const automaton = automatonOf(e164);
  if (automaton === undefined) return undefined;
  if (automaton === null) return typeFromLibphonenumber(e164);
  const states = automaton.stateCount;
  const answer = automaton.typeAnswer(e164);
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
