/**
 * Node-RED benchmark: messages through Check DNC in a real Node-RED process, against the same
 * messages through a core change node, in the same process, in the same run, rounds interleaved.
 *
 *   node --expose-gc dist/bench/node-red.bench.js [--messages=100000] [--rounds=5]
 *
 * It starts Node-RED 4 from node_modules (test/support/node-red-process.ts) with a temp user
 * directory and this package loaded from the package root (so the compiled dist/nodes), with a store
 * pre-populated with labelled numbers, and deploys one flow of three otherwise identical chains:
 *
 *   inject -> generator (function) -> [nothing | change: set msg.dnc | dnc-check] -> counter (function)
 *
 * The generator sends N messages (payload: a fresh E.164 string, half of them stored numbers) in
 * batches and records the start time in flow context; the counter (both dnc-check outputs go to it)
 * records the end time when it has seen N; `GET /nrbench/runs` (http in) answers the timings.
 *
 * Reported: each chain's throughput (median of the rounds), the ratio Check DNC / change node (the
 * goal: >= 0.8), and the cost per message of each middle node: 1/rate - 1/rate(no middle node).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeRedProcess, PACKAGE_ROOT, sleep, type FlowNode } from '../test/support/node-red-process';
import { LABELS, validNumbers, writeJournal } from './fixtures';
import { record } from './harness';

const SUITE = 'node-red';

function option(name: string, fallback: number): number {
  const argument = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  const value = argument ? Number(argument.split('=')[1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

const MESSAGES = option('messages', 100_000);
const ROUNDS = option('rounds', 5);
/** Distinct numbers the generators cycle through; every other one is in the store. */
const DISTINCT = 10_000;
/** Messages the generator sends per timer tick, so the flow runs as a pipeline, not one huge queue. */
const BATCH = 1000;
const RUN_TIMEOUT_MS = 60_000;

const CHAINS = ['empty', 'change', 'check'] as const;
type Chain = (typeof CHAINS)[number];
const CHAIN_NAMES: Record<Chain, string> = {
  empty: 'generator -> counter (no middle node)',
  change: 'change node (set msg.dnc to a constant object)',
  check: 'Check DNC (2 labels, channel voice, contact msg.payload)',
};

/** What the generator and the counter keep in flow context, per chain. */
interface Run {
  n: number;
  count: number;
  blocked: number;
  start: number;
  end: number;
}

const TAB = 'nrbench-tab';
const CONFIG = 'nrbench-config';
const id = (chain: Chain, role: string): string => `nrbench-${chain}-${role}`;

/** Identical in every chain: sends `count` messages, a fresh copy of a number each (as from a wire). */
const GENERATOR = `
const numbers = msg.payload;
const key = msg.topic;
const total = ${MESSAGES};
const run = { n: total, count: 0, blocked: 0, start: Date.now(), end: 0 };
flow.set(key, run);
let i = 0;
function batch() {
  const stop = Math.min(i + ${BATCH}, total);
  for (; i < stop; i++) {
    node.send({ topic: key, payload: (' ' + numbers[i % numbers.length]).slice(1) }, false);
  }
  if (i < total) setTimeout(batch, 0);
}
batch();
return null;
`;

/** Identical in every chain: counts, notes blocked decisions, records the end time at the last message. */
const COUNTER = `
const run = flow.get(msg.topic);
if (msg.dnc !== undefined && msg.dnc.allowed === false) run.blocked++;
if (++run.count === run.n) run.end = Date.now();
return null;
`;

function flows(numbers: readonly string[]): FlowNode[] {
  const nodes: FlowNode[] = [
    { id: TAB, type: 'tab', label: 'DNC benchmark', disabled: false, info: '' },
    {
      id: CONFIG,
      type: 'dnc-config',
      name: 'bench labels',
      labels: LABELS.map((name) => ({
        name,
        description: '',
        channels: name === 'DNC_SMS' ? ['sms'] : [],
        global: false,
        expiresAfterDays: null,
      })),
      defaultCountry: 'US',
      storePath: '',
    },
    {
      id: 'nrbench-http-in',
      type: 'http in',
      z: TAB,
      name: '',
      url: '/nrbench/runs',
      method: 'get',
      upload: false,
      swaggerDoc: '',
      x: 140,
      y: 400,
      wires: [['nrbench-http-read']],
    },
    {
      id: 'nrbench-http-read',
      type: 'function',
      z: TAB,
      name: 'read runs',
      func: `msg.payload = { ${CHAINS.map((c) => `${c}: flow.get('${c}') || null`).join(', ')} };\nreturn msg;`,
      outputs: 1,
      x: 340,
      y: 400,
      wires: [['nrbench-http-out']],
    },
    {
      id: 'nrbench-http-out',
      type: 'http response',
      z: TAB,
      name: '',
      statusCode: '',
      headers: {},
      x: 520,
      y: 400,
      wires: [],
    },
  ];
  CHAINS.forEach((chain, row) => {
    const y = 80 + row * 100;
    const counter = id(chain, 'counter');
    const generatorWires = chain === 'empty' ? [[counter]] : [[id(chain, 'middle')]];
    nodes.push(
      {
        id: id(chain, 'inject'),
        type: 'inject',
        z: TAB,
        name: chain,
        props: [{ p: 'payload' }, { p: 'topic', vt: 'str' }],
        repeat: '',
        crontab: '',
        once: false,
        onceDelay: 0.1,
        topic: chain,
        payload: JSON.stringify(numbers),
        payloadType: 'json',
        x: 120,
        y,
        wires: [[id(chain, 'generator')]],
      },
      {
        id: id(chain, 'generator'),
        type: 'function',
        z: TAB,
        name: 'generator',
        func: GENERATOR,
        outputs: 1,
        timeout: 0,
        noerr: 0,
        initialize: '',
        finalize: '',
        libs: [],
        x: 300,
        y,
        wires: generatorWires,
      },
      {
        id: counter,
        type: 'function',
        z: TAB,
        name: 'counter',
        func: COUNTER,
        outputs: 1,
        timeout: 0,
        noerr: 0,
        initialize: '',
        finalize: '',
        libs: [],
        x: 700,
        y,
        wires: [[]],
      },
    );
    if (chain === 'change') {
      nodes.push({
        id: id(chain, 'middle'),
        type: 'change',
        z: TAB,
        name: 'set msg.dnc',
        rules: [
          {
            t: 'set',
            p: 'dnc',
            pt: 'msg',
            to: JSON.stringify({ allowed: true, channel: 'voice', matched: [], reasons: [] }),
            tot: 'json',
          },
        ],
        action: '',
        property: '',
        from: '',
        to: '',
        reg: false,
        x: 500,
        y,
        wires: [[counter]],
      });
    } else if (chain === 'check') {
      nodes.push({
        id: id(chain, 'middle'),
        type: 'dnc-check',
        z: TAB,
        name: 'check DNC',
        config: CONFIG,
        labels: ['DNC_Sales', 'DNC_Marketing'],
        channel: 'voice',
        contact: 'payload',
        contactType: 'msg',
        x: 500,
        y,
        wires: [[counter], [counter]],
      });
    }
  });
  return nodes;
}

/** Presses the chain's inject button and polls until its counter has seen every message. */
async function runChain(red: NodeRedProcess, chain: Chain): Promise<Run> {
  const before = await red.request<Record<Chain, Run | null>>('GET', '/nrbench/runs');
  const previousStart = before.json?.[chain]?.start ?? -1;
  await red.inject(id(chain, 'inject'));
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (;;) {
    await sleep(100);
    const res = await red.request<Record<Chain, Run | null>>('GET', '/nrbench/runs');
    if (res.status !== 200) throw new Error(`GET /nrbench/runs: HTTP ${res.status} ${res.text}`);
    const run = res.json[chain];
    if (run && run.start !== previousStart && run.end > 0) return run;
    if (Date.now() > deadline) {
      throw new Error(
        `chain ${chain}: ${run?.count ?? 0} of ${MESSAGES} messages after ${RUN_TIMEOUT_MS} ms\n${red.log.slice(-4000)}`,
      );
    }
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
  const began = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'dnc-node-red-bench-'));
  let red: NodeRedProcess | undefined;
  try {
    const numbers = validNumbers(DISTINCT);
    // The store holds every other number (one random label each, some expired): both outputs are used.
    writeJournal(
      join(dir, 'dnc-store.events.ndjson'),
      numbers.filter((_, i) => i % 2 === 0),
    );
    red = await NodeRedProcess.start({ userDir: dir, nodesDir: [PACKAGE_ROOT] });
    await red.deploy(flows(numbers));

    // Warm-up (JIT, the store opening), not recorded.
    for (const chain of CHAINS) await runChain(red, chain);

    const rates: Record<Chain, number[]> = { empty: [], change: [], check: [] };
    let blocked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order every round, so no chain always runs first or right after another.
      const order = CHAINS.map((_, i) => CHAINS[(i + round) % CHAINS.length]);
      const line: string[] = [];
      for (const chain of order) {
        const run = await runChain(red, chain);
        const rate = (run.n * 1000) / Math.max(1, run.end - run.start);
        rates[chain].push(rate);
        if (chain === 'check') blocked = run.blocked;
        line.push(`${chain} ${Math.round(rate).toLocaleString('en-US')}/s`);
      }
      process.stdout.write(`round ${round + 1}/${ROUNDS}: ${line.join(', ')}\n`);
    }
    if (blocked === 0 || blocked === MESSAGES) {
      throw new Error(`Check DNC blocked ${blocked} of ${MESSAGES} messages: both outputs must be used`);
    }

    const empty = median(rates.empty);
    const change = median(rates.change);
    const check = median(rates.check);
    const perMessage = (rate: number) => 1e6 / rate - 1e6 / empty;
    const rounds = `median of ${ROUNDS} rounds of ${MESSAGES.toLocaleString('en-US')} messages`;
    record({
      suite: SUITE,
      case: `chain with no middle node: ${CHAIN_NAMES.empty}`,
      value: Math.round(empty),
      unit: 'msgs/s',
      note: rounds,
    });
    record({
      suite: SUITE,
      case: `chain through a ${CHAIN_NAMES.change}`,
      value: Math.round(change),
      unit: 'msgs/s',
      baseline: { case: 'no middle node', value: Math.round(empty) },
      note: rounds,
    });
    record({
      suite: SUITE,
      case: `chain through ${CHAIN_NAMES.check}`,
      value: Math.round(check),
      unit: 'msgs/s',
      baseline: { case: 'the same chain through a core change node', value: Math.round(change) },
      ratio: check / change,
      goal: '>= 0.8x of the change node',
      met: check / change >= 0.8,
      note: `${rounds}; ${blocked.toLocaleString('en-US')} of ${MESSAGES.toLocaleString('en-US')} blocked`,
    });
    record({
      suite: SUITE,
      case: 'cost per message of the change node (1/rate - 1/rate with no middle node)',
      value: perMessage(change),
      unit: 'µs/msg',
    });
    record({
      suite: SUITE,
      case: 'cost per message of Check DNC (1/rate - 1/rate with no middle node)',
      value: perMessage(check),
      unit: 'µs/msg',
      baseline: { case: 'the change node', value: perMessage(change) },
    });
    process.stdout.write(`node-red bench took ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
  } finally {
    await red?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
