/**
 * The editor in real Chromium, against a real Node-RED process with this package (loaded from the working
 * tree through nodesDir) and every example deployed: the palette, the label configuration dialog, and
 * the status a deployed example shows after its inject buttons are pressed in the workspace.
 *
 * On CI (CI=true) a missing Chromium fails the suite; elsewhere it skips with a message.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { findChromium, launchBrowser, onCi, screenshot, trayOpened, type Browser } from '../support/browser';
import { NodeRedProcess, PACKAGE_ROOT, examplesAsFlowSet, loadExamples } from '../support/node-red-process';

const PALETTE_TYPES = ['dnc-add-label', 'dnc-remove-label', 'dnc-check'];

describe('editor in a real browser', function () {
  this.timeout(120000);

  let tmp: string | undefined;
  let red: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  const examples = loadExamples();
  const deployed = examplesAsFlowSet(examples, 'browser');

  function page(): Page {
    if (!browser) throw new Error('no browser');
    return browser.page;
  }

  function tabOf(prefix: string): { tabId: string; ids: Map<string, string> } {
    for (const [title, tab] of deployed.tabs) if (title.startsWith(prefix)) return tab;
    throw new Error(`no example "${prefix}"`);
  }

  before(async function () {
    this.timeout(120000);
    const executable = findChromium();
    if (executable === undefined) {
      const message =
        'Chromium not found (set CHROMIUM_PATH, or `apt-get install -y chromium`; .ci/run installs it on CI)';
      if (onCi()) throw new Error(message);
      console.log(`      skipping the browser tests: ${message}`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-browser-'));
    red = await NodeRedProcess.start({ userDir: tmp, nodesDir: [PACKAGE_ROOT] });
    await red.deploy(deployed.flows);
    browser = await launchBrowser(executable);
    try {
      await page().goto(red.baseUrl + '/');
      // The editor has loaded the node definitions and the flows once the palette and the workspace tabs exist.
      await page().waitForSelector('.red-ui-palette-node[data-palette-type="dnc-check"]', { timeout: 30000 });
      await page().waitForSelector(`#red-ui-tab-${tabOf('01').tabId}`, { timeout: 30000 });
    } catch (err) {
      const file = await screenshot(page(), 'editor did not load');
      if (file) console.log(`      screenshot: ${file}`);
      if (browser.pageErrors.length > 0) console.log(`      page errors:\n${browser.pageErrors.join('\n')}`);
      throw err;
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      const file = await screenshot(browser.page, this.currentTest.fullTitle());
      if (file) console.log(`      screenshot: ${file}`);
      if (browser.pageErrors.length > 0) console.log(`      page errors:\n${browser.pageErrors.join('\n')}`);
      if (red) console.log(`--- node-red output (tail) ---\n${red.log.slice(-4000)}`);
    }
  });

  after(async function () {
    this.timeout(30000);
    await browser?.close();
    await red?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the three flow nodes under the DNC palette category, and not the config node', async () => {
    for (const type of PALETTE_TYPES) {
      const entry = page().locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      await entry.waitFor({ state: 'attached' });
      const category = await entry.evaluate(
        (el) =>
          el.closest('.red-ui-palette-category')?.querySelector('.red-ui-palette-header span')?.textContent ??
          '',
      );
      assert.equal(category.trim(), 'DNC', `${type} is in the DNC category`);
      const label = (await entry.locator('.red-ui-palette-label').textContent()) ?? '';
      assert.notEqual(label.trim(), type, `${type} has a palette label`);
    }
    assert.equal(await page().locator('.red-ui-palette-node[data-palette-type="dnc-config"]').count(), 0);
  });

  it('shows every deployed example node as valid (no validation errors in the editor)', async () => {
    const invalid = await page().evaluate(() => {
      interface EditorNode {
        type: string;
        name?: string;
        valid?: boolean;
        validationErrors?: string[];
      }
      const RED = (
        window as unknown as {
          RED: {
            nodes: {
              eachNode(cb: (n: EditorNode) => void): void;
              eachConfig(cb: (n: EditorNode) => void): void;
            };
          };
        }
      ).RED;
      const found: string[] = [];
      const visit = (n: EditorNode): void => {
        if (n.valid === false)
          found.push(`${n.type} "${n.name ?? ''}": ${(n.validationErrors ?? []).join(', ')}`);
      };
      RED.nodes.eachNode(visit);
      RED.nodes.eachConfig(visit);
      return found;
    });
    assert.deepEqual(invalid, []);
  });

  it('lists the config nodes in the Configuration nodes sidebar and opens the labels dialog', async () => {
    await page().evaluate(() => {
      (window as unknown as { RED: { actions: { invoke(name: string): void } } }).RED.actions.invoke(
        'core:show-config-tab',
      );
    });
    const entry = page().locator('.red-ui-palette-node-config', { hasText: 'Messaging labels' });
    await entry.waitFor({ state: 'visible' });
    await entry.dblclick();
    const tray = page().locator('.red-ui-tray').last();
    const list = tray.locator('.red-ui-editableList');
    await list.first().waitFor({ state: 'visible' });
    await trayOpened(page());
    const texts = await tray.evaluate((el) => {
      const values = [...el.querySelectorAll('.red-ui-editableList input, .red-ui-editableList select')].map(
        (input) => (input as HTMLInputElement).value,
      );
      return [...values, el.querySelector('.red-ui-editableList')?.textContent ?? ''];
    });
    const seen = texts.join(' ');
    for (const name of ['DNC_Global', 'DNC_SMS', 'DNC_WhatsApp'])
      assert.ok(seen.includes(name), `the dialog lists ${name}`);
    await tray.locator('#node-config-dialog-cancel, #node-dialog-cancel').first().click();
    await tray.waitFor({ state: 'detached' });
  });

  it('shows the status of a deployed example after its inject buttons are pressed', async () => {
    const { tabId, ids } = tabOf('02');
    await page().locator(`#red-ui-tab-${tabId} a`).first().click();
    const workspaceNode = (id: string) => page().locator(`#red-ui-workspace-chart g[id="${ids.get(id)}"]`);

    // 1. mark opted out of sales -> the add node says "1 added"
    await workspaceNode('a20c000000000002').locator('.red-ui-flow-node-button').click();
    const addStatus = workspaceNode('a20c000000000003').locator('.red-ui-flow-node-status-label');
    await addStatus.filter({ hasText: /added/ }).waitFor({ state: 'visible' });
    assert.match((await addStatus.textContent()) ?? '', /1 added/);

    // 2. call the opted-out number -> the check says "blocked: DNC_Sales"
    await workspaceNode('a20c000000000005').locator('.red-ui-flow-node-button').click();
    const checkStatus = workspaceNode('a20c000000000007').locator('.red-ui-flow-node-status-label');
    await checkStatus.filter({ hasText: /blocked/ }).waitFor({ state: 'visible' });
    assert.match((await checkStatus.textContent()) ?? '', /blocked: DNC_Sales/);

    // 3. call the other number -> allowed
    await workspaceNode('a20c000000000006').locator('.red-ui-flow-node-button').click();
    await checkStatus.filter({ hasText: /allowed/ }).waitFor({ state: 'visible' });
  });

  it('offers the examples under Import > Examples', async () => {
    await page().evaluate(() => {
      (window as unknown as { RED: { actions: { invoke(name: string): void } } }).RED.actions.invoke(
        'core:show-examples-import-dialog',
      );
    });
    const dialog = page().locator('.ui-dialog:visible');
    const moduleEntry = dialog.locator('.red-ui-treeList-label', { hasText: '@dncflow/node-red-dnc' });
    await moduleEntry.first().click();
    for (const example of examples) {
      await dialog
        .locator('.red-ui-treeList-label', { hasText: example.title })
        .first()
        .waitFor({ state: 'visible' });
    }
    await page().keyboard.press('Escape');
    assert.deepEqual(
      browser!.pageErrors.filter((e) => /dnc/i.test(e)),
      [],
      'no editor errors from the DNC nodes',
    );
  });
});
