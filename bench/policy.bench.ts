/**
 * Policy benchmark: what a calling policy adds to a batch check (campaign scrub), per contact.
 *
 *   node --expose-gc dist/bench/policy.bench.js [--contacts=200000]
 *
 * The same batch (valid NANP numbers over many area codes, half of them labelled in the store) is
 * checked with and without a policy, in the same process, alternating, several rounds; the figure is
 * the median per-contact difference. Goal (issue 5): at most 2 µs per contact, with zone lookups
 * cached per number prefix. Three policies: US federal (windows only) at an instant where most
 * contacts are allowed, the same at an instant where most are blocked (reasons and nextAllowedAt built
 * per contact), and Florida (windows plus a 3-per-24 h cap: an attempt-record lookup per contact).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PolicyStack, createPolicy, preset, type CheckPolicy } from '../lib/policy';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';
import { LABELS, validNumbers, writeJournal } from './fixtures';
import { record } from './harness';

const SUITE = 'policy';
const argument = process.argv.find((arg) => arg.startsWith('--contacts='));
const CONTACTS = argument ? Number(argument.split('=')[1]) : 200_000;
const ROUNDS = 7;
const GOAL_US = 2;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dnc-policy-bench-'));
  try {
    const numbers = validNumbers(2 * CONTACTS);
    writeJournal(join(dir, 'dnc-store.events.ndjson'), numbers.slice(0, CONTACTS));
    const store = new EmbeddedStore({ path: join(dir, 'dnc-store.json'), logger: { warn: () => undefined } });
    await store.open();
    const dnc = new DncService({ labels: LABELS.map((name) => ({ name })), defaultCountry: 'US', store });
    // Half labelled, half not, interleaved.
    const batch = numbers.filter((_, i) => i % 2 === 0).concat(numbers.filter((_, i) => i % 2 === 1));
    const labels = ['DNC_Sales'];

    const company = createPolicy({
      name: 'company hours',
      rule: 'bench: Monday to Saturday 09:00-19:00',
      windows: { 'mon-sat': ['09:00-19:00'] },
    });
    const cases: Array<{ name: string; policy: CheckPolicy; at: number }> = [
      {
        name: 'US federal, most contacts inside their window',
        policy: createPolicy(preset('us-federal')!),
        at: Date.UTC(2026, 10, 27, 19, 0), // 14:00 Eastern ... 09:00 Hawaii
      },
      {
        name: 'US federal, most contacts outside their window',
        policy: createPolicy(preset('us-federal')!),
        at: Date.UTC(2026, 10, 27, 11, 0), // 06:00 Eastern: blocked with nextAllowedAt
      },
      {
        name: 'Florida (window + 3 per 24 h cap: attempt lookup per contact)',
        policy: createPolicy(preset('florida')!),
        at: Date.UTC(2026, 10, 27, 19, 0),
      },
      {
        name: "US states (federal + the callee's state by area code), most contacts inside their window",
        policy: createPolicy(preset('us-states')!),
        at: Date.UTC(2026, 10, 27, 19, 0),
      },
      {
        name: "US states (federal + the callee's state by area code), most contacts outside their window",
        policy: createPolicy(preset('us-states')!),
        at: Date.UTC(2026, 10, 27, 11, 0),
      },
      {
        name: 'US federal + company hours stacked, most contacts outside (nextAllowedAt searched across both)',
        policy: new PolicyStack([createPolicy(preset('us-federal')!), company]),
        at: Date.UTC(2026, 10, 28, 1, 30), // Friday 20:30 Eastern: the company reopens Saturday 09:00
      },
    ];
    const perContact = new Map<string, number>();

    for (const c of cases) {
      const withPolicy = { labels, channel: 'voice', at: c.at, policy: c.policy, campaign: 'bench' };
      const without = { labels, channel: 'voice', at: c.at };
      // Cold: the first batch with this policy (prefix trie load, zone clocks, verdicts).
      let start = performance.now();
      const cold = dnc.checkMany(batch, withPolicy).summary;
      const coldMs = performance.now() - start;
      dnc.checkMany(batch, without);
      const base: number[] = [];
      const policy: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        start = performance.now();
        dnc.checkMany(batch, without);
        base.push(performance.now() - start);
        start = performance.now();
        dnc.checkMany(batch, withPolicy);
        policy.push(performance.now() - start);
      }
      const baseMs = median(base);
      const policyMs = median(policy);
      const perContactUs = ((policyMs - baseMs) * 1000) / batch.length;
      record({
        suite: SUITE,
        case: `batch of ${batch.length} with a policy: ${c.name}`,
        value: policyMs,
        unit: 'ms',
        baseline: { case: 'the same batch check without a policy', value: baseMs },
        note: `${cold.allowed} allowed, ${cold.blocked} blocked (${JSON.stringify(cold.reasons)}); first (cold) run ${coldMs.toFixed(0)} ms`,
      });
      perContact.set(c.name, perContactUs);
      record({
        suite: SUITE,
        case: `policy cost per contact: ${c.name}`,
        value: perContactUs,
        unit: 'µs/contact',
        goal: `<= ${GOAL_US} µs per contact`,
        met: perContactUs <= GOAL_US,
        note: `median of ${ROUNDS} alternating rounds: ${policyMs.toFixed(1)} ms vs ${baseMs.toFixed(1)} ms; ratio ${(policyMs / baseMs).toFixed(2)}`,
      });
    }
    // Issue 13's goal: us-states at most 2x us-federal on the same batch and instant, and <= 3 µs.
    for (const [states, federal] of [
      [cases[3].name, cases[0].name],
      [cases[4].name, cases[1].name],
    ]) {
      const cost = perContact.get(states)!;
      const base = perContact.get(federal)!;
      record({
        suite: SUITE,
        case: `us-states against us-federal, per contact: ${states.replace(/^US states \(federal \+ the callee's state by area code\), /, '')}`,
        value: cost,
        unit: 'µs/contact',
        baseline: { case: `us-federal on the same batch and instant`, value: base },
        goal: '<= 2x us-federal and <= 3 µs per contact',
        met: cost <= 3 && cost <= 2 * base,
      });
    }
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
