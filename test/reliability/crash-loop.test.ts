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
import type { FlowNode } from '../support/node-red-process';
import {
  SOAK_LABEL,
  chainVerifies,
  nodeRedForSuite,
  numbers,
  optOutsNotBlocking,
  report,
  seeded,
  sized,
  soakConfig,
  soakSeed,
  storeOpen,
} from '../support/reliability';

const CONCURRENT = 1000;

const flows = (): FlowNode[] => [soakConfig('soakcrashconfig1', 'crash loop')];

describe('reliability: SIGKILL during 1,000 concurrent opt-outs over the HTTP API', function () {
  const trials = sized(3, 20);
  this.timeout(trials * 60_000 + 60_000);
  const nodeRed = nodeRedForSuite('dnc-crash-loop-', flows, false);

  it(`loses no acknowledged opt-out in ${trials} crashes, and the chain verifies after every restart`, async () => {
    const r = nodeRed();
    const seed = soakSeed();
    const random = seeded(seed);
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
              labels: [SOAK_LABEL],
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
      const lost = await optOutsNotBlocking(r, acknowledged);
      assert.deepEqual(lost, [], `trial ${trial}: acknowledged opt-outs missing after the crash`);
      const records = await chainVerifies(r, `trial ${trial}`);
      assert.ok(records >= acknowledged.length, 'the trail holds every acknowledged opt-out');
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
