/**
 * Check benchmark: decisions per second against a store of 1,000,000 labelled contacts, with
 * validity enforced, and a batch check (campaign scrub) of 1,000,000 distinct contacts.
 *
 *   node --expose-gc dist/bench/check.bench.js [--contacts=1000000]
 *
 * Baselines, measured in the same run on the same inputs:
 * - a bare Map.get of the input string (the floor: no parsing, no validity, no decision);
 * - the naive check: libphonenumber-js parse + isValid + Map lookup (what a straightforward
 *   implementation does per contact), on a slice, since it is ~100x slower.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import { LABELS, nationalFormat, validNumbers, writeJournal } from './fixtures';
import { opsPerSecond, record, timeMs } from './harness';

const SUITE = 'check';
const argument = process.argv.find((arg) => arg.startsWith('--contacts='));
const CONTACTS = argument ? Number(argument.split('=')[1]) : 1_000_000;
const label = CONTACTS >= 1_000_000 ? `${CONTACTS / 1_000_000}M` : `${CONTACTS / 1000}k`;

/** A fresh copy of each string, as inputs arrive in messages: never the store's own key objects. */
function freshCopies(values: readonly string[]): string[] {
  return values.map((v) => (' ' + v).slice(1));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dnc-check-bench-'));
  try {
    // Stored (labelled) numbers and as many valid numbers the store does not hold.
    const numbers = validNumbers(2 * CONTACTS);
    const stored = numbers.slice(0, CONTACTS);
    writeJournal(join(dir, 'dnc-store.events.ndjson'), stored);
    const store = new EmbeddedStore({ path: join(dir, 'dnc-store.json'), logger: { warn: () => undefined } });
    await store.open();
    const dnc = new DncService({
      labels: LABELS.map((name) => ({ name, channels: name === 'DNC_SMS' ? ['sms'] : [] })),
      defaultCountry: 'US',
      store,
    });
    const plan = dnc.plan({ labels: ['DNC_Sales', 'DNC_Marketing'], channel: 'voice' });
    const at = Date.UTC(2026, 10, 28);
    const checkedAt = new Date(at).toISOString();

    // Inputs: half labelled contacts, half not, interleaved; fresh strings each.
    const inputs = freshCopies(
      numbers.filter((_, i) => i % 2 === 0).concat(numbers.filter((_, i) => i % 2 === 1)),
    );
    const sample = inputs.slice(0, 200_000);

    // ---- baseline: bare Map.get over the same keys
    const bare = new Map<string, number>();
    for (let i = 0; i < stored.length; i++) bare.set(stored[i], i);
    let hits = 0;
    const mapRate = opsPerSecond(() => {
      for (const input of sample) if (bare.get(input) !== undefined) hits++;
      return sample.length;
    });
    bare.clear();

    // ---- baseline: the naive check (libphonenumber parse + validity + lookup), on a slice
    const naiveSlice = sample.slice(0, 20_000);
    const naiveRate = opsPerSecond(() => {
      for (const input of naiveSlice) {
        const parsed = parsePhoneNumberFromString(input);
        if (parsed?.isValid() && store.lookup(parsed.number) !== undefined) hits++;
      }
      return naiveSlice.length;
    }, 2000);

    // ---- single checks, E.164 input
    let blocked = 0;
    const e164Rate = opsPerSecond(() => {
      for (const input of sample) if (!dnc.checkWithPlan(input, plan, at).allowed) blocked++;
      return sample.length;
    }, 2000);
    record({
      suite: SUITE,
      case: `single checks, E.164 input, ${label}-contact store (validity enforced)`,
      value: Math.round(e164Rate),
      unit: 'checks/s',
      baseline: {
        case: 'naive check: libphonenumber parse + isValid + lookup',
        value: Math.round(naiveRate),
      },
      goal: '>= 1,000,000 checks/s',
      met: e164Rate >= 1_000_000,
    });
    record({
      suite: SUITE,
      case: `single checks, E.164 input, against the floor`,
      value: Math.round(e164Rate),
      unit: 'checks/s',
      baseline: { case: 'bare Map.get of the input (no parsing, no decision)', value: Math.round(mapRate) },
    });

    // ---- single checks, national-format input
    const nationalSample = sample.slice(0, 20_000).map(nationalFormat);
    const nationalRate = opsPerSecond(() => {
      for (const input of nationalSample) if (!dnc.checkWithPlan(input, plan, at).allowed) blocked++;
      return nationalSample.length;
    }, 2000);
    record({
      suite: SUITE,
      case: `single checks, national-format input "(201) 555-0123"`,
      value: Math.round(nationalRate),
      unit: 'checks/s',
      baseline: {
        case: 'naive check: libphonenumber parse + isValid + lookup',
        value: Math.round(naiveRate),
      },
      note: 'national input needs a full libphonenumber parse per number',
    });

    // ---- batch check of 1M distinct contacts (the first run pays the validity memo's warm-up)
    const batchInputs = inputs.slice(0, CONTACTS);
    let summary = dnc.checkMany([], { labels: ['DNC_Sales'] }).summary;
    const batchMs = await timeMs(() => {
      summary = dnc.checkMany(batchInputs, {
        labels: ['DNC_Sales', 'DNC_Marketing'],
        channel: 'voice',
        at,
      }).summary;
    });
    const floorMs = await timeMs(() => {
      const map = new Map<string, number>();
      for (const key of stored) map.set(key, 1);
      let n = 0;
      for (const input of batchInputs) if (map.get(input) !== undefined) n++;
      hits += n;
    });
    record({
      suite: SUITE,
      case: `batch check of ${label} distinct contacts (campaign scrub)`,
      value: batchMs / 1000,
      unit: 's',
      baseline: { case: 'build a Map of the store and look every input up', value: floorMs / 1000 },
      goal: '<= 2 s',
      met: batchMs <= 2000,
      note: `${summary.allowed} allowed, ${summary.blocked} blocked`,
    });
    if (blocked === 0 || hits === 0 || summary.blocked === 0)
      throw new Error('the benchmark found no labelled contact');
    void checkedAt;
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
