/**
 * Flows saved by 0.1.0 deploy unchanged in today's version: each example as 0.1.0 shipped it
 * (test/fixtures/flows-0.1.0) deployed on its own into a real Node-RED with this package loaded from
 * the working tree. The runtime logs no error and nothing "invalid", and no node shows an error
 * status; the properties added since 0.1.0 (DNC labels' channel list, check DNC's policies, events'
 * instances, the registry's as-of and shrink guard...) are absent from these flows and take their
 * defaults in the runtime. The only warnings a 0.1.0 flow may get: the one asking to confirm the
 * custom channels its labels are scoped to, and the new audit key's "back it up".
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeRedProcess, PACKAGE_ROOT, exampleAsTab, loadExamples, sleep } from '../support/node-red-process';

const FLOWS = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'flows-0.1.0');

/** The log lines of a level (`error`, `warn`). */
function lines(log: string, level: string): string[] {
  return log.split('\n').filter((line) => line.includes(`[${level}]`));
}

describe('flows saved by 0.1.0 deploy unchanged in a real Node-RED', function () {
  this.timeout(120000);
  const examples = loadExamples(FLOWS);
  let tmp: string;
  let red: NodeRedProcess | undefined;

  before(async function () {
    this.timeout(60000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-flows-010-'));
    red = await NodeRedProcess.start({ userDir: path.join(tmp, 'user'), nodesDir: [PACKAGE_ROOT] });
  });

  after(async () => {
    await red?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('has the 11 examples 0.1.0 shipped', () => {
    assert.equal(examples.length, 11);
  });

  for (const example of examples) {
    it(`${example.title}: deploys with no error, nothing invalid, no error status`, async () => {
      const node = red!;
      const { flows, ids } = exampleAsTab(example, 'v010');
      const mark = node.log.length;
      node.status.clear();
      await node.deploy(flows);
      // Stores open and registries load in the background: give them the moment they take to report.
      await sleep(1500);
      const log = node.log.slice(mark);
      const errors = lines(log, 'error').filter(
        // Example 10 names a sample registry file the user creates first (its comment says so).
        (line) => !/\[dnc-registry:[^\]]*\] registry [A-Z_]+: load failed: ENOENT/.test(line),
      );
      assert.deepEqual(errors, [], `errors:\n${log}`);
      assert.doesNotMatch(log, /invalid/i, 'no invalid property');
      const warnings = lines(log, 'warn').filter(
        (line) =>
          !/no custom channel list \(a configuration saved by 0\.1\.0\)/.test(line) &&
          // The first open of the (shared, default) store file creates its audit key.
          !/DNC store: created the audit key .*; back it up/.test(line),
      );
      assert.deepEqual(warnings, [], `warnings:\n${log}`);
      const ours = new Set(ids.values());
      // Example 10's registry has no file yet: it shows "load failed" and the Check DNC using it
      // "no registry US_NDNC" (failing closed) once the load has failed, which may be within the wait.
      const red_ = [...node.status.entries()].filter(
        ([id, status]) =>
          ours.has(id) &&
          status.fill === 'red' &&
          !/ENOENT|no data|file|load failed|no registry/i.test(status.text ?? ''),
      );
      assert.deepEqual(red_, [], 'no node in error');
    });
  }
});
