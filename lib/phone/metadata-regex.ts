/**
 * The regular-expression subset of libphonenumber's metadata (digits, classes, groups, alternation,
 * quantifiers) parsed into a syntax tree, so pattern-automaton.ts can compile a calling code's patterns
 * into one automaton. Anything outside the subset throws UnsupportedRegexError: that calling code then
 * falls back to libphonenumber.
 */

/** Regex syntax tree of the subset used by the metadata: digits, classes, groups, alternation, quantifiers. */
export type RegexNode =
  | { kind: 'char'; mask: number }
  | { kind: 'empty' }
  | { kind: 'seq'; items: RegexNode[] }
  | { kind: 'alt'; options: RegexNode[] }
  | { kind: 'repeat'; item: RegexNode; min: number; max: number };

export class UnsupportedRegexError extends Error {}

const ALL_DIGITS_MASK = 0x3ff;

/**
 * Parses a metadata pattern. `$` is only allowed when `endAnchorAsEmpty` is set: it then matches the empty
 * string, which can only make the language larger (used for the national-prefix pattern, where a possible
 * match just sends the number to libphonenumber).
 */
export function parseRegex(source: string, endAnchorAsEmpty: boolean): RegexNode {
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
