/**
 * Shared pieces of the fuzz tests (test/fuzz/*.test.ts): the seed, generators of hostile values, and the
 * collection of invariant violations into one readable failure.
 *
 * Seeded and deterministic: every case is drawn with fast-check from DNC_FUZZ_SEED (a fixed default, so a
 * run on CI is reproducible) mixed with the name of what is fuzzed, so adding a route or a node does not
 * change the cases of the others. A failure prints the seed and how to run just the failing test again.
 * Run only the fuzz tests: `npm run build && npx mocha dist/test/fuzz/*.test.js` (add DNC_FUZZ_SEED=<n>
 * to try other cases).
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as fc from 'fast-check';

const DEFAULT_SEED = 1_010_2026;

function seedFromEnv(): number {
  const text = process.env.DNC_FUZZ_SEED;
  if (text === undefined || text.trim() === '') return DEFAULT_SEED;
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new Error(`DNC_FUZZ_SEED must be an integer, not ${JSON.stringify(text)}`);
  return n;
}

/** The run's seed: DNC_FUZZ_SEED, or a fixed default. */
export const SEED = seedFromEnv();

/** The seed for one fuzzed thing: the run's seed mixed with its name (stable when others are added). */
export function seedFor(name: string): number {
  const digest = createHash('sha256').update(`${SEED}\u0000${name}`).digest();
  return digest.readInt32BE(0);
}

/** `count` cases drawn from `arbitrary`, the same for the same seed and name. */
export function casesOf<T>(name: string, arbitrary: fc.Arbitrary<T>, count: number): T[] {
  return fc.sample(arbitrary, { seed: seedFor(name), numRuns: count });
}

/** The repository's root (dist/test/fuzz/ -> root): no response or error may name it. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** What a body or an error message must never show: a stack frame, an absolute path of ours. */
export function leakIn(text: string, paths: readonly string[]): string | null {
  if (/\n\s+at /.test(text) || /\bat [^\s()]+ \([^)]*:\d+:\d+\)/.test(text)) return 'a stack trace';
  for (const path of [REPO_ROOT, ...paths]) if (path !== '' && text.includes(path)) return `the path ${path}`;
  if (text.includes('node_modules')) return 'a node_modules path';
  return null;
}

/** Total size and count of the files under `dir` (those `include` accepts): a change means a write. */
export function filesUnder(
  dir: string,
  include: (name: string) => boolean = () => true,
): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (include(entry.name)) {
        files += 1;
        bytes += statSync(path).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

/** Collects invariant violations; `assertNone` fails once, with a few examples of each kind. */
export class Violations {
  private readonly found = new Map<string, { count: number; examples: string[] }>();
  cases = 0;

  constructor(private readonly title: string) {}

  add(kind: string, example: string): void {
    let entry = this.found.get(kind);
    if (entry === undefined) {
      entry = { count: 0, examples: [] };
      this.found.set(kind, entry);
    }
    entry.count += 1;
    if (entry.examples.length < 3) entry.examples.push(example);
  }

  get count(): number {
    let n = 0;
    for (const entry of this.found.values()) n += entry.count;
    return n;
  }

  assertNone(): void {
    if (this.found.size === 0) return;
    const lines = [
      `${this.count} invariant violation(s) in ${this.cases} generated cases of "${this.title}" ` +
        `(seed ${SEED}; run again with DNC_FUZZ_SEED=${SEED} npx mocha dist/test/fuzz/*.test.js ` +
        `--grep ${JSON.stringify(this.title)}):`,
    ];
    for (const [kind, entry] of this.found) {
      lines.push(`- ${kind}: ${entry.count} case(s), e.g.`);
      for (const example of entry.examples) lines.push(`    ${example}`);
    }
    throw new Error(lines.join('\n'));
  }
}

/** A short printable form of anything (for violation reports). */
export function preview(value: unknown, max = 160): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Buffer.isBuffer(value)) text = value.toString('latin1');
  else {
    // Cycles, BigInts, Buffers and functions shown for what they are (a report must never throw).
    const seen = new WeakSet<object>();
    try {
      text =
        JSON.stringify(value, (_key, v: unknown) => {
          if (typeof v === 'bigint') return `${v}n`;
          if (typeof v === 'function' || typeof v === 'symbol') return `[${typeof v}]`;
          if (v !== null && typeof v === 'object') {
            if (seen.has(v)) return '[cycle]';
            seen.add(v);
          }
          return v;
        }) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  const shown = JSON.stringify(text.length > max ? `${text.slice(0, max)}...(${text.length} chars)` : text);
  return shown;
}

// ---------------------------------------------------------------------------------------------------------
// Hostile values

/** Strings people and programs get wrong: blanks, controls, formula starts, bad dates, odd unicode. */
export const TRICKY_STRINGS: readonly string[] = [
  '',
  ' ',
  '   \t',
  '\u0000',
  '\u0000abc',
  '\r\n',
  '\u001b[31m',
  '\u007f',
  '\u00a0',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\ud800',
  '\udfff',
  'é',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '👍🏽',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  'true',
  'false',
  '0',
  '-1',
  '1e309',
  '0x10',
  '=1+1',
  '+',
  '@',
  '-',
  '%',
  '%00',
  '%E0%A4%A',
  '%ZZ',
  '\\',
  '"',
  "'",
  '{}',
  '[]',
  '<script>alert(1)</script>',
  '<!DOCTYPE html>',
  '../../../etc/passwd',
  '__proto__',
  'constructor',
  'prototype',
  '2020-02-30',
  '2020-02-30T00:00:00Z',
  '2021-13-01T00:00:00Z',
  '2020-01-01T25:00:00Z',
  '-271821-04-20T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '2020',
  'x 1',
  '1',
  '99999999999999999999',
  'yesterday',
  '2026-12-04T10:00:00',
  '2026-12-04T10:00:00+25:00',
  'DNC_Sales',
  'dnc_sales',
  'DNC_SALES ',
  'DNC_Global',
  'Hold',
  'NoSuchLabel',
  'voice',
  'VOICE',
  ' sms ',
  'smss',
  'text',
  'call',
  'email',
  'whatsapp',
  'fax',
  'conversation',
  'refusal',
  'OPTOUT',
  'no answer',
  '+447911123456',
  '07911 123456',
  '+1 415 555 0199',
  '(415) 555-0199',
  'tel:+447911123456',
  'whatsapp:+447911123456',
  '+999999999999',
  '+',
  '+44',
  '+4479111234567890123',
  'someone@example.com',
  'SOMEONE@EXAMPLE.COM',
  'a@b',
  '@example.com',
  'user@xn--',
  'id:',
  'id:42',
  'STOP',
  'stop please',
  'unsubscribe me',
  'START',
  'HELP',
];

const trickyString = fc.constantFrom(...TRICKY_STRINGS);

/** Any string: tricky ones, control characters, unicode (lone surrogates too), and huge ones. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: trickyString, weight: 6 },
  { arbitrary: fc.string({ maxLength: 24 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 24 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }), weight: 1 },
  {
    arbitrary: fc
      .array(fc.integer({ min: 0, max: 0x1f }), { minLength: 1, maxLength: 8 })
      .map((codes) => String.fromCharCode(...codes)),
    weight: 1,
  },
  {
    arbitrary: fc
      .tuple(fc.constantFrom('x', 'é', '+4', '9', ' ', '𝔘'), fc.integer({ min: 300, max: 20_000 }))
      .map(([unit, n]) => unit.repeat(n)),
    weight: 1,
  },
);

/** Numbers that are not what a field wants: negatives, fractions, huge, zero. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, 1e21, -1e21, 8.64e15, 8.64e15 + 1, Number.MAX_SAFE_INTEGER + 2),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** A JSON value nested `depth` levels deep (arrays or objects). */
export function nested(depth: number, object: boolean): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = object ? { a: value } : [value];
  return value;
}

/** A value of any JSON type, mostly of the wrong type for any field. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { arbitrary: hostileString, weight: 5 },
    { arbitrary: hostileNumber, weight: 2 },
    { arbitrary: fc.boolean(), weight: 1 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.array(tie('value'), { maxLength: 3, depthIdentifier: 'v' }), weight: 1 },
    {
      arbitrary: fc.dictionary(fc.oneof(trickyString, fc.string({ maxLength: 6 })), tie('value'), {
        maxKeys: 3,
        depthIdentifier: 'v',
      }),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 10, max: 200 }), fc.boolean())
        .map(([depth, object]) => nested(depth, object)),
      weight: 1,
    },
  ),
})).value;
