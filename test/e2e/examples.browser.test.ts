/**
 * Every example in real Chromium against a real Node-RED (this package loaded from the working tree): all
 * twelve deployed at once, each on its own tab, as a user who imports them all would have them.
 *
 * - The deploy: the runtime logs no error, apart from the two things the examples' own comments ask the
 *   user to do first (create the sample registry files; add the Reassigned Numbers Database credentials);
 *   once they are done, a redeploy logs no error at all.
 * - The canvas, from the rendered SVG: on every tab no two nodes' boxes overlap, and every node (comments
 *   included) lies between 0 and 1600 px.
 * - The self-contained parts: every DNC labels configuration has its own name and its own store file, and
 *   example 08's stand-in CRM answers through a Link Call, on whatever port Node-RED listens.
 * - Example 09's agent page, opened in the browser, says in words what is missing when there is no token.
 *
 * On CI (CI=true) a missing Chromium fails the suite; elsewhere it skips with a message.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { findChromium, launchBrowser, onCi, screenshot, type Browser } from '../support/browser';
import { LookupServer } from '../support/lookup-server';
import {
  NodeRedProcess,
  PACKAGE_ROOT,
  examplesAsFlowSet,
  loadExamples,
  waitFor,
  type FlowNode,
} from '../support/node-red-process';

/** The widest a flow may be (a 1600 px wide editor shows it without scrolling sideways). */
const MAX_X = 1600;
/** How far a node's input and output ports stick out of its box. */
const PORT = 5;

/** A node's box on the canvas, as the editor drew it. */
interface Box {
  id: string;
  type: string;
  label: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The error lines Node-RED logged in `log` (one per line, with its node). */
function errorLines(log: string): string[] {
  return log.split('\n').filter((line) => /\[error\]/.test(line));
}

describe('examples in a real browser: deployed without errors, tidy canvases', function () {
  this.timeout(180000);

  let tmp: string | undefined;
  let red: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  let lookup: LookupServer | undefined;
  const examples = loadExamples();
  const deployed = examplesAsFlowSet(examples, 'tidy');
  /** The runtime's log from the first deploy on (the deploy as imported). */
  let deployLog = '';

  function page(): Page {
    if (!browser) throw new Error('no browser');
    return browser.page;
  }

  function node(): NodeRedProcess {
    if (!red) throw new Error('Node-RED is not running');
    return red;
  }

  function tabOf(prefix: string): { tabId: string; ids: Map<string, string> } {
    for (const [title, tab] of deployed.tabs) if (title.startsWith(prefix)) return tab;
    throw new Error(`no example "${prefix}"`);
  }

  function idIn(prefix: string, id: string): string {
    const mapped = tabOf(prefix).ids.get(id);
    if (mapped === undefined) throw new Error(`example ${prefix} has no node ${id}`);
    return mapped;
  }

  /** The boxes of every node the editor drew on the workspace of tab `tabId`. */
  async function boxesOn(tabId: string): Promise<Box[]> {
    await page().evaluate((id) => {
      (window as unknown as { RED: { workspaces: { show(id: string): void } } }).RED.workspaces.show(id);
    }, tabId);
    const count = deployed.flows.filter((n) => n.z === tabId).length;
    await page().waitForFunction(
      (n) => document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node-group').length >= n,
      count,
    );
    return page().evaluate(() => {
      const found: Box[] = [];
      for (const group of document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node-group')) {
        const rect = group.querySelector(':scope > rect.red-ui-flow-node');
        const transform = /translate\(\s*([-\d.]+)[ ,]+([-\d.]+)\s*\)/.exec(
          group.getAttribute('transform') ?? '',
        );
        if (!rect || !transform) continue;
        const label = group.querySelector('.red-ui-flow-node-label')?.textContent ?? '';
        const labelBox = group.querySelector<SVGGraphicsElement>('.red-ui-flow-node-label')?.getBBox();
        const w = Number(rect.getAttribute('width'));
        const h = Number(rect.getAttribute('height'));
        found.push({
          id: group.id,
          type: [...group.classList].find((c) => c.startsWith('red-ui-flow-node-type-')) ?? '',
          label,
          x: Number(transform[1]),
          y: Number(transform[2]),
          // A label wider than its node (it never is, unless the editor cut it) counts at its full width.
          w: Math.max(w, labelBox ? labelBox.x + labelBox.width : 0),
          h,
        });
      }
      return found;
    });
  }

  before(async function () {
    this.timeout(180000);
    const executable = findChromium();
    if (executable === undefined) {
      const message =
        'Chromium not found (set CHROMIUM_PATH, or `apt-get install -y chromium`; .ci/run installs it on CI)';
      if (onCi()) throw new Error(message);
      console.log(`      skipping the browser tests: ${message}`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-examples-'));
    // No CRM_WEBHOOK_URL: example 08 answers from its stand-in CRM.
    const env = process.env.CRM_WEBHOOK_URL;
    delete process.env.CRM_WEBHOOK_URL;
    try {
      red = await NodeRedProcess.start({ userDir: path.join(tmp, 'user'), nodesDir: [PACKAGE_ROOT] });
    } finally {
      if (env !== undefined) process.env.CRM_WEBHOOK_URL = env;
    }
    lookup = await new LookupServer().start();
    const mark = red.log.length;
    await red.deploy(deployed.flows);
    // Registries load in the background: give them the moment they take to report.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    deployLog = red.log.slice(mark);
    browser = await launchBrowser(executable);
    try {
      await page().goto(red.baseUrl + '/');
      await page().waitForSelector('.red-ui-palette-node[data-palette-type="dnc-check"]', { timeout: 30000 });
      await page().waitForSelector(`#red-ui-tab-${tabOf('01').tabId}`, { timeout: 30000 });
    } catch (err) {
      const file = await screenshot(page(), 'editor did not load');
      if (file) console.log(`      screenshot: ${file}`);
      throw err;
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      const file = await screenshot(browser.page, this.currentTest.fullTitle());
      if (file) console.log(`      screenshot: ${file}`);
      if (browser.pageErrors.length > 0) console.log(`      page errors:\n${browser.pageErrors.join('\n')}`);
      if (red && !/^draws /.test(this.currentTest.title))
        console.log(`--- node-red output (tail) ---\n${red.log.slice(-4000)}`);
    }
  });

  after(async function () {
    this.timeout(30000);
    await browser?.close();
    await red?.stop();
    await lookup?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('deploys every example without a runtime error, beyond the two set-up steps their comments give', () => {
    const errors = errorLines(deployLog);
    const expected = [
      // Example 10, step 1: "click create the sample registry file".
      /\[dnc-registry:US DNC \(sample file\)\] registry US_NDNC: load failed: ENOENT/,
      // Example 12, step 1: "click create the sample Texas list".
      /\[dnc-registry:Texas no-call list \(sample file\)\] registry US_TX: load failed: ENOENT/,
      // Example 12: "add your Twilio credentials to the registry node".
      /\[dnc-registry:FCC Reassigned Numbers Database \(Twilio Lookup\)\] .*account SID/,
    ];
    for (const error of errors)
      assert.ok(
        expected.some((e) => e.test(error)),
        `an error no example comment explains: ${error}`,
      );
    assert.doesNotMatch(deployLog, /already used by configuration/, 'no two configurations on one API path');
  });

  it('gives every DNC labels configuration its own name and its own store file under the user directory', () => {
    const configs = deployed.flows.filter((n) => n.type === 'dnc-config');
    assert.equal(configs.length, examples.length, 'one per example');
    const names = configs.map((c) => String(c.name));
    assert.deepEqual([...new Set(names)].sort(), [...names].sort(), `distinct names: ${names.join(', ')}`);
    const stores = configs.map((c) => String(c.storePath));
    assert.deepEqual(
      [...new Set(stores)].sort(),
      [...stores].sort(),
      `distinct stores: ${stores.join(', ')}`,
    );
    for (const store of stores) {
      assert.ok(!path.isAbsolute(store) && store.startsWith('dnc-examples/'), store);
      // The store opened there (its audit key file is written on the first open).
      const key = path.join(node().userDir, store.replace(/\.json$/, '.key'));
      assert.ok(fs.existsSync(key), `${store} was opened in the user directory`);
    }
  });

  it('follows the set-up steps (sample files, credentials) and redeploys without any error', async function () {
    this.timeout(60000);
    for (const [prefix, inject, file] of [
      ['10', 'a10e000000000002', 'dnc-examples/us-ndnc.txt'],
      ['12', 'b12c000000000002', 'dnc-examples/us-tx.txt'],
    ] as const) {
      await node().inject(idIn(prefix, inject));
      await waitFor(`example ${prefix}'s sample file in the user directory`, () =>
        fs.existsSync(path.join(node().userDir, file)) ? true : undefined,
      );
    }
    // What a user types into the registry dialog: here the stand-in's URL and credentials.
    const flows = deployed.flows.map((n): FlowNode => {
      if (n.id !== idIn('12', 'b12c0000000000c5')) return n;
      return {
        ...n,
        url: lookup!.url,
        credentials: { accountSid: lookup!.accountSid, apiKey: lookup!.authToken },
      };
    });
    const mark = node().log.length;
    await node().deploy(flows);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(errorLines(node().log.slice(mark)), []);
  });

  for (const example of examples) {
    it(`draws "${example.title}" within ${MAX_X} px, no node over another`, async () => {
      const tabId = tabOf(example.title.slice(0, 2)).tabId;
      const expected = example.flows.filter((n) => typeof n.x === 'number').length;
      let boxes = await boxesOn(tabId);
      // The editor draws a tab's nodes over a few frames after switching to it (on a busy machine some
      // groups are not complete yet): read again until all are there, for up to 10 s.
      for (let tries = 0; tries < 40 && boxes.length !== expected; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        boxes = await boxesOn(tabId);
      }
      assert.equal(boxes.length, expected, 'every node of the example is drawn');
      for (const b of boxes) {
        assert.ok(b.x >= 0 && b.y >= 0, `"${b.label}" starts at ${b.x},${b.y}: off the canvas`);
        assert.ok(b.x + b.w <= MAX_X, `"${b.label}" ends at ${b.x + b.w} px, beyond ${MAX_X}`);
      }
      const overlaps: string[] = [];
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i];
          const b = boxes[j];
          // A node's ports stick out PORT px on either side: boxes with their ports.
          if (
            a.x - PORT < b.x + b.w + PORT &&
            b.x - PORT < a.x + a.w + PORT &&
            a.y < b.y + b.h &&
            b.y < a.y + a.h
          )
            overlaps.push(`"${a.label}" and "${b.label}"`);
        }
      }
      assert.deepEqual(overlaps, [], 'nodes drawn over one another');
    });
  }

  it('08: without CRM_WEBHOOK_URL a change goes to the stand-in CRM through a Link Call, on any port', async () => {
    const mark = node().debug.length;
    const res = await node().request('POST', `/dnc/labels/add?config=${idIn('08', 'a80c0000000000c1')}`, {
      contact: '+1 201 555 0189',
      labels: ['DNC_Sales'],
      source: 'crm',
    });
    assert.equal(res.status, 200, res.text);
    const received = await node().nextDebug(idIn('08', 'a80c000000000009'), mark);
    assert.equal((received.value as { contact: string }).contact, '+12015550189');
    const answer = await node().nextDebug(idIn('08', 'a80c000000000005'), mark);
    assert.equal(answer.value, 204);
    assert.ok(
      !node()
        .debug.slice(mark)
        .some((m) => m.id === idIn('08', 'a80c000000000007')),
      'no "sync failed"',
    );
  });

  it('09: the agent page says what is missing when there is no token, not a JSON parse error', async () => {
    const agent = await browser!.context.newPage();
    try {
      await agent.goto(`${node().baseUrl}/dnc-example/agent-desktop`);
      await agent.fill('#contact', '+1 201 555 0144');
      await agent.click('#check');
      const result = agent.locator('#result');
      await result.filter({ hasText: /token/i }).waitFor({ state: 'visible' });
      // A token typed, but the configuration has none yet: the public API is not on.
      await agent.fill('#token', 'not-a-configured-token');
      await agent.click('#check');
      await result.filter({ hasText: /not on/ }).waitFor({ state: 'visible' });
      const text = (await result.textContent()) ?? '';
      assert.match(text, /Agent desktop page labels/);
      assert.doesNotMatch(text, /JSON|Unexpected token/);
    } finally {
      await agent.close();
    }
  });
});
