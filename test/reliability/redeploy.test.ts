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
import { sleep, type FlowNode, type NodeRedProcess } from '../support/node-red-process';
import {
  LONG,
  SOAK_LABEL,
  addLabelNode,
  chainVerifies,
  checkNode,
  failuresAnswer503,
  httpIn,
  httpResponse,
  nodeRedForSuite,
  numbers,
  optOutsNotBlocking,
  payloadFrom,
  postToFlow,
  probe,
  report,
  sized,
  slope,
  soakConfig,
  storeOpen,
  type FlowAnswer,
  type ProbeReading,
} from '../support/reliability';

const LABEL = SOAK_LABEL;
const CONFIG = 'soakredeploycfg';
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
    soakConfig(CONFIG, 'redeploy soak'),
    httpIn('soakoptoutin', z, '/soak/optout', 60, 'soakadd'),
    addLabelNode('soakadd', z, CONFIG, 'payload.contact', 60, 'soakreply', addName),
    httpIn('soakcheckin', z, '/soak/check', 140, 'soakcheck'),
    checkNode('soakcheck', z, CONFIG, 'payload.contact', 140, [['soakreply'], ['soakreply']], checkName),
    payloadFrom('soakreply', z, 'dnc', 100, 'soakresponse'),
    ...failuresAnswer503('soak', z, 'soakresponse'),
    httpResponse('soakresponse', z, 100),
  ];
}

type Answer = FlowAnswer<{ allowed?: boolean; reasons?: Array<{ code: string; label?: string }> }>;

function post(red: NodeRedProcess, url: string, contact: string): Promise<Answer> {
  return postToFlow(red, url, { contact }, REQUEST_TIMEOUT_MS);
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
  // The first deploy is the one the suite starts with.
  const nodeRed = nodeRedForSuite('dnc-redeploy-', () => soakFlows(0, 'full'), true);

  it(`keeps listeners, routes, timers and the heap flat over ${deploys} deploys, and loses no opt-out`, async () => {
    const r = nodeRed();
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
          check.body?.allowed === false &&
          (check.body.reasons ?? []).some((reason) => reason.code === 'LABEL' && reason.label === LABEL);
        if (control && check.body?.allowed !== true)
          violations.push(`${target} (never labelled) answered ${JSON.stringify(check.body)}`);
        if (!control && !blockedByLabel)
          violations.push(`${target} (opt-out acknowledged) answered ${JSON.stringify(check.body)}`);
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
        checks.map((a) => a.body?.allowed),
        slice.map(() => false),
        'checks after the last deploy',
      );
    }

    // Every acknowledged opt-out is in the store, blocking its contact.
    const missing = await optOutsNotBlocking(r, acked);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged opt-outs missing`);
    await chainVerifies(r, 'at the end');

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
