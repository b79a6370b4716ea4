/**
 * The opt-out classifier: deterministic rules, no model, no network. A message is read in three passes:
 *
 * 1. Keyword reply: the whole message, politeness words aside, is one keyword of a kind ("STOP",
 *    "stop please", "Baja por favor", "HELP", "START"). Confidence 1 for the carrier keywords.
 * 2. Phrases: every pattern that one of the message's tokens can start is tried ("take me off your
 *    list", "no me llames más", "mujhe call mat karo"); also a strong keyword standing alone in one part
 *    of a longer message ("Stop. I mean it.") and a keyword in capitals inside a sentence ("I said STOP").
 * 3. Gates, for each candidate: a hypothetical or question about opting out before it in the clause
 *    ("what happens if I reply STOP") makes it a help request; an instruction to send a keyword
 *    ("Text STOP to 12345") discards it; a negation before it (reaching only across words like "want
 *    to") or after it (Hindi "nahi", French "pas") discards it; a time right after a restrictable phrase
 *    ("don't call me before noon") discards it. A complaint form ("why do you keep calling me", "how did
 *    you get my number") passes the same gates and decides as an opt-out only with `complaintsAsOptOut`;
 *    otherwise it is set aside as `complaint`, so the result records it either way.
 * The surviving candidate with the strongest kind (opt-out, then help, then opt-in) and the highest
 * confidence decides; `matched` quotes its words from the message and `rule` names the rule.
 */
import type { Lexicon } from './lexicon';
import { de } from './de';
import { en } from './en';
import { es } from './es';
import {
  hasInstruction,
  inPhrase,
  isHypothetical,
  startsWithPhrase,
  isNegated,
  isRestricted,
  languageGates,
  tokenPhrases,
  tokenSet,
  universalGates,
  type Gates,
} from './gates';
import { fr } from './fr';
import { hi } from './hi';
import { id } from './id';
import { it } from './it';
import { nl } from './nl';
import { phraseTokens, tokenise, type Tokens } from './normalise';
import {
  compilePattern,
  matchAt,
  PatternIndex,
  type CompiledPattern,
  type IntentKind,
  type MatchContext,
} from './patterns';
import { pt } from './pt';
import { tr } from './tr';
import { universal } from './universal';

export type { IntentKind } from './patterns';

export const LEXICONS: readonly Lexicon[] = [en, es, fr, de, pt, hi, it, nl, id, tr];
/** The languages the classifier reads (`hi` covers romanised Hindi, reported as `hi-Latn`). */
export const LANGUAGES = ['en', 'es', 'fr', 'de', 'pt', 'hi', 'hi-Latn', 'it', 'nl', 'id', 'tr'] as const;
export const TOPICS = ['marketing', 'sales', 'surveys'] as const;

export type IgnoredWhy =
  'negated' | 'hypothetical' | 'instruction' | 'restriction' | 'complaint' | 'noun' | 'reported';

export interface Classification {
  readonly kind: IntentKind;
  /** The words of the message that decided (null for none). */
  readonly matched: string | null;
  /** The rule that decided: `keyword: stop`, `en: (stop|quit...) @ing`... (null for none). */
  readonly rule: string | null;
  readonly language: string;
  readonly confidence: number;
  /** What the message says the opt-out is about (marketing, sales, surveys). */
  readonly topics: string[];
  /** Channels the message names ("stop calling" = voice, "no more texts" = sms). */
  readonly channels: string[];
  /** Phrases that looked like an intent but were set aside, and why. */
  readonly ignored: { matched: string; rule: string; why: IgnoredWhy }[];
  /** The normalised words of the message, space-separated (for custom topic words). */
  readonly words: string;
}

export interface ClassifierOptions {
  /**
   * Language of a message that gives no clue (a bare "STOP"): default `en`. `auto` guesses it from the
   * message alone and falls back to `en`, like the default.
   */
  readonly fallbackLanguage?: string;
  /**
   * Complaint forms ("why do you keep calling me", "how did you get my number", "who gave you my
   * number") count as opt-outs (rule `complaint (en): ...`); off by default, when they are set aside
   * in `ignored` with why `complaint`.
   */
  readonly complaintsAsOptOut?: boolean;
}

/** Confidence of an opt-out read from a complaint form: below every phrase that says so outright. */
const COMPLAINT_CONFIDENCE = 0.7;

interface KeywordEntry {
  readonly kind: Exclude<IntentKind, 'none'>;
  readonly languages: readonly string[];
  readonly phrase: string;
}

interface Candidate {
  readonly kind: Exclude<IntentKind, 'none'>;
  readonly start: number;
  readonly end: number;
  readonly confidence: number;
  readonly language: string;
  readonly rule: string;
  readonly restrictable: boolean;
  /** Read from a complaint form (an opt-out only with `complaintsAsOptOut`). */
  readonly complaint?: boolean;
}

const KIND_ORDER: Record<Exclude<IntentKind, 'none'>, number> = { 'opt-out': 3, help: 2, 'opt-in': 1 };
const DEVANAGARI = /[\u0900-\u097f]/;
const MAX_KEYWORD_TOKENS = 5;
/** How many words may stand between a reporting frame and the words it reports ("zei dat jullie moeten stoppen"). */
const REPORT_REACH = 3;
/** Words after which a message goes on in the person's own voice ("he said that's fine *but* stop"). */
const CONTRAST = new Set([
  'but',
  'pero',
  'mas',
  'mais',
  'aber',
  'maar',
  'ma',
  'tapi',
  'tetapi',
  'namun',
  'lekin',
  'ama',
  'fakat',
  'however',
]);

export class OptOutClassifier {
  private readonly fallback: string;
  private readonly complaintsAsOptOut: boolean;
  private readonly politeness: Set<string>;
  private readonly keywords = new Map<string, KeywordEntry>();
  private readonly strong = new Map<string, string>();
  private readonly capitals = new Map<string, string>();
  private readonly index = new PatternIndex();
  private readonly complaintIndex = new PatternIndex();
  /** Verbs of saying after the words they report (Turkish "demiş"), by language; `*` has every language's. */
  private readonly reportedAfter = new Map<string, Set<string>>();
  /** Frames reporting someone else's words ("my husband told you to"). */
  private readonly reportedIndex = new PatternIndex();
  private readonly gates = new Map<string, Gates>();
  private readonly instructions: Set<string>;
  /** Verbs that follow the keyword they quote (Turkish "RET yazıp gönderin"). */
  private readonly instructionsAfter: Set<string>;
  /** Keywords sent with a service or brand code ("RET ACME"), by token. */
  private readonly coded = new Map<string, { kind: 'opt-out' | 'opt-in'; language: string }>();
  /** Phrases that make a hypothetical opt-out a remark ("...I'd tell you"), every language's. */
  private readonly counterfactual: string[][];
  /** Phrases in which a keyword is a noun ("bus stop"), every language's. */
  private readonly nounPhrases: string[][];
  /** Every word the rules know, for reading a stretched word back ("callll" = "call"). */
  private readonly vocabulary = new Set<string>();
  /** Single-token keywords (any kind), for spotting "reply STOP" instructions. */
  private readonly keywordTokens = new Set<string>();
  /** Single-token opt-out keywords: "if I text stop..." is a question about opting out. */
  private readonly optOutTokens = new Set<string>();
  private readonly functionWords = new Map<string, string[]>();
  private readonly topicWords = new Map<string, string[]>();
  private readonly channelWords = new Map<string, string[]>();
  /** Several-word topic and channel names, by their first word. */
  private readonly namePhrases = new Map<
    string,
    { words: readonly string[]; name: string; topic: boolean }[]
  >();

  constructor(options: ClassifierOptions = {}) {
    const fallback = options.fallbackLanguage ?? 'en';
    this.fallback = fallback === 'auto' || fallback === '' ? 'en' : fallback;
    this.complaintsAsOptOut = options.complaintsAsOptOut === true;
    const all = [universal, ...LEXICONS];
    this.politeness = tokenSet(...all.map((l) => l.politeness));
    this.instructions = tokenSet(...all.map((l) => l.instructions));
    this.instructionsAfter = tokenSet(...all.map((l) => l.instructionsAfter ?? []));
    this.nounPhrases = tokenPhrases(all.flatMap((l) => l.nounPhrases ?? []));
    this.counterfactual = tokenPhrases(all.flatMap((l) => l.counterfactual ?? []));
    for (const lexicon of LEXICONS)
      this.reportedAfter.set(lexicon.language, tokenSet(lexicon.reportedAfter ?? []));
    this.reportedAfter.set('*', tokenSet(...LEXICONS.map((l) => l.reportedAfter ?? [])));
    for (const lexicon of LEXICONS) {
      this.gates.set(lexicon.language, languageGates(lexicon, universal));
    }
    this.gates.set('*', universalGates(universal, LEXICONS));
    for (const lexicon of all) this.addLexicon(lexicon);
  }

  /** The words of a reply without politeness; a reply made only of such words is kept whole ("Ja", "ok"). */
  private core(tokens: readonly string[]): string {
    const kept = tokens.filter((t) => !this.politeness.has(t));
    return (kept.length > 0 ? kept : tokens).join(' ');
  }

  private addLexicon(lexicon: Lexicon): void {
    const language = lexicon.language;
    for (const word of tokenSet(
      ...Object.values(lexicon.classes),
      ...Object.values(lexicon.keywords),
      lexicon.strong,
      lexicon.capitals,
      lexicon.politeness,
      lexicon.patterns.map((p) => p[1]),
      lexicon.complaints ?? [],
    ))
      this.vocabulary.add(word);
    for (const kind of ['opt-out', 'help', 'opt-in'] as const) {
      const own = language === this.fallback ? (lexicon.ownKeywords?.[kind] ?? []) : [];
      for (const phrase of [...(lexicon.keywords[kind] ?? []), ...own]) {
        const tokens = phraseTokens(phrase);
        const key = this.core(tokens);
        if (key === '') continue;
        if (tokens.length === 1) {
          this.keywordTokens.add(tokens[0]);
          if (kind === 'opt-out') this.optOutTokens.add(tokens[0]);
        }
        const existing = this.keywords.get(key);
        if (existing === undefined) this.keywords.set(key, { kind, languages: [language], phrase });
        else if (existing.kind === kind && !existing.languages.includes(language)) {
          this.keywords.set(key, { ...existing, languages: [...existing.languages, language] });
        }
      }
    }
    for (const kind of ['opt-out', 'opt-in'] as const) {
      // A coded opt-in ("REG HUMOR") lifts a block: only in the node's own language.
      if (kind === 'opt-in' && language !== this.fallback) continue;
      for (const word of lexicon.coded?.[kind] ?? []) {
        const tokens = phraseTokens(word);
        if (tokens.length === 1) this.coded.set(tokens[0], { kind, language });
      }
    }
    for (const phrase of lexicon.strong) this.strong.set(this.core(phraseTokens(phrase)), language);
    for (const word of lexicon.capitals) {
      this.capitals.set(phraseTokens(word).join(' '), language);
      this.keywordTokens.add(phraseTokens(word).join(' '));
    }
    for (const [kind, source, confidence, flag] of lexicon.patterns) {
      for (const compiled of compilePattern(
        { kind, source, confidence: confidence ?? 0.9, restrictable: flag === 'r' },
        language,
        lexicon.classes,
      )) {
        this.index.add(compiled);
      }
    }
    for (const source of lexicon.complaints ?? []) {
      const spec = {
        kind: 'opt-out' as const,
        source,
        confidence: COMPLAINT_CONFIDENCE,
        restrictable: false,
      };
      for (const compiled of compilePattern(spec, language, lexicon.classes))
        this.complaintIndex.add(compiled);
    }
    for (const source of lexicon.reported ?? []) {
      const spec = { kind: 'opt-out' as const, source, confidence: 1, restrictable: false };
      for (const compiled of compilePattern(spec, language, lexicon.classes))
        this.reportedIndex.add(compiled);
    }
    if (lexicon.functionWords.length > 0) {
      for (const word of tokenSet(lexicon.functionWords)) {
        const list = this.functionWords.get(word) ?? [];
        list.push(language === 'hi' ? 'hi-Latn' : language);
        this.functionWords.set(word, list);
      }
    }
    for (const [topic, words] of Object.entries(lexicon.topics)) this.addVocabulary(words, topic, true);
    for (const [channel, words] of Object.entries(lexicon.channels))
      this.addVocabulary(words, channel, false);
  }

  private addVocabulary(words: readonly string[], name: string, topic: boolean): void {
    const single = topic ? this.topicWords : this.channelWords;
    for (const word of words) {
      const tokens = phraseTokens(word);
      if (tokens.length === 1) {
        const list = single.get(tokens[0]) ?? [];
        if (!list.includes(name)) list.push(name);
        single.set(tokens[0], list);
      } else if (tokens.length > 1) {
        const list = this.namePhrases.get(tokens[0]) ?? [];
        list.push({ words: tokens, name, topic });
        this.namePhrases.set(tokens[0], list);
      }
    }
  }

  /** Number of compiled patterns (for the docs and the benchmark). */
  get patternCount(): number {
    return this.index.size;
  }

  classify(text: string): Classification {
    const tk = tokenise(text, this.vocabulary, this.instructions);
    const norm = tk.norm;
    const words = norm.join(' ');
    if (norm.length === 0) return this.none(tk, words, []);

    // 1. Keyword reply.
    if (norm.length <= MAX_KEYWORD_TOKENS + 4) {
      const key = this.core(norm);
      const entry = key === '' ? undefined : this.keywords.get(key);
      if (entry !== undefined) {
        const language =
          entry.languages.length === 1 && entry.languages[0] !== '*'
            ? this.scriptLanguage(entry.languages[0], tk, 0, norm.length)
            : this.guessLanguage(tk, entry.languages.includes('*') ? null : entry.languages);
        return this.result(tk, words, {
          kind: entry.kind,
          matched: this.quote(tk, 0, norm.length),
          rule: `keyword: ${entry.phrase}`,
          language,
          confidence: entry.languages.includes('*') ? 1 : 0.98,
          ignored: [],
        });
      }
    }

    // 1b. A keyword with a service or brand code ("RET ACME", "UNREG QURAN", "Stop 34990").
    const coded = this.codedKeyword(tk);
    if (coded !== null && !this.nounPhrases.some((phrase) => phrase.every((w) => norm.includes(w)))) {
      return this.result(tk, words, {
        kind: coded.kind,
        matched: this.quote(tk, 0, norm.length),
        rule: `keyword with a code: ${coded.keyword}`,
        language: coded.language === '*' ? this.guessLanguage(tk, null) : coded.language,
        confidence: 0.9,
        ignored: [],
      });
    }

    // 2. Candidates.
    const candidates: Candidate[] = [];
    const ctx: MatchContext = { norm, clause: tk.clause, segment: tk.segment, trailing: this.politeness };
    this.patternCandidates(this.index, ctx, candidates, false);
    this.patternCandidates(this.complaintIndex, ctx, candidates, true);
    // "reply STOP", "text stop to": an opt-out keyword named after an instruction verb. Always gated:
    // a question ("if I text stop...") makes it a help request, else it is an instruction to ignore.
    for (let i = 0; i < norm.length - 1; i++) {
      if (!this.instructions.has(norm[i])) continue;
      for (let k = i + 1; k <= i + 3 && k < norm.length && tk.clause[k] === tk.clause[i]; k++) {
        if (this.optOutTokens.has(norm[k])) {
          candidates.push({
            kind: 'opt-out',
            start: i,
            end: k + 1,
            confidence: 0.6,
            language: '*',
            rule: `keyword after an instruction: ${norm[k]}`,
            restrictable: false,
          });
          break;
        }
      }
    }
    // "RET yazıp gönderin", "iptal yazarsam": the keyword before a verb that sends it (verb-final languages).
    for (let i = 1; i < norm.length; i++) {
      if (!this.instructionsAfter.has(norm[i])) continue;
      for (let k = i - 1; k >= i - 3 && k >= 0 && tk.clause[k] === tk.clause[i]; k--) {
        if (this.optOutTokens.has(norm[k])) {
          candidates.push({
            kind: 'opt-out',
            start: k,
            end: i + 1,
            confidence: 0.6,
            language: '*',
            rule: `keyword before an instruction: ${norm[k]}`,
            restrictable: false,
          });
          break;
        }
      }
    }
    const lastSegment = tk.segment[norm.length - 1];
    if (lastSegment > 0) this.strongSegments(tk, candidates);
    if (tk.mixedCase) {
      for (let i = 0; i < norm.length; i++) {
        if (!tk.caps[i]) continue;
        const language = this.capitals.get(norm[i]);
        if (language !== undefined) {
          candidates.push({
            kind: 'opt-out',
            start: i,
            end: i + 1,
            confidence: 0.85,
            language,
            rule: `capitals: ${norm[i].toUpperCase()}`,
            restrictable: false,
          });
        }
      }
    }
    if (candidates.length === 0) return this.none(tk, words, []);

    // 3. Gates.
    const ignored: Classification['ignored'] = [];
    const reportedEnds = this.reportedFrames(ctx);
    let best: Candidate | null = null;
    let question: Candidate | null = null;
    let instructionClauses: Map<number, boolean> | null = null;
    for (const c of candidates) {
      const gates = this.gates.get(c.language) ?? this.gates.get('*')!;
      let why: IgnoredWhy | null = null;
      if (inPhrase(norm, c.start, this.nounPhrases, tk.repeated[c.start])) why = 'noun';
      else if (
        (reportedEnds !== null && this.afterReport(tk, c.start, reportedEnds)) ||
        this.beforeReportVerb(tk, c.end, c.language)
      )
        why = 'reported';
      else if (isHypothetical(tk, c, gates)) why = 'hypothetical';
      else {
        instructionClauses ??= new Map();
        const clauseNo = tk.clause[c.start];
        let instruction = instructionClauses.get(clauseNo);
        if (instruction === undefined) {
          instruction = hasInstruction(tk, clauseNo, {
            before: this.instructions,
            after: this.instructionsAfter,
            keywords: this.keywordTokens,
            optOut: this.optOutTokens,
          });
          instructionClauses.set(clauseNo, instruction);
        }
        if (instruction) why = 'instruction';
        else if (isNegated(tk, c, gates)) why = 'negated';
        else if (c.restrictable && isRestricted(tk, c, gates)) why = 'restriction';
      }
      // A complaint passes the same gates; it decides only when the flow reads complaints as opt-outs.
      if (why === null && c.complaint === true && !this.complaintsAsOptOut) why = 'complaint';
      if (why !== null) {
        ignored.push({ matched: this.quote(tk, c.start, c.end), rule: c.rule, why });
        if (why === 'hypothetical' && c.kind === 'opt-out' && c.complaint !== true && question === null)
          question = c;
        continue;
      }
      if (
        best === null ||
        KIND_ORDER[c.kind] > KIND_ORDER[best.kind] ||
        (KIND_ORDER[c.kind] === KIND_ORDER[best.kind] && c.confidence > best.confidence)
      ) {
        best = c;
      }
    }
    if (best === null && question !== null && !this.inCounterfactual(tk, question.start)) {
      // A question about what opting out does: the help route answers it.
      return this.result(tk, words, {
        kind: 'help',
        matched: this.quote(tk, question.start, question.end),
        rule: `question about opting out (${question.rule})`,
        language: this.languageOf(question, tk),
        confidence: 0.6,
        ignored,
      });
    }
    if (best === null) return this.none(tk, words, ignored);
    return this.result(tk, words, {
      kind: best.kind,
      matched: this.quote(tk, best.start, best.end),
      rule: best.rule,
      language: this.languageOf(best, tk),
      confidence: best.confidence,
      ignored,
    });
  }

  /** Where frames reporting someone else's words end (the token after each), or null when there are none. */
  private reportedFrames(ctx: MatchContext): Set<number> | null {
    let ends: Set<number> | null = null;
    for (let i = 0; i < ctx.norm.length; i++) {
      for (const pattern of this.reportedIndex.candidates(ctx.norm[i], ctx.norm[i + 1])) {
        const end = matchAt(pattern, ctx, i);
        if (end > i) (ends ??= new Set()).add(end);
      }
    }
    return ends;
  }

  /** A frame reporting someone else's words ends at most three words before `start`, in its segment. */
  private afterReport(tk: Tokens, start: number, ends: ReadonlySet<number>): boolean {
    for (let e = start; e >= 0 && e >= start - REPORT_REACH; e--) {
      if (ends.has(e)) return true;
      // "he said that's fine but stop calling me": what follows "but" is the person's own.
      if (e > 0 && (tk.segment[e - 1] !== tk.segment[start] || CONTRAST.has(tk.norm[e - 1]))) return false;
    }
    return false;
  }

  /** The sentence of `at` says what the person would do ("if I wanted you to stop I'd tell you"). */
  private inCounterfactual(tk: Tokens, at: number): boolean {
    const clauseNo = tk.clause[at];
    for (let k = 0; k < tk.norm.length; k++) {
      if (tk.clause[k] === clauseNo && startsWithPhrase(tk.norm, k, this.counterfactual)) return true;
    }
    return false;
  }

  /** A verb of saying follows within three words of `end`, in its segment ("aramayın demiş"). */
  private beforeReportVerb(tk: Tokens, end: number, language: string): boolean {
    const verbs = this.reportedAfter.get(language) ?? this.reportedAfter.get('*')!;
    if (verbs.size === 0 || end <= 0) return false;
    const segmentNo = tk.segment[end - 1];
    for (let k = end; k < tk.norm.length && k <= end + REPORT_REACH && tk.segment[k] === segmentNo; k++) {
      if (verbs.has(tk.norm[k])) return true;
      if (CONTRAST.has(tk.norm[k])) return false;
    }
    return false;
  }

  /**
   * A reply of two or three words: one coded keyword, and codes (digits, or capitals in a message that
   * has lower case too or is all capitals) the rules do not know as words.
   */
  private codedKeyword(tk: Tokens): { kind: 'opt-out' | 'opt-in'; language: string; keyword: string } | null {
    const norm = tk.norm;
    if (norm.length < 2 || norm.length > 3 || tk.clause[norm.length - 1] !== 0) return null;
    let found: { kind: 'opt-out' | 'opt-in'; language: string; keyword: string } | null = null;
    for (let i = 0; i < norm.length; i++) {
      const entry = this.coded.get(norm[i]);
      if (entry !== undefined && found === null) {
        found = { ...entry, keyword: norm[i].toUpperCase() };
        continue;
      }
      const code =
        norm[i] === '#' || (tk.caps[i] && !this.vocabulary.has(norm[i]) && !this.functionWords.has(norm[i]));
      if (!code) return null;
    }
    return found;
  }

  /** Every pattern of `index` that one of the message's tokens starts and that matches from there. */
  private patternCandidates(
    index: PatternIndex,
    ctx: MatchContext,
    out: Candidate[],
    complaint: boolean,
  ): void {
    for (let i = 0; i < ctx.norm.length; i++) {
      const patterns = index.candidates(ctx.norm[i], ctx.norm[i + 1]);
      for (let p = 0; p < patterns.length; p++) {
        const pattern: CompiledPattern = patterns[p];
        const end = matchAt(pattern, ctx, i);
        if (end <= i) continue;
        const source = pattern.language === '*' ? 'keyword' : pattern.language;
        out.push({
          kind: pattern.kind,
          start: i,
          end,
          confidence: pattern.confidence,
          language: pattern.language,
          rule: complaint ? `complaint (${source}): ${pattern.source}` : `${source}: ${pattern.source}`,
          restrictable: pattern.restrictable,
          complaint,
        });
      }
    }
  }

  /** A strong keyword alone in one segment of a longer message ("Enough. STOP."). */
  private strongSegments(tk: Tokens, out: Candidate[]): void {
    const norm = tk.norm;
    let from = 0;
    while (from < norm.length) {
      let to = from;
      while (to < norm.length && tk.segment[to] === tk.segment[from]) to += 1;
      if (to - from <= 4) {
        const key = this.core(norm.slice(from, to));
        const language = key === '' ? undefined : this.strong.get(key);
        if (language !== undefined) {
          out.push({
            kind: 'opt-out',
            start: from,
            end: to,
            confidence: 0.9,
            language,
            rule: `keyword in a sentence: ${key}`,
            restrictable: false,
          });
        }
      }
      from = to;
    }
  }

  private languageOf(c: Candidate, tk: Tokens): string {
    if (c.language === '*') return this.guessLanguage(tk, null);
    return this.scriptLanguage(c.language, tk, c.start, c.end);
  }

  /** `hi` for Devanagari, `hi-Latn` for romanised Hindi; other languages as they are. */
  private scriptLanguage(language: string, tk: Tokens, start: number, end: number): string {
    if (language !== 'hi') return language;
    for (let i = start; i < end; i++) if (DEVANAGARI.test(tk.norm[i])) return 'hi';
    return 'hi-Latn';
  }

  /** The language of a message whose deciding words belong to none (or several): script, then frequent words. */
  private guessLanguage(tk: Tokens, among: readonly string[] | null): string {
    if (DEVANAGARI.test(tk.text)) return 'hi';
    const scores = new Map<string, number>();
    for (const word of tk.norm) {
      const languages = this.functionWords.get(word);
      if (languages === undefined) continue;
      for (const language of languages) scores.set(language, (scores.get(language) ?? 0) + 1);
    }
    let bestLanguage: string | null = null;
    let bestScore = 0;
    let tie = false;
    for (const [language, score] of scores) {
      if (among !== null && !among.includes(language === 'hi-Latn' ? 'hi' : language)) continue;
      if (score > bestScore) {
        bestLanguage = language;
        bestScore = score;
        tie = false;
      } else if (score === bestScore) tie = true;
    }
    if (bestLanguage !== null && !tie) return bestLanguage;
    if (among !== null) {
      if (among.includes(this.fallback)) return this.fallback;
      return among[0] === 'hi' ? 'hi-Latn' : among[0];
    }
    return this.fallback;
  }

  private quote(tk: Tokens, start: number, end: number): string {
    return tk.text.slice(tk.start[start], tk.end[end - 1]);
  }

  private mentions(tk: Tokens): { topics: string[]; channels: string[] } {
    const topics: string[] = [];
    const channels: string[] = [];
    const norm = tk.norm;
    for (let i = 0; i < norm.length; i++) {
      const word = norm[i];
      for (const topic of this.topicWords.get(word) ?? []) if (!topics.includes(topic)) topics.push(topic);
      for (const channel of this.channelWords.get(word) ?? [])
        if (!channels.includes(channel)) channels.push(channel);
      const phrases = this.namePhrases.get(word);
      if (phrases === undefined) continue;
      for (const { words, name, topic } of phrases) {
        const into = topic ? topics : channels;
        if (into.includes(name) || i + words.length > norm.length) continue;
        let k = 1;
        while (k < words.length && norm[i + k] === words[k]) k += 1;
        if (k === words.length) into.push(name);
      }
    }
    return { topics, channels };
  }

  private result(
    tk: Tokens,
    words: string,
    r: Omit<Classification, 'topics' | 'channels' | 'words'>,
  ): Classification {
    const { topics, channels } =
      r.kind === 'opt-out' || r.kind === 'opt-in' ? this.mentions(tk) : { topics: [], channels: [] };
    return {
      kind: r.kind,
      matched: r.matched,
      rule: r.rule,
      language: r.language,
      confidence: r.confidence,
      topics,
      channels,
      ignored: r.ignored,
      words,
    };
  }

  private none(tk: Tokens, words: string, ignored: Classification['ignored']): Classification {
    return {
      kind: 'none',
      matched: null,
      rule: null,
      language: tk.norm.length === 0 ? this.fallback : this.guessLanguage(tk, null),
      confidence: ignored.length > 0 ? 0.6 : 0.9,
      topics: [],
      channels: [],
      ignored,
      words,
    };
  }
}
