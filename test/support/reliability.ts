/**
 * Shared by the reliability suite (test/reliability): its size (the short version in `npm test`, the
 * long one with `npm run soak`), the probe plugin that reads a running Node-RED from inside
 * (probe-plugin.ts), a straight-line fit for growth per step, and where the figures are written.
 *
 * Figures are reported, and written to bench/results/reliability-<name>.json by the long version (the
 * README's Reliability section quotes them). What a test asserts is never a timing: counts that must
 * not grow (listeners, routes, timers), growth of the heap against a bound far above noise, and data
 * (every acknowledged opt-out present, the chain verifying).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BatchDecision } from '../../lib/decision';
import { NodeRedProcess, PACKAGE_ROOT, waitFor, type FlowNode } from './node-red-process';

/** `npm run soak` sets DNC_SOAK=long; otherwise (npm test, CI) the short version runs. */
export const LONG = process.env.DNC_SOAK === 'long';

/** `short` in the short version, `long` in the long one. */
export function sized<T>(short: T, long: T): T {
  return LONG ? long : short;
}

/** What GET /test-probe answers (test/support/probe-plugin.ts). */
export interface ProbeReading {
  readonly heapUsed: number;
  readonly rss: number;
  readonly resources: Record<string, number>;
  readonly listeners: Record<string, number>;
  readonly adminRoutes: number;
  readonly nodeRoutes: number;
  readonly loop: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly stalls: ReadonlyArray<{ readonly at: number; readonly ms: number }>;
  readonly snapshots: readonly number[];
  /** Garbage collections over 50 ms: when each ended (ms since the epoch) and how long it took. */
  readonly collections: ReadonlyArray<{ readonly at: number; readonly ms: number }>;
}

/**
 * A folder Node-RED loads as a module (through nodesDir) holding the probe plugin: a package.json naming
 * a file that requires the compiled probe.
 */
export function probeModule(parent: string): string {
  const dir = path.join(parent, 'dnc-test-probe');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'dnc-test-probe',
      version: '0.0.0',
      private: true,
      'node-red': { plugins: { 'dnc-test-probe': 'probe.js' } },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'probe.js'),
    `module.exports = require(${JSON.stringify(path.join(__dirname, 'probe-plugin.js'))});\n`,
  );
  return dir;
}

/** Starts Node-RED with this package, the probe and `--expose-gc`. */
export function startProbed(
  userDir: string,
  settings: Record<string, unknown> = {},
): Promise<NodeRedProcess> {
  return NodeRedProcess.start({
    userDir,
    nodesDir: [PACKAGE_ROOT, probeModule(userDir)],
    settings,
    execArgv: ['--expose-gc'],
  });
}

/** The probe's reading, after a full collection when `gc`; `reset` starts the delay figures afresh. */
export async function probe(
  red: NodeRedProcess,
  options: { gc?: boolean; reset?: boolean } = {},
): Promise<ProbeReading> {
  const query = `gc=${options.gc === true ? 1 : 0}&reset=${options.reset === true ? 1 : 0}`;
  const res = await red.request<ProbeReading>('GET', `/test-probe?${query}`);
  if (res.status !== 200) throw new Error(`probe: HTTP ${res.status} ${res.text}`);
  return res.json;
}

/** Least-squares slope of ys over xs (growth per step). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The p-th percentile (0..100, nearest rank) of `values`; 0 when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A seeded generator (mulberry32, bench/harness.ts): a random run can be replayed from its printed seed. */
export { seededRandom as seeded } from '../../bench/harness';

/** Prints the figures, and in the long version writes them to bench/results/reliability-<name>.json. */
export function report(name: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ suite: name, long: LONG, at: new Date().toISOString(), ...figures });
  console.log(`      RELIABILITY ${line}`);
  if (LONG) {
    const dir = path.join(PACKAGE_ROOT, 'bench', 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, `reliability-${name}.json`),
      `${JSON.stringify(JSON.parse(line), null, 2)}\n`,
    );
  }
}

/** Waits until the DNC admin API answers GET /dnc/health with 200 (the store is open). */
export async function storeOpen(red: NodeRedProcess, timeoutMs = 60000): Promise<void> {
  await waitFor(
    'the DNC store to open',
    async () => ((await red.request('GET', '/dnc/health')).status === 200 ? true : undefined),
    timeoutMs,
  );
}

/** The numbers() space: +1 415 200 0000 to +1 415 999 9999. */
export const NUMBER_SPACE = 8_000_000;

/** `count` distinct valid US numbers from `start` (+1 415 2xx xxxx to 9xx xxxx). */
export function numbers(start: number, count: number): string[] {
  // Past the space the seven digits become eight: a number that does not parse, blocked as invalid.
  if (start < 0 || start + count > NUMBER_SPACE)
    throw new RangeError(`numbers(${start}, ${count}) leaves the space of ${NUMBER_SPACE}`);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(`+1415${String(2_000_000 + start + i).padStart(7, '0')}`);
  return out;
}

/** The label every reliability flow applies and checks. */
export const SOAK_LABEL = 'DNC_Global';

/** The DNC configuration node of a reliability flow: one global label, the store in the user directory. */
export function soakConfig(id: string, name: string): FlowNode {
  return {
    id,
    type: 'dnc-config',
    name,
    labels: [{ name: SOAK_LABEL, description: '', channels: [], global: true, expiresAfterDays: null }],
    defaultCountry: 'US',
    storePath: '',
    apiPath: '',
    apiRateLimit: 0,
  };
}

/** An answer of a flow's http in endpoint. */
export interface FlowAnswer<T> {
  /** HTTP status, 0 when the connection failed, -1 when no answer came within the timeout. */
  readonly status: number;
  /** The body parsed as JSON, when it is JSON. */
  readonly body?: T;
}

/** POSTs `body` as JSON to a flow's http in endpoint; never throws. */
export async function postToFlow<T>(
  red: NodeRedProcess,
  url: string,
  body: unknown,
  timeoutMs: number,
): Promise<FlowAnswer<T>> {
  try {
    const res = await fetch(`${red.baseUrl}${url}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: T | undefined;
    try {
      parsed = JSON.parse(text) as T;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed };
  } catch (err) {
    return { status: (err as Error).name === 'TimeoutError' ? -1 : 0 };
  }
}

/** An http in node (POST `url`) wired to `next`. */
export function httpIn(id: string, z: string, url: string, y: number, next: string): FlowNode {
  return { id, type: 'http in', z, url, method: 'post', x: 120, y, wires: [[next]] };
}

/** An http response node answering with msg.payload (and msg.statusCode when set). */
export function httpResponse(id: string, z: string, y: number): FlowNode {
  return { id, type: 'http response', z, statusCode: '', headers: {}, x: 720, y, wires: [] };
}

/** A change node setting msg.payload to msg.<from> (what the http response answers). */
export function payloadFrom(id: string, z: string, from: string, y: number, next: string): FlowNode {
  return {
    id,
    type: 'change',
    z,
    rules: [{ t: 'set', p: 'payload', pt: 'msg', to: from, tot: 'msg' }],
    x: 520,
    y,
    wires: [[next]],
  };
}

/**
 * A Catch node (every node of the tab) and a change node answering the caught message's HTTP request
 * with 503 and msg.error (its message and code): `<prefix>catch` and `<prefix>failed`, wired to `next`.
 */
export function failuresAnswer503(prefix: string, z: string, next: string): FlowNode[] {
  return [
    {
      id: `${prefix}catch`,
      type: 'catch',
      z,
      scope: null,
      uncaught: false,
      x: 120,
      y: 220,
      wires: [[`${prefix}failed`]],
    },
    {
      id: `${prefix}failed`,
      type: 'change',
      z,
      rules: [
        { t: 'set', p: 'statusCode', pt: 'msg', to: '503', tot: 'num' },
        { t: 'set', p: 'payload', pt: 'msg', to: 'error', tot: 'msg' },
      ],
      x: 320,
      y: 220,
      wires: [[next]],
    },
  ];
}

/** A Check DNC node with no labels named (every enforced label), no policy and no registry. */
export function checkNode(
  id: string,
  z: string,
  config: string,
  contact: string,
  y: number,
  wires: string[][],
  name = '',
): FlowNode {
  return {
    id,
    type: 'dnc-check',
    z,
    name,
    config,
    labels: [],
    channel: '',
    contact,
    contactType: 'msg',
    policy: '',
    policies: [],
    campaign: '',
    recordAttempt: false,
    registry: '',
    registries: [],
    registryFailure: 'block',
    ncprCategory: '',
    x: 320,
    y,
    wires,
  };
}

/** An add contact label node applying SOAK_LABEL to msg.<contact>. */
export function addLabelNode(
  id: string,
  z: string,
  config: string,
  contact: string,
  y: number,
  next: string,
  name = '',
): FlowNode {
  return {
    id,
    type: 'dnc-add-label',
    z,
    name,
    config,
    labels: [SOAK_LABEL],
    labelsFromMsg: false,
    contact,
    contactType: 'msg',
    source: 'api',
    reason: 'reliability suite',
    reasonType: 'str',
    actor: '',
    actorType: 'str',
    x: 320,
    y,
    wires: [[next]],
  };
}

/**
 * Mocha hooks for a suite on one Node-RED: `before` starts it in a new user directory (with the probe
 * when `probed`), deploys `flows` and waits for the store; `after` stops it and removes the directory.
 * Returns the running process (valid inside tests).
 */
export function nodeRedForSuite(
  prefix: string,
  flows: () => FlowNode[],
  probed: boolean,
): () => NodeRedProcess {
  let red: NodeRedProcess | undefined;
  let userDir = '';
  before(async function () {
    this.timeout(90_000);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    red = probed
      ? await startProbed(userDir)
      : await NodeRedProcess.start({ userDir, nodesDir: [PACKAGE_ROOT] });
    await red.deploy(flows());
    await storeOpen(red);
  });
  after(async function () {
    this.timeout(30_000);
    await red?.stop();
    if (userDir !== '') fs.rmSync(userDir, { recursive: true, force: true });
  });
  return () => {
    if (red === undefined) throw new Error('Node-RED is not running');
    return red;
  };
}

/** The run's seed: DNC_SOAK_SEED replays one; printed so that a failure can be replayed. */
export function soakSeed(): number {
  const seed = Number(process.env.DNC_SOAK_SEED ?? Date.now() % 1_000_000);
  console.log(`      seed ${seed} (DNC_SOAK_SEED)${LONG ? ' (long version)' : ''}`);
  return seed;
}

/**
 * The contacts of `acknowledged` that the store does not block by SOAK_LABEL (asked through the API's
 * check route, 10,000 at a time), each with what it answered: empty when no acknowledged opt-out is lost.
 */
export async function optOutsNotBlocking(
  red: NodeRedProcess,
  acknowledged: readonly string[],
): Promise<string[]> {
  const lost: string[] = [];
  for (let i = 0; i < acknowledged.length; i += 10_000) {
    const contacts = acknowledged.slice(i, i + 10_000);
    const res = await red.request<BatchDecision>('POST', '/dnc/check', { contacts });
    if (res.status !== 200) throw new Error(`check: HTTP ${res.status} ${res.text}`);
    for (const item of res.json.allowed) lost.push(`${String(item)} allowed`);
    for (const blocked of res.json.blocked) {
      const byLabel = blocked.decision.reasons.some(
        (reason) => reason.code === 'LABEL' && reason.label === SOAK_LABEL,
      );
      if (!byLabel) lost.push(`${String(blocked.item)} ${JSON.stringify(blocked.decision.reasons)}`);
    }
  }
  return lost;
}

/** The audit chain's verification through the API; throws unless it verifies. */
export async function chainVerifies(red: NodeRedProcess, when: string): Promise<number> {
  const res = await red.request<{ ok: boolean; records: number; problem?: string }>(
    'GET',
    '/dnc/audit/verify',
  );
  if (res.status !== 200 || res.json.ok !== true)
    throw new Error(`${when}: the audit chain does not verify: HTTP ${res.status} ${res.text}`);
  return res.json.records;
}
