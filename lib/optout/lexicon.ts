/**
 * What a language contributes to the classifier. Every phrase is written as people type it; the
 * classifier normalises it exactly as it normalises a message (accents, apostrophes, hyphens).
 */
import type { IntentKind } from './patterns';

/** `[kind, pattern]`, optionally with a confidence and flags (`r`: a time right after makes it a restriction). */
export type PatternTuple =
  | readonly [Exclude<IntentKind, 'none'>, string]
  | readonly [Exclude<IntentKind, 'none'>, string, number]
  | readonly [Exclude<IntentKind, 'none'>, string, number, 'r'];

export interface Lexicon {
  /** BCP 47 code (`en`, `hi`...); `*` for the language-neutral carrier keywords. */
  readonly language: string;
  /** Named word lists, used in patterns as `@name`. */
  readonly classes: Readonly<Record<string, readonly string[]>>;
  /** Whole-message replies (politeness words aside): `STOP`, `stop please`, `Baja por favor`. */
  readonly keywords: Readonly<Partial<Record<Exclude<IntentKind, 'none'>, readonly string[]>>>;
  /**
   * Keywords sent with a service or brand code on shared short codes ("RET ACME", "UNREG QURAN", "REG
   * HUMOR", "Stop 34990"): a reply of the keyword and one or two codes (capitals or digits, words the
   * rules do not know) is that keyword. Optional.
   */
  readonly coded?: Readonly<Partial<Record<'opt-out' | 'opt-in', readonly string[]>>>;
  /**
   * Whole-message keywords that are ordinary words in another language (Italian FINE, English "fine"):
   * they count only in a classifier whose fallback language is this one. Optional.
   */
  readonly ownKeywords?: Readonly<Partial<Record<Exclude<IntentKind, 'none'>, readonly string[]>>>;
  /** Opt-out keywords that decide even as one part of a longer message ("Stop. I mean it."). */
  readonly strong: readonly string[];
  /** Opt-out keywords that decide when written in capitals inside a sentence ("I said STOP texting"). */
  readonly capitals: readonly string[];
  readonly patterns: readonly PatternTuple[];
  /**
   * Complaint forms ("why do you keep calling me", "how did you get my number"), as pattern sources:
   * opt-outs only when the classifier's `complaintsAsOptOut` is on, else set aside (why: `complaint`).
   */
  readonly complaints?: readonly string[];
  /**
   * Frames that report someone else's words, as pattern sources ("my husband told you to", "mi esposo
   * dijo que", "Sie erhalten"): a rule matching right after one is set aside (why: `reported`). The
   * person's own report ("I told you to stop calling") is not one: it repeats their request. Optional.
   */
  readonly reported?: readonly string[];
  /**
   * Verbs of saying that follow the words they report, for verb-final languages (Turkish "aramayın
   * demiş", Hindi "call mat karo bola"): a rule followed by one within three words, in its segment, is
   * set aside (why: `reported`). Optional.
   */
  readonly reportedAfter?: readonly string[];
  /** Words that may surround a keyword reply: please, thanks, now, por favor, bitte, svp, kripya... */
  readonly politeness: readonly string[];
  /**
   * Phrases in which a keyword is a noun, not a request ("bus stop", "next stop"): a rule whose first
   * word falls inside one is set aside (why: `noun`). Optional.
   */
  readonly nounPhrases?: readonly string[];
  /** Words that negate what follows them ("not", "no", "ne", "nicht", "não"). */
  readonly negators: readonly string[];
  /** Words that negate what precedes them (Hindi "नहीं", "मत"; French "pas"). */
  readonly postNegators: readonly string[];
  /** Words a negation reaches across ("do not *want to* unsubscribe"). */
  readonly licensed: readonly string[];
  /** Phrases that make what follows in the clause hypothetical or a question about it ("if", "what happens"). */
  readonly hypothetical: readonly string[];
  /**
   * Words in the match or after it in its clause that make it hypothetical, for languages that put the
   * condition on the verb after the keyword (Turkish "RET yazarsam ne olur?"). Optional.
   */
  readonly hypotheticalAfter?: readonly string[];
  /**
   * Phrases that make a hypothetical opt-out a remark, not a question ("if I wanted you to stop I'd *tell
   * you*"): such a message is none, not a help request. Optional.
   */
  readonly counterfactual?: readonly string[];
  /** Words right after a restrictable match that make it a time restriction ("before", "tomorrow"). */
  readonly restrict: readonly string[];
  /** Verbs that introduce a keyword as an instruction to quote ("reply STOP to..."). */
  readonly instructions: readonly string[];
  /**
   * Verbs that follow the keyword they quote, for verb-final languages (Turkish "RET yazıp 3838'e
   * gönderin"). Optional.
   */
  readonly instructionsAfter?: readonly string[];
  /** Frequent words, for guessing the language of a bare keyword's message. */
  readonly functionWords: readonly string[];
  /** Words that name what an opt-out is about: marketing, sales, surveys. */
  readonly topics: Readonly<Record<string, readonly string[]>>;
  /** Words that name a channel: voice, sms, email, whatsapp. */
  readonly channels: Readonly<Record<string, readonly string[]>>;
}
