/**
 * The opt-out classifier's labelled sets and how they are scored: the development set
 * (test/fixtures/utterances.tsv, written with the rules) and the outside set
 * (test/fixtures/utterances-external.tsv, taken from published keyword lists and examples, each row
 * naming its sources).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LANGUAGES, OptOutClassifier, type IntentKind } from '../../lib/optout';

export interface Row {
  readonly kind: IntentKind;
  readonly language: string;
  readonly channel: string;
  readonly text: string;
  /** The development set's held-out quarter (by a hash of the text). */
  readonly heldOut: boolean;
  /** The outside set's source ids (`S3`), as the file's comment lines define them. */
  readonly sources: readonly string[];
  readonly line: number;
}

export const KINDS: readonly IntentKind[] = ['opt-out', 'opt-in', 'help', 'none'];
export { LANGUAGES };

/** FNV-1a over the UTF-8 bytes: a fixed, content-based split nobody picks by hand. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function fixturePath(name: string): string {
  const candidates = [
    join(__dirname, '..', 'fixtures', name),
    join(__dirname, '..', '..', '..', 'test', 'fixtures', name),
    join(process.cwd(), 'test', 'fixtures', name),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`${name} not found in ${candidates.join(', ')}`);
  return found;
}

/** The rows of a set; a malformed row throws, naming its line, so a typo cannot drop a case. */
export function loadUtterances(name = 'utterances.tsv'): Row[] {
  const rows: Row[] = [];
  readFileSync(fixturePath(name), 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '' || line.startsWith('#')) return;
      const [kind, language, channel, text, sources, ...rest] = line.split('\t');
      if (
        !KINDS.includes(kind as IntentKind) ||
        !(LANGUAGES as readonly string[]).includes(language) ||
        !['sms', 'whatsapp', 'chat', 'voice'].includes(channel) ||
        text === undefined ||
        text.trim() === '' ||
        rest.length > 0
      )
        throw new Error(`${name} line ${index + 1} is malformed: ${JSON.stringify(line)}`);
      rows.push({
        kind: kind as IntentKind,
        language,
        channel,
        text,
        heldOut: fnv1a(text) % 4 === 0,
        sources: sources === undefined || sources === '' ? [] : sources.split(','),
        line: index + 1,
      });
    });
  return rows;
}

/** The source ids a set's comment lines define (`# S3: publisher, "title", url ...`). */
export function loadSources(name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(fixturePath(name), 'utf8').split('\n')) {
    const m = /^#\s*(S\d+):\s*(.+)$/.exec(line);
    if (m !== null) out.set(m[1], m[2]);
  }
  return out;
}

/** One classifier per language, with that language as the node's language. */
export function classifiersByLanguage(
  options: { complaintsAsOptOut?: boolean } = {},
): (language: string) => OptOutClassifier {
  const byLanguage = new Map<string, OptOutClassifier>();
  return (language) => {
    let classifier = byLanguage.get(language);
    if (classifier === undefined) {
      classifier = new OptOutClassifier({ ...options, fallbackLanguage: language });
      byLanguage.set(language, classifier);
    }
    return classifier;
  };
}

export interface Tally {
  tp: number;
  fp: number;
  fn: number;
}

export function ratio(a: number, b: number): number {
  return b === 0 ? 1 : a / b;
}

export interface Evaluation {
  readonly byLanguage: Map<string, Map<IntentKind, Tally>>;
  readonly overall: Map<IntentKind, Tally>;
  readonly errors: { row: Row; got: IntentKind; rule: string | null }[];
  readonly accuracy: number;
  readonly n: number;
}

/**
 * Scores each row with the classifier for its language (`classifierFor`): a flow serving a market sets
 * the node's language to that market's, which decides a bare reply with no other clue.
 */
export function evaluate(
  rows: readonly Row[],
  classifierFor: (language: string) => OptOutClassifier,
): Evaluation {
  const byLanguage = new Map<string, Map<IntentKind, Tally>>();
  const overall = new Map<IntentKind, Tally>(KINDS.map((k) => [k, { tp: 0, fp: 0, fn: 0 }]));
  const errors: { row: Row; got: IntentKind; rule: string | null }[] = [];
  let correct = 0;
  for (const row of rows) {
    const intent = classifierFor(row.language).classify(row.text);
    const got = intent.kind;
    if (!byLanguage.has(row.language))
      byLanguage.set(row.language, new Map(KINDS.map((k) => [k, { tp: 0, fp: 0, fn: 0 }])));
    const tallies = [byLanguage.get(row.language)!, overall];
    if (got === row.kind) {
      correct += 1;
      for (const t of tallies) t.get(got)!.tp += 1;
    } else {
      errors.push({ row, got, rule: intent.rule });
      for (const t of tallies) {
        t.get(got)!.fp += 1;
        t.get(row.kind)!.fn += 1;
      }
    }
  }
  return { byLanguage, overall, errors, accuracy: ratio(correct, rows.length), n: rows.length };
}

/** A Markdown table of precision and recall (support in brackets) per kind, per language and overall. */
export function table(title: string, result: Evaluation): string {
  const lines = [
    `${title}: ${result.n} utterances, accuracy ${result.accuracy.toFixed(3)}`,
    `| language | ${KINDS.map((k) => `${k} P | ${k} R`).join(' | ')} |`,
    `|---|${KINDS.map(() => '---|---').join('|')}|`,
  ];
  const row = (name: string, tallies: Map<IntentKind, Tally>) =>
    `| ${name} | ${KINDS.map((k) => {
      const t = tallies.get(k)!;
      const support = t.tp + t.fn;
      return `${ratio(t.tp, t.tp + t.fp).toFixed(2)} | ${support === 0 ? '-' : ratio(t.tp, support).toFixed(2)} (${support})`;
    }).join(' | ')} |`;
  const order = (language: string) => (LANGUAGES as readonly string[]).indexOf(language);
  for (const [language, tallies] of [...result.byLanguage].sort((a, b) => order(a[0]) - order(b[0])))
    lines.push(row(language, tallies));
  lines.push(row('all', result.overall));
  return lines.join('\n');
}

/** The misreadings, one per line, with the rule that decided. */
export function misreadings(result: Evaluation, tag: (row: Row) => string): string[] {
  return result.errors.map(
    (e) =>
      `  [${tag(e.row)}] ${e.row.language} ${e.row.kind} -> ${e.got}: ${e.row.text} (${e.rule ?? 'no rule'})`,
  );
}
