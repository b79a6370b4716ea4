/**
 * Reliability: deploy after deploy while traffic flows through Check DNC and add contact label. A real
 * Node-RED (with the probe plugin, test/support/probe-plugin.ts) serves two HTTP endpoints: POST
 * /soak/optout (http in -> add contact label -> http response) and POST /soak/check (http in -> Check
 * DNC -> http response). Workers send opt-outs for new numbers and checks, without pause, while the test
 * deploys in turn a full deploy (every node and the store restart), a modified node (the add-label or
 * the Check DNC node renamed: only it restarts) and a modified flow (the traffic tab renamed: the tab
 * restarts, the config node and its store stay).
 *
 * What must hold, whatever the machine's speed:
 * - no resource grows with deploys: at each checkpoint (traffic paused, the heap collected) the
 *   listeners on `process` and on the runtime's event bus, the admin and HTTP routes, and the active
 *   timers and file handles are what they were at the first checkpoint;
 * - the heap after a full collection does not grow per deploy beyond what the new opt-outs hold (the
 *   slope is reported; the bound is far above noise, far below a leaked flow);
 * - between deploys every request is answered. During one, Node-RED itself drops the messages in
 *   flight between the nodes it stops (a stopped node's input is removed): their HTTP clients get no
 *   answer and retry, so at most one request per worker is unanswered per deploy; after the last deploy
 *   a phase of traffic with no deploy is answered in full, every request;
 * - every opt-out acknowledged (HTTP 200) blocks its contact afterwards: checks sent after its
 *   acknowledgement answer blocked by its label, and so does the API at the end; the chain verifies;
 * - a number never labelled is allowed (the checks are not blocking everything).
 *
 * Short version (npm test): 24 deploys. Long version (npm run soak): 200.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BatchDecision } from '../../lib/decision';
import { sleep, type FlowNode, type NodeRedProcess } from '../support/node-red-process';
import {
  LONG,
  numbers,
  probe,
  report,
  sized,
  slope,
  startProbed,
  storeOpen,
  type ProbeReading,
} from '../support/reliability';

const LABEL = 'DNC_Global';
const WORKERS = 4;
/** A request unanswered this long is lost (a deploy must not leave one hanging). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Requests sent after the last deploy, each of which must be answered. */
const AFTER_DEPLOYS = 400;
/** Checkpoints (traffic paused, heap collected) come every this many deploys. */
const CHECKPOINT_EVERY = sized(4, 10);
/** Heap growth per deploy allowed over what the new opt-outs hold: a leaked flow (nodes, routes, closures) is far more. */
const LEAK_BOUND_BYTES = 64 * 1024;

type DeployKind = 'full' | 'nodes' | 'flows';

function soakFlows(generation: number, kind: DeployKind): FlowNode[] {
  // What changes with each deploy: the tab's label (a modified flow), or a node's name (a modified node).
  const tabLabel = kind === 'flows' ? `soak traffic ${generation}` : 'soak traffic';
  const addName = kind === 'nodes' && generation % 2 === 0 ? `opt-out ${generation}` : 'opt-out';
  const checkName = kind === 'nodes' && generation % 2 === 1 ? `check ${generation}` : 'check';
  const z = 'soakredeploytab';
  return [
    { id: z, type: 'tab', label: tabLabel },
    {
      id: 'soakredeploycfg',
      type: 'dnc-config',
      name: 'redeploy soak',
      labels: [{ name: LABEL, description: '', channels: [], global: true, expiresAfterDays: null }],
      defaultCountry: 'US',
      storePath: '',
      apiPath: '',
      apiRateLimit: 0,
    },
    {
      id: 'soakoptoutin',
      type: 'http in',
      z,
      url: '/soak/optout',
      method: 'post',
      x: 120,
      y: 60,
      wires: [['soakadd']],
    },
    {
      id: 'soakadd',
      type: 'dnc-add-label',
      z,
      name: addName,
      config: 'soakredeploycfg',
      labels: [LABEL],
      labelsFromMsg: false,
      contact: 'payload.contact',
      contactType: 'msg',
      source: 'api',
      reason: 'redeploy soak',
      reasonType: 'str',
      actor: '',
      actorType: 'str',
      x: 320,
      y: 60,
      wires: [['soakreply']],
    },
    {
      id: 'soakcheckin',
      type: 'http in',
      z,
      url: '/soak/check',
      method: 'post',
      x: 120,
      y: 140,
      wires: [['soakcheck']],
    },
    {
      id: 'soakcheck',
      type: 'dnc-check',
      z,
      name: checkName,
      config: 'soakredeploycfg',
      labels: [],
      channel: '',
      contact: 'payload.contact',
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
      y: 140,
      wires: [['soakreply'], ['soakreply']],
    },
    {
      id: 'soakreply',
      type: 'change',
      z,
      rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'dnc', tot: 'msg' }],
      x: 520,
      y: 100,
      wires: [['soakresponse']],
    },
    {
      id: 'soakcatch',
      type: 'catch',
      z,
      scope: null,
      uncaught: false,
      x: 120,
      y: 220,
      wires: [['soakfailed']],
    },
    {
      id: 'soakfailed',
      type: 'change',
      z,
      rules: [
        { t: 'set', p: 'statusCode', pt: 'msg', to: '503', tot: 'num' },
        { t: 'set', p: 'payload', pt: 'msg', to: 'error.message', tot: 'msg' },
      ],
      x: 320,
      y: 220,
      wires: [['soakresponse']],
    },
    { id: 'soakresponse', type: 'http response', z, statusCode: '', headers: {}, x: 720, y: 100, wires: [] },
  ];
}

interface Answer {
  /** HTTP status, 0 when the connection failed, -1 when no answer came in time. */
  readonly status: number;
  readonly dnc?: { allowed?: boolean; reasons?: Array<{ code: string; label?: string }> };
}

async function post(red: NodeRedProcess, url: string, contact: string): Promise<Answer> {
  try {
    const res = await fetch(`${red.baseUrl}${url}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ contact }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let dnc: Answer['dnc'];
    try {
      dnc = res.status === 200 ? (JSON.parse(text) as Answer['dnc']) : undefined;
    } catch {
      dnc = undefined;
    }
    return { status: res.status, dnc };
  } catch (err) {
    return { status: (err as Error).name === 'TimeoutError' ? -1 : 0 };
  }
}

/** What must not grow with deploys: listeners, routes, timers and file handles (not sockets: clients come and go). */
function fixedCounts(reading: ProbeReading): Record<string, number> {
  const counts: Record<string, number> = {
    adminRoutes: reading.adminRoutes,
    nodeRoutes: reading.nodeRoutes,
  };
  for (const [name, n] of Object.entries(reading.listeners)) counts[`listeners ${name}`] = n;
  for (const [name, n] of Object.entries(reading.resources)) {
    if (!/TCP|Pipe|TTY|Socket/i.test(name)) counts[`resource ${name}`] = n;
  }
  return counts;
}

describe('reliability: redeploys under traffic through Check DNC and add contact label', function () {
  const deploys = sized(24, 200);
  this.timeout(deploys * 15_000 + 120_000);
  let red: NodeRedProcess | undefined;
  let userDir: string;

  before(async function () {
    this.timeout(90_000);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-redeploy-'));
    red = await startProbed(userDir);
    await red.deploy(soakFlows(0, 'full'));
    await storeOpen(red);
  });

  after(async function () {
    this.timeout(30_000);
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it(`keeps listeners, routes, timers and the heap flat over ${deploys} deploys, and loses no opt-out`, async () => {
    const r = red!;
    // Opt-outs take new numbers from 0; numbers from 5,000,000 are never labelled.
    let nextOptOut = 0;
    let nextControl = 0;
    const acked: string[] = [];
    const ackedSet = new Set<string>();
    const statuses = new Map<string, number>();
    const violations: string[] = [];
    let optOutsSent = 0;
    let checksSent = 0;
    const count = (what: string, status: number) => {
      const key = `${what} ${status}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    };

    let running = true;
    let paused: Promise<void> | null = null;
    let inFlight = 0;
    let settled: (() => void) | null = null;
    const track = async <T>(work: Promise<T>): Promise<T> => {
      inFlight += 1;
      try {
        return await work;
      } finally {
        inFlight -= 1;
        if (inFlight === 0 && settled !== null) settled();
      }
    };

    async function worker(index: number): Promise<void> {
      let turn = 0;
      while (running) {
        if (paused !== null) {
          await paused;
          continue;
        }
        turn += 1;
        const contact = numbers(nextOptOut++, 1)[0];
        optOutsSent += 1;
        const optOut = await track(post(r, '/soak/optout', contact));
        count('opt-out', optOut.status);
        if (optOut.status === 200) {
          acked.push(contact);
          ackedSet.add(contact);
        }
        // A check of an opt-out acknowledged earlier (must block by its label), or of a number never
        // labelled (must be allowed).
        const control = (turn + index) % 4 === 0 || acked.length === 0;
        const target = control
          ? numbers(5_000_000 + nextControl++, 1)[0]
          : acked[Math.floor(Math.random() * acked.length)];
        checksSent += 1;
        const check = await track(post(r, '/soak/check', target));
        count('check', check.status);
        if (check.status !== 200) continue;
        const blockedByLabel =
          check.dnc?.allowed === false &&
          (check.dnc.reasons ?? []).some((reason) => reason.code === 'LABEL' && reason.label === LABEL);
        if (control && check.dnc?.allowed !== true)
          violations.push(`${target} (never labelled) answered ${JSON.stringify(check.dnc)}`);
        if (!control && !blockedByLabel)
          violations.push(`${target} (opt-out acknowledged) answered ${JSON.stringify(check.dnc)}`);
      }
    }

    /** Pauses the workers, waits until every request in flight is answered, collects and reads the probe. */
    async function checkpoint(): Promise<ProbeReading> {
      let resume!: () => void;
      paused = new Promise<void>((resolve) => (resume = resolve));
      if (inFlight > 0) await new Promise<void>((resolve) => (settled = resolve));
      settled = null;
      // Let the sockets and timers the last requests used close (keep-alive, group commit).
      await sleep(300);
      const reading = await probe(r, { gc: true });
      paused = null;
      resume();
      return reading;
    }

    const workers = Array.from({ length: WORKERS }, (_, i) => worker(i));
    const kinds: DeployKind[] = ['full', 'nodes', 'flows'];
    const readings: Array<{ deploys: number; optOuts: number; reading: ProbeReading }> = [];
    const deployMs: number[] = [];
    try {
      for (let d = 1; d <= deploys; d++) {
        const kind = kinds[d % kinds.length];
        const started = Date.now();
        await r.deploy(soakFlows(d, kind), undefined, kind);
        if (kind === 'full') await storeOpen(r);
        deployMs.push(Date.now() - started);
        // Traffic runs between deploys too, not only during them.
        await sleep(100);
        if (d % CHECKPOINT_EVERY === 0) {
          const reading = await checkpoint();
          readings.push({ deploys: d, optOuts: acked.length, reading });
        }
      }
    } finally {
      running = false;
      paused = null;
      await Promise.all(workers);
    }

    assert.deepEqual(violations.slice(0, 10), [], `${violations.length} wrong answers`);
    assert.ok(acked.length > deploys, `traffic flowed: ${acked.length} opt-outs acknowledged`);
    const unanswered = [...statuses.entries()]
      .filter(([key]) => key.endsWith(' -1'))
      .reduce((sum, [, n]) => sum + n, 0);
    assert.ok(unanswered <= WORKERS * deploys, `${unanswered} requests unanswered in ${deploys} deploys`);

    const acknowledgedDuringDeploys = acked.length;
    // After the deploys, with none under way: every request is answered, and answered right.
    const afterwards = numbers(4_000_000, AFTER_DEPLOYS);
    for (let i = 0; i < afterwards.length; i += WORKERS * 4) {
      const slice = afterwards.slice(i, i + WORKERS * 4);
      const answers = await Promise.all(slice.map((contact) => post(r, '/soak/optout', contact)));
      assert.deepEqual(
        answers.map((a) => a.status),
        slice.map(() => 200),
        'opt-outs after the last deploy',
      );
      acked.push(...slice);
      const checks = await Promise.all(slice.map((contact) => post(r, '/soak/check', contact)));
      assert.deepEqual(
        checks.map((a) => a.dnc?.allowed),
        slice.map(() => false),
        'checks after the last deploy',
      );
    }

    // Every acknowledged opt-out is in the store, blocking its contact.
    const missing: string[] = [];
    for (let i = 0; i < acked.length; i += 5000) {
      const res = await r.request<BatchDecision>('POST', '/dnc/check', {
        contacts: acked.slice(i, i + 5000),
      });
      assert.equal(res.status, 200, res.text);
      for (const item of res.json.allowed) missing.push(String(item));
    }
    assert.deepEqual(missing, [], 'acknowledged opt-outs missing after the deploys');
    const verified = await r.request<{ ok: boolean; problem?: string }>('GET', '/dnc/audit/verify');
    assert.equal(verified.json.ok, true, verified.json.problem);

    // Counts that must not grow: equal at every checkpoint to the first.
    const [first, ...rest] = readings;
    assert.ok(rest.length >= 2, 'checkpoints taken');
    const baseline = fixedCounts(first.reading);
    for (const { deploys: at, reading } of rest)
      assert.deepEqual(
        fixedCounts(reading),
        baseline,
        `resources after ${at} deploys against ${first.deploys}`,
      );

    // Heap per deploy, and what the opt-outs acknowledged meanwhile hold (measured as heap per opt-out
    // over the same checkpoints would confound the two: the bound allows both, with room).
    const xs = readings.map((p) => p.deploys);
    const heapSlope = slope(
      xs,
      readings.map((p) => p.reading.heapUsed),
    );
    const optOutsPerDeploy = slope(
      xs,
      readings.map((p) => p.optOuts),
    );
    const bytesPerOptOutBound = 2048;
    assert.ok(
      heapSlope < LEAK_BOUND_BYTES + optOutsPerDeploy * bytesPerOptOutBound,
      `heap grows ${Math.round(heapSlope)} B per deploy (${optOutsPerDeploy.toFixed(1)} opt-outs per deploy)`,
    );

    report('redeploy', {
      deploys,
      kinds,
      optOutsSent,
      optOutsAcknowledged: acknowledgedDuringDeploys,
      checksSent,
      answers: Object.fromEntries(statuses),
      unansweredDuringDeploys: unanswered,
      deployMs: { min: Math.min(...deployMs), max: Math.max(...deployMs) },
      heapSlopeBytesPerDeploy: Math.round(heapSlope),
      optOutsPerDeploy: Number(optOutsPerDeploy.toFixed(1)),
      heapMB: readings.map((p) => Number((p.reading.heapUsed / 1048576).toFixed(1))),
      counts: baseline,
      long: LONG,
    });
  });
});
