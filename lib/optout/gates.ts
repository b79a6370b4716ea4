/**
 * The gates a candidate intent passes before it decides (the classifier's third pass): a hypothetical or
 * question before it in the clause, an instruction to send a keyword in its clause, a negation before
 * it (reaching only across licensed words) or after it, a time restriction right after a restrictable
 * phrase. Each language has its gates; `*` (language-neutral rules) uses every language's, less the
 * words that mean something else elsewhere.
 */
import type { Lexicon } from './lexicon';
import { phraseTokens, type Tokens } from './normalise';

export interface Gates {
  readonly negators: ReadonlySet<string>;
  readonly postNegators: ReadonlySet<string>;
  readonly licensed: ReadonlySet<string>;
  readonly hypothetical: readonly (readonly string[])[];
  /** Cues in or after the match that make it hypothetical (Turkish conditionals). */
  readonly hypotheticalAfter: readonly (readonly string[])[];
  readonly restrict: readonly (readonly string[])[];
}

/** A span of the message's tokens that a rule matched. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

const NEGATION_REACH = 6;

/** The tokens of every word or phrase of the lists, as one set. */
export function tokenSet(...lists: readonly (readonly string[])[]): Set<string> {
  const out = new Set<string>();
  for (const list of lists) for (const word of list) for (const t of phraseTokens(word)) out.add(t);
  return out;
}

/** Each phrase of the list as its tokens (empty phrases dropped). */
export function tokenPhrases(list: readonly string[]): string[][] {
  return list.map(phraseTokens).filter((p) => p.length > 0);
}

function startsWithAt(norm: readonly string[], at: number, phrase: readonly string[]): boolean {
  if (at + phrase.length > norm.length) return false;
  for (let k = 0; k < phrase.length; k++) if (norm[at + k] !== phrase[k]) return false;
  return true;
}

export function languageGates(lexicon: Lexicon, universal: Lexicon): Gates {
  return {
    negators: tokenSet(lexicon.negators, universal.negators),
    postNegators: tokenSet(lexicon.postNegators),
    licensed: tokenSet(lexicon.licensed),
    hypothetical: tokenPhrases(lexicon.hypothetical),
    hypotheticalAfter: tokenPhrases(lexicon.hypotheticalAfter ?? []),
    restrict: tokenPhrases(lexicon.restrict),
  };
}

/**
 * The gates of the language-neutral rules: every language's, except words that mean something else
 * elsewhere ("no" is a negation in Spanish but an interjection in English: "no, stop texting me").
 */
export function universalGates(universal: Lexicon, lexicons: readonly Lexicon[]): Gates {
  const ambiguous = new Set([
    'no',
    'na',
    'se',
    'si',
    'ni',
    'cuando',
    'caso',
    'ob',
    'non',
    'als',
    'tak',
    'ga',
    // Italian "never" is romanised Hindi "I" ("mai STOP likh raha hu"); Turkish "I wonder" is Spanish
    // and Portuguese "ends" / "has just" ("se acaba", "acaba de").
    'mai',
    'acaba',
  ]);
  const keep = (words: Iterable<string>) => [...words].filter((w) => !ambiguous.has(w));
  return {
    negators: new Set(keep(tokenSet(universal.negators, ...lexicons.map((l) => l.negators)))),
    postNegators: tokenSet(universal.postNegators),
    licensed: tokenSet(universal.licensed, ...lexicons.map((l) => l.licensed)),
    hypothetical: tokenPhrases([...universal.hypothetical, ...lexicons.flatMap((l) => keep(l.hypothetical))]),
    hypotheticalAfter: tokenPhrases(lexicons.flatMap((l) => l.hypotheticalAfter ?? [])),
    restrict: [],
  };
}

/** Words before "if" that make it a polite request, not a condition ("I'd appreciate it if you stopped"). */
const POLITE_IF = new Set([
  'appreciate',
  'appreciated',
  'grateful',
  'thankful',
  'glad',
  'happy',
  'love',
  'prefer',
]);

function politeIf(norm: readonly string[], at: number): boolean {
  if (norm[at] !== 'if') return false;
  const before = norm[at - 1] === 'it' ? norm[at - 2] : norm[at - 1];
  return before !== undefined && POLITE_IF.has(before);
}

/** "text messages": the instruction verb is a noun's first word here. */
const NOT_AN_INSTRUCTION_BEFORE = new Set(['messages', 'message', 'msgs', 'msg']);

/**
 * A hypothetical or question cue before the span in its clause ("what happens if I reply STOP"), or a
 * conditional in the span or after it (Turkish "RET yazarsam ne olur?").
 */
export function isHypothetical(tk: Tokens, c: Span, gates: Gates): boolean {
  const clauseNo = tk.clause[c.start];
  let i = c.start - 1;
  while (i >= 0 && tk.clause[i] === clauseNo) i -= 1;
  for (let k = i + 1; k < c.start; k++) {
    for (const phrase of gates.hypothetical) {
      if (k + phrase.length > c.start) continue;
      // A single-word cue must be written as such: "sí" (yes) is not "si" (if).
      if (phrase.length === 1 && tk.raw[k] !== tk.norm[k]) continue;
      if (startsWithAt(tk.norm, k, phrase) && !politeIf(tk.norm, k)) return true;
    }
  }
  if (gates.hypotheticalAfter.length === 0) return false;
  for (let k = c.start; k < tk.norm.length && tk.clause[k] === clauseNo; k++) {
    for (const phrase of gates.hypotheticalAfter) if (startsWithAt(tk.norm, k, phrase)) return true;
  }
  return false;
}

/** What an instruction to send a keyword is made of, every language's together. */
export interface InstructionWords {
  /** Verbs that introduce a keyword ("reply", "text", "envíe"). */
  readonly before: ReadonlySet<string>;
  /** Verbs that follow the keyword they quote (Turkish "RET yazıp gönderin"). */
  readonly after: ReadonlySet<string>;
  /** Every single-token keyword, any kind. */
  readonly keywords: ReadonlySet<string>;
  /** Single-token opt-out keywords ("STOP to cancel": the footer's second half). */
  readonly optOut: ReadonlySet<string>;
}

/** Words that name the keyword right after them: "the word STOP", "a palavra SAIR", "het woord STOP". */
const MENTION = new Set([
  'word',
  'keyword',
  'palabra',
  'palavra',
  'mot',
  'parola',
  'wort',
  'woord',
  'kata',
  'kelime',
]);
/** Words of purpose between a keyword and what it does: "STOP to cancel", "ARRET pour annuler". */
const PURPOSE = new Set(['to', 'pour', 'para', 'per', 'om', 'zum', 'um', 'untuk']);

/**
 * The clause tells the reader to send a keyword ("Text STOP to 12345"; Turkish "RET yazıp gönderin",
 * where the verb follows the keyword), names it as a word ("send the word STOP"), or is the second half
 * of a footer ("Reply HELP for help. STOP to cancel.").
 */
export function hasInstruction(tk: Tokens, clauseNo: number, words: InstructionWords): boolean {
  const norm = tk.norm;
  for (let i = 0; i < norm.length; i++) {
    if (tk.clause[i] !== clauseNo) continue;
    const word = norm[i];
    if (words.before.has(word) && !NOT_AN_INSTRUCTION_BEFORE.has(norm[i + 1])) {
      for (let k = i + 1; k <= i + 3 && k < norm.length && tk.clause[k] === clauseNo; k++) {
        // "Parem de enviar mensagens para este número": a keyword that is also a preposition counts
        // only in capitals ("Envía PARA al 555").
        if (words.keywords.has(norm[k]) && (!PURPOSE.has(norm[k]) || tk.caps[k])) return true;
      }
    }
    if (words.after.has(word)) {
      for (let k = i - 1; k >= i - 3 && k >= 0 && tk.clause[k] === clauseNo; k--) {
        if (words.keywords.has(norm[k])) return true;
      }
    }
    if (i + 1 < norm.length && tk.clause[i + 1] === clauseNo) {
      // "send the word STOP": only after an instruction verb ("I said the word STOP, stop texting me"
      // is a request).
      if (MENTION.has(word) && words.keywords.has(norm[i + 1]) && instructionBefore(tk, i, words.before))
        return true;
      // "STOP to cancel": an opt-out keyword in capitals, or opening its clause, then what it does.
      if (
        words.optOut.has(word) &&
        (tk.caps[i] || i === 0 || tk.clause[i - 1] !== clauseNo) &&
        !PURPOSE.has(word) &&
        PURPOSE.has(norm[i + 1]) &&
        i + 2 < norm.length &&
        tk.clause[i + 2] === clauseNo &&
        (words.optOut.has(norm[i + 2]) || norm[i + 2] === 'opt')
      )
        return true;
    }
  }
  return false;
}

/** An instruction verb stands before `at` in its clause. */
function instructionBefore(tk: Tokens, at: number, verbs: ReadonlySet<string>): boolean {
  for (let k = at - 1; k >= 0 && tk.clause[k] === tk.clause[at]; k--) if (verbs.has(tk.norm[k])) return true;
  return false;
}

/** One of the phrases starts at `at`. */
export function startsWithPhrase(
  norm: readonly string[],
  at: number,
  phrases: readonly (readonly string[])[],
): boolean {
  for (const phrase of phrases) if (startsWithAt(norm, at, phrase)) return true;
  return false;
}

/**
 * One of the phrases covers the token at `at` ("bus stop" covers the `stop` of "at the bus stop"); a
 * `repeated` token (a word said twice, read once) is not covered by a phrase it ends.
 */
export function inPhrase(
  norm: readonly string[],
  at: number,
  phrases: readonly (readonly string[])[],
  repeated = false,
): boolean {
  for (const phrase of phrases) {
    for (let k = Math.max(0, at - phrase.length + 1); k <= at; k++) {
      // A word said twice at a phrase's end ("the bus stop stop texting me"): one ends the phrase, the
      // other begins what follows.
      if (repeated && k + phrase.length - 1 === at) continue;
      if (startsWithAt(norm, k, phrase)) return true;
    }
  }
  return false;
}

/** A negation before the span (across licensed words only) or right after it (Hindi "nahi"). */
export function isNegated(tk: Tokens, c: Span, gates: Gates): boolean {
  const segmentNo = tk.segment[c.start];
  for (
    let i = c.start - 1, steps = 0;
    i >= 0 && steps < NEGATION_REACH && tk.segment[i] === segmentNo;
    i--, steps++
  ) {
    const word = tk.norm[i];
    if (gates.negators.has(word)) return true;
    if (!gates.licensed.has(word)) break;
  }
  const after = c.end;
  if (after < tk.norm.length && tk.segment[after] === segmentNo && gates.postNegators.has(tk.norm[after])) {
    const next = tk.norm[after + 1];
    return next !== 'to' && next !== 'तो';
  }
  return false;
}

/** A time right after a restrictable phrase ("don't call me before noon"). */
export function isRestricted(tk: Tokens, c: Span, gates: Gates): boolean {
  const at = c.end;
  if (at >= tk.norm.length || tk.segment[at] !== tk.segment[c.start]) return false;
  for (const phrase of gates.restrict) if (startsWithAt(tk.norm, at, phrase)) return true;
  return false;
}
