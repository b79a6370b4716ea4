/**
 * Reliability: a real Node-RED killed with SIGKILL while 1,000 opt-outs arrive at once over the HTTP API
 * (the embedded store), then started again, trial after trial on the same store. An opt-out the API
 * acknowledged (HTTP 200) must survive every crash: after each restart every opt-out acknowledged so far
 * blocks its contact, the audit chain verifies, and the trail holds each acknowledged opt-out.
 *
 * Short version (npm test): 3 trials. Long version (npm run soak): 20. The kill comes after a random
 * number of acknowledgements (5% to 90%, from a printed seed; DNC_SOAK_SEED=<n> replays it), so it lands
 * mid-traffic whatever the machine's speed.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BatchDecision } from '../../lib/decision';
import { NodeRedProcess, PACKAGE_ROOT, type FlowNode } from '../support/node-red-process';
import { LONG, numbers, report, seeded, sized, storeOpen } from '../support/reliability';

const LABEL = 'DNC_Global';
const CONCURRENT = 1000;

const flows: FlowNode[] = [
  {
    id: 'soakcrashconfig1',
    type: 'dnc-config',
    name: 'crash loop',
    labels: [{ name: LABEL, description: '', channels: [], global: true, expiresAfterDays: null }],
    defaultCountry: 'US',
    storePath: '',
    apiPath: '',
    apiRateLimit: 0,
  },
];

describe('reliability: SIGKILL during 1,000 concurrent opt-outs over the HTTP API', function () {
  const trials = sized(3, 20);
  this.timeout(trials * 60_000 + 60_000);
  let red: NodeRedProcess | undefined;
  let userDir: string;

  before(async function () {
    this.timeout(90_000);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-crash-loop-'));
    red = await NodeRedProcess.start({ userDir, nodesDir: [PACKAGE_ROOT] });
    await red.deploy(flows);
    await storeOpen(red);
  });

  after(async function () {
    this.timeout(30_000);
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it(`loses no acknowledged opt-out in ${trials} crashes, and the chain verifies after every restart`, async () => {
    const r = red!;
    const seed = Number(process.env.DNC_SOAK_SEED ?? Date.now() % 1_000_000);
    const random = seeded(seed);
    console.log(`      seed ${seed} (DNC_SOAK_SEED)${LONG ? ' (long version)' : ''}`);
    const acknowledged: string[] = [];
    const perTrial: Array<{ acknowledged: number; unanswered: number; reopenMs: number }> = [];
    for (let trial = 0; trial < trials; trial++) {
      const batch = numbers(trial * CONCURRENT, CONCURRENT);
      const killAfter = Math.floor(CONCURRENT * (0.05 + random() * 0.85));
      let acks = 0;
      let killing: Promise<void> | undefined;
      const statuses = await Promise.all(
        batch.map(async (contact) => {
          // 0: no answer, the process died first.
          const status = await r
            .request('POST', '/dnc/labels/add', {
              contact,
              labels: [LABEL],
              source: 'api',
              reason: `crash loop trial ${trial}`,
            })
            .then(
              (res) => res.status,
              () => 0,
            );
          if (status === 200) {
            acknowledged.push(contact);
            acks += 1;
            if (acks >= killAfter && killing === undefined) killing = r.kill();
          }
          return status;
        }),
      );
      await killing;
      assert.ok(killing !== undefined, `trial ${trial}: killed (${acks} acknowledged)`);
      // Before the kill every request was answered 200; after it, requests fail without an answer.
      for (const status of statuses)
        assert.ok(status === 200 || status === 0, `trial ${trial}: HTTP ${status}`);
      const unanswered = statuses.filter((s) => s === 0).length;

      const restartAt = Date.now();
      await r.start();
      await storeOpen(r);
      const reopenMs = Date.now() - restartAt;
      perTrial.push({ acknowledged: acks, unanswered, reopenMs });

      // Every opt-out acknowledged so far, in this trial or an earlier one, blocks its contact by its label.
      const lost: string[] = [];
      for (let i = 0; i < acknowledged.length; i += 10_000) {
        const contacts = acknowledged.slice(i, i + 10_000);
        const res = await r.request<BatchDecision>('POST', '/dnc/check', { contacts });
        assert.equal(res.status, 200, res.text);
        for (const item of res.json.allowed) lost.push(String(item));
        for (const blocked of res.json.blocked) {
          const byLabel = blocked.decision.reasons.some(
            (reason) => reason.code === 'LABEL' && reason.label === LABEL,
          );
          if (!byLabel) lost.push(`${String(blocked.item)} ${JSON.stringify(blocked.decision.reasons)}`);
        }
      }
      assert.deepEqual(lost, [], `trial ${trial}: acknowledged opt-outs missing after the crash`);
      const verified = await r.request<{ ok: boolean; records: number; problem?: string }>(
        'GET',
        '/dnc/audit/verify',
      );
      assert.equal(verified.status, 200, verified.text);
      assert.equal(verified.json.ok, true, `trial ${trial}: ${verified.json.problem}`);
      assert.ok(verified.json.records >= acknowledged.length, 'the trail holds every acknowledged opt-out');
    }
    const reopen = perTrial.map((t) => t.reopenMs);
    // Every assertion above held: none of these acknowledged opt-outs was lost.
    report('crash-loop', {
      seed,
      trials,
      concurrent: CONCURRENT,
      acknowledged: acknowledged.length,
      unansweredPerTrial: perTrial.map((t) => t.unanswered),
      restartToReadyMs: { min: Math.min(...reopen), max: Math.max(...reopen) },
    });
  });
});
