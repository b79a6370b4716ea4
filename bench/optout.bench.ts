/**
 * Opt-out classifier benchmark: classifications per second on one core, on a realistic mix of inbound
 * texts (the labelled set, so keyword replies, free phrasing in eleven language variants, mixed-language
 * messages, hard negatives and speech transcripts), against a same-run baseline: the single-keyword exact-match classifier the
 * best-known SMS platform uses (trim, upper-case, look the whole message up in a keyword table).
 *
 *   node dist/bench/optout.bench.js
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LANGUAGES, OptOutClassifier, OptOutDetector } from '../lib/optout';
import { alternatingRates, heapUsedAfterGc, record, type AlternatingRate } from './harness';

const SUITE = 'opt-out';
/** Alternating windows: how many rounds, and how long each case runs in one. */
const ROUNDS = 9;
const WINDOW_MS = 400;

function texts(): string[] {
  const candidates = [
    join(__dirname, '..', '..', 'test', 'fixtures', 'utterances.tsv'),
    join(process.cwd(), 'test', 'fixtures', 'utterances.tsv'),
  ];
  for (const path of candidates) {
    try {
      return readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('#'))
        .map((l) => l.split('\t')[3]);
    } catch {
      // next candidate
    }
  }
  throw new Error('test/fixtures/utterances.tsv not found');
}

const KEYWORDS = new Map<string, string>([
  ...[
    'STOP',
    'STOPALL',
    'UNSUBSCRIBE',
    'CANCEL',
    'END',
    'QUIT',
    'REVOKE',
    'OPTOUT',
    'OPT OUT',
    'ARRET',
    'REMOVE',
    'TD',
  ].map((k): [string, string] => [k, 'opt-out']),
  ...['START', 'YES', 'UNSTOP'].map((k): [string, string] => [k, 'opt-in']),
  ...['HELP', 'INFO'].map((k): [string, string] => [k, 'help']),
]);

/** The baseline: single-word exact match after trim and upper-case. */
function keywordOnly(text: string): string {
  return KEYWORDS.get(text.trim().toUpperCase()) ?? 'none';
}

function main(): void {
  const sample = texts();
  // Fresh copies, as texts arrive in messages.
  const inputs = Array.from({ length: 20 }, () => sample.map((t) => (' ' + t).slice(1))).flat();
  // The compiled rules' memory: the live heap a classifier adds (ten languages' lexicons, patterns, gates).
  const heapBefore = heapUsedAfterGc();
  const classifier = new OptOutClassifier();
  const rulesBytes = heapUsedAfterGc() - heapBefore;
  const detector = new OptOutDetector({
    mapping: {
      defaultLabels: ['DNC_Global'],
      rules: [
        { topic: 'marketing', labels: ['DNC_Marketing'] },
        { channel: 'sms', labels: ['DNC_SMS'] },
      ],
    },
  });
  let optOuts = 0;
  // Baseline, classify and detect in alternating windows: the host's drift touches all three alike.
  const [base, classify, detect] = alternatingRates(
    [
      () => {
        for (const text of inputs) if (keywordOnly(text) === 'opt-out') optOuts++;
        return inputs.length;
      },
      () => {
        for (const text of inputs) if (classifier.classify(text).kind === 'opt-out') optOuts++;
        return inputs.length;
      },
      () => {
        for (const text of inputs)
          if (detector.detect(text, { channel: 'sms' }).intent.kind === 'opt-out') optOuts++;
        return inputs.length;
      },
    ],
    ROUNDS,
    WINDOW_MS,
  );
  const baseRate = base.median;
  const rate = classify.median;
  const detectRate = detect.median;
  const spread = (r: AlternatingRate) =>
    `median of ${ROUNDS} alternating windows of ${WINDOW_MS / 1000} s; slowest ${Math.round(r.min).toLocaleString('en-US')}, fastest ${Math.round(r.max).toLocaleString('en-US')}`;
  const baselineOptOuts = sample.filter((t) => keywordOnly(t) === 'opt-out').length;
  const found = sample.filter((t) => classifier.classify(t).kind === 'opt-out').length;
  record({
    suite: SUITE,
    case: `classify (${sample.length} labelled texts, ${LANGUAGES.length} language variants, ${classifier.patternCount} patterns)`,
    value: Math.round(rate),
    unit: 'classifications/s',
    baseline: {
      case: 'single-keyword exact match (trim + upper-case + table lookup)',
      value: Math.round(baseRate),
    },
    goal: '>= 100,000 classifications/s on one core',
    met: rate >= 100_000,
    note: `${spread(classify)}; opt-outs found in the set: ${found} (the keyword baseline finds ${baselineOptOuts})`,
  });
  record({
    suite: SUITE,
    case: 'detect (classify + label mapping + confirmation)',
    value: Math.round(detectRate),
    unit: 'detections/s',
    baseline: {
      case: 'single-keyword exact match (trim + upper-case + table lookup)',
      value: Math.round(baseRate),
    },
    goal: '>= 100,000 detections/s on one core',
    met: detectRate >= 100_000,
    note: spread(detect),
  });
  record({
    suite: SUITE,
    case: `compiled rules in memory (${LANGUAGES.length} language variants, ${classifier.patternCount} patterns)`,
    value: Math.round(rulesBytes / 1024),
    unit: 'KiB',
    note: 'live heap one classifier adds, after a forced GC',
  });
  if (optOuts === 0) throw new Error('no opt-out found');
}

main();
