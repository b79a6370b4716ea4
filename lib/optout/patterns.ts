/**
 * A small phrase-pattern language over normalised tokens, compiled once. A pattern is a sequence of:
 * - `word`: one token (folded as message text is: `arrêtez` = `arretez`); `word*`: any token starting so;
 * - `(a|b c|@class)`: one of the alternatives (an alternative may be several words);
 * - `[a|b c]`: the same, optional (tried first, so matches are greedy);
 * - `@class`: one of a lexicon class's entries;
 * - `~N`: up to N arbitrary tokens (German separable verbs: `rufen ~3 nicht mehr an`);
 * - `$`: the end of a segment (only politeness words may follow).
 * Groups do not nest, and `$` and `~N` stand alone: a pattern that breaks this is refused when compiled.
 * Matches never cross a clause break. The index maps each pattern's possible first tokens to it, with the
 * tokens that can come second, so a message only tries the patterns its own tokens can start.
 */
import { phraseTokens } from './normalise';

export type IntentKind = 'opt-out' | 'opt-in' | 'help' | 'none';

type Element =
  | {
      readonly t: 'alt';
      readonly alts: readonly (readonly string[])[];
      readonly optional: boolean;
      /** The alternatives by their first word (longest first), when none starts with a prefix word. */
      readonly byFirst: ReadonlyMap<string, readonly (readonly string[])[]> | null;
    }
  | { readonly t: 'gap'; readonly max: number }
  | { readonly t: 'end' };

export interface PatternSpec {
  readonly kind: Exclude<IntentKind, 'none'>;
  /** The pattern source. */
  readonly source: string;
  readonly confidence: number;
  /** A time or occasion right after the match makes it a restriction, not an opt-out ("don't call me before noon"). */
  readonly restrictable: boolean;
}

export interface CompiledPattern extends PatternSpec {
  readonly language: string;
  readonly elements: readonly Element[];
}

export interface MatchContext {
  readonly norm: readonly string[];
  readonly clause: readonly number[];
  readonly segment: readonly number[];
  /** Words allowed after a `$` (please, thanks...). */
  readonly trailing: ReadonlySet<string>;
}

function expandAlt(text: string, classes: Readonly<Record<string, readonly string[]>>): string[][] {
  const out: string[][] = [];
  for (const part of text.split('|')) {
    const alt = part.trim();
    if (alt === '') continue;
    // Each `@class` word multiplies the alternative by the class's entries.
    let variants: string[][] = [[]];
    for (const word of alt.split(/\s+/)) {
      let options: string[][];
      if (word.startsWith('@')) {
        const entries = classes[word.slice(1)];
        if (entries === undefined) throw new Error(`unknown class ${word}`);
        options = entries.map(wordsOf);
      } else options = [wordsOf(word)];
      variants = variants.flatMap((v) => options.map((o) => [...v, ...o]));
    }
    out.push(...variants);
  }
  // Longest first: "plus jamais" before "plus", so a match takes every word it can.
  return out.sort((a, b) => b.length - a.length);
}

/** Folds a lexicon phrase's words, keeping a trailing `*` (prefix) on the last one. */
function wordsOf(phrase: string): string[] {
  return phrase
    .split(/\s+/)
    .filter((w) => w !== '')
    .flatMap((w) => (w.endsWith('*') ? [`${phraseTokens(w.slice(0, -1)).join('')}*`] : phraseTokens(w)));
}

/** Splits a pattern source into elements (groups keep their spaces). */
function parts(source: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of source) {
    if (ch === '(' || ch === '[') depth += 1;
    if (ch === ')' || ch === ']') depth -= 1;
    if (ch === ' ' && depth === 0) {
      if (current !== '') out.push(current);
      current = '';
    } else current += ch;
  }
  if (current !== '') out.push(current);
  return out;
}

/**
 * An alternatives element; its alternatives are indexed by first word unless one starts with a prefix or
 * is empty (a word the normaliser drops, such as a filler).
 */
function altElement(alts: string[][], optional: boolean): Element {
  let byFirst: Map<string, string[][]> | null = new Map();
  for (const alt of alts) {
    if (alt.length === 0 || alt[0].endsWith('*')) {
      byFirst = null;
      break;
    }
    const list = byFirst.get(alt[0]);
    if (list === undefined) byFirst.set(alt[0], [alt]);
    else list.push(alt);
  }
  return { t: 'alt', alts, optional, byFirst };
}

function compileElements(source: string, classes: Readonly<Record<string, readonly string[]>>): Element[] {
  return parts(source).map((part): Element => {
    // Groups do not nest, and `$` / `~N` stand alone: refuse, rather than compile other alternatives.
    const inner = /^[([].*[)\]]$/.test(part) ? part.slice(1, -1) : part;
    if (/[()[\]$~]/.test(inner) && part !== '$' && !/^~\d$/.test(part))
      throw new Error(`pattern has a nested group, or $ or ~N inside a group: ${source}`);
    if (part === '$') return { t: 'end' };
    if (/^~\d$/.test(part)) return { t: 'gap', max: Number(part.slice(1)) };
    if (part.startsWith('(') && part.endsWith(')'))
      return altElement(expandAlt(part.slice(1, -1), classes), false);
    if (part.startsWith('[') && part.endsWith(']'))
      return altElement(expandAlt(part.slice(1, -1), classes), true);
    return altElement(expandAlt(part, classes), false);
  });
}

/**
 * Compiles a pattern; a pattern whose first elements are optional becomes several (with and without
 * each), so every compiled pattern starts with a required word.
 */
export function compilePattern(
  spec: PatternSpec,
  language: string,
  classes: Readonly<Record<string, readonly string[]>>,
): CompiledPattern[] {
  const elements = compileElements(spec.source, classes);
  const variants: Element[][] = [];
  const expand = (list: Element[]) => {
    const first = list[0];
    if (first === undefined || first.t !== 'alt')
      throw new Error(`pattern must start with a word: ${spec.source}`);
    if (!first.optional) {
      variants.push(list);
      return;
    }
    variants.push([{ ...first, optional: false }, ...list.slice(1)]);
    expand(list.slice(1));
  };
  expand(elements);
  return variants.map((v) => ({ ...spec, language, elements: v }));
}

const STAR = 42; // '*'

function wordMatches(want: string, token: string): boolean {
  // charCodeAt, not endsWith: this runs for every word of every alternative tried.
  if (want.charCodeAt(want.length - 1) === STAR) return token.startsWith(want.slice(0, -1));
  return want === token;
}

/** Where `pattern` matching from `from` ends (exclusive), or -1. */
export function matchAt(pattern: CompiledPattern, ctx: MatchContext, from: number): number {
  const clauseNo = ctx.clause[from];
  let limit = from;
  while (limit < ctx.norm.length && ctx.clause[limit] === clauseNo) limit += 1;
  return step(pattern.elements, 0, from, ctx, limit);
}

function atSegmentEnd(ctx: MatchContext, pos: number, limit: number): boolean {
  if (pos >= limit) return true;
  const segmentNo = ctx.segment[pos - 1];
  for (let i = pos; i < limit && ctx.segment[i] === segmentNo; i++) {
    if (!ctx.trailing.has(ctx.norm[i])) return false;
  }
  return true;
}

function step(
  elements: readonly Element[],
  index: number,
  pos: number,
  ctx: MatchContext,
  limit: number,
): number {
  if (index === elements.length) return pos;
  const element = elements[index];
  if (element.t === 'end')
    return atSegmentEnd(ctx, pos, limit) ? step(elements, index + 1, pos, ctx, limit) : -1;
  if (element.t === 'gap') {
    for (let k = 0; k <= element.max && pos + k <= limit; k++) {
      const end = step(elements, index + 1, pos + k, ctx, limit);
      if (end >= 0) return end;
    }
    return -1;
  }
  const indexed = element.byFirst !== null;
  const alts = !indexed ? element.alts : pos < limit ? element.byFirst.get(ctx.norm[pos]) : undefined;
  if (alts !== undefined)
    for (const alt of alts) {
      if (pos + alt.length > limit) continue;
      let ok = true;
      // Alternatives found by their first word have it already.
      for (let k = indexed ? 1 : 0; k < alt.length; k++) {
        if (!wordMatches(alt[k], ctx.norm[pos + k])) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const end = step(elements, index + 1, pos + alt.length, ctx, limit);
      if (end >= 0) return end;
    }
  return element.optional ? step(elements, index + 1, pos, ctx, limit) : -1;
}

/** The words the second element of a pattern can start with, or null when any word may come second. */
function followingWords(elements: readonly Element[]): ReadonlySet<string> | null {
  const next = elements[1];
  if (next === undefined || next.t !== 'alt' || next.optional || next.byFirst === null) return null;
  return new Set(next.byFirst.keys());
}

/**
 * The words a pattern can have second when its first word is `first`, or null when any word may follow
 * (a prefix word, a gap, an end, or an optional element next). Many patterns tried on a message fail on
 * their second word (about 30% of the tries on the development set): the index rules them out with one
 * set lookup instead of a match. `following` (the
 * second element's first words) is shared by every first word that is a whole alternative.
 */
function secondWords(
  head: Extract<Element, { t: 'alt' }>,
  first: string,
  following: ReadonlySet<string> | null,
): ReadonlySet<string> | null {
  let inside: Set<string> | null = null;
  let whole = false;
  for (const alt of head.alts) {
    if (alt[0] !== first) continue;
    if (alt.length === 1) whole = true;
    else if (alt[1].endsWith('*')) return null;
    else (inside ??= new Set()).add(alt[1]);
  }
  if (whole && following === null) return null;
  if (inside === null) return following;
  if (whole) for (const word of following!) inside.add(word);
  return inside;
}

interface IndexEntry {
  readonly pattern: CompiledPattern;
  /** The words that may come next (null: any). */
  readonly next: ReadonlySet<string> | null;
}

/** Patterns indexed by the tokens they can start with (prefix words kept apart). */
export class PatternIndex {
  private readonly byWord = new Map<string, IndexEntry[]>();
  private readonly byPrefix: { prefix: string; pattern: CompiledPattern }[] = [];
  size = 0;

  add(pattern: CompiledPattern): void {
    this.size += 1;
    const first = pattern.elements[0] as Extract<Element, { t: 'alt' }>;
    const following = followingWords(pattern.elements);
    const seen = new Set<string>();
    for (const alt of first.alts) {
      const word = alt[0];
      if (seen.has(word)) continue;
      seen.add(word);
      if (word.endsWith('*')) this.byPrefix.push({ prefix: word.slice(0, -1), pattern });
      else {
        const entry = { pattern, next: secondWords(first, word, following) };
        const list = this.byWord.get(word);
        if (list === undefined) this.byWord.set(word, [entry]);
        else list.push(entry);
      }
    }
  }

  /**
   * The patterns that may start at `token`, followed by `next` (undefined at the end of the message):
   * those whose second word cannot be `next` are left out.
   */
  candidates(token: string, next: string | undefined): CompiledPattern[] {
    const out: CompiledPattern[] = [];
    const entries = this.byWord.get(token);
    if (entries !== undefined)
      for (let e = 0; e < entries.length; e++) {
        const entry = entries[e];
        if (entry.next === null || (next !== undefined && entry.next.has(next))) out.push(entry.pattern);
      }
    for (let p = 0; p < this.byPrefix.length; p++) {
      const { prefix, pattern } = this.byPrefix[p];
      if (token.startsWith(prefix)) out.push(pattern);
    }
    return out;
  }
}
