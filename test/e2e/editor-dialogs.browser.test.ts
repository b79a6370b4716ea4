/**
 * Every node's edit dialog in real Chromium, against a real Node-RED process with this package (loaded
 * from the working tree through nodesDir): for every node type package.json registers, the dialog opens
 * the way a user opens it (double-click on the workspace node; config nodes from the Configuration nodes
 * sidebar), shows its main fields with their texts translated, marks nothing invalid on a valid node,
 * throws no JavaScript error, and closes with Cancel. Then the interactions that carry logic: the labels
 * list (add a row, a bad name is flagged with its message), the token "generate" buttons, the calling
 * policy's preset selector, and the registry's file / service settings.
 *
 * On CI (CI=true) a missing Chromium fails the suite; elsewhere it skips with a message.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { findChromium, launchBrowser, onCi, screenshot, trayOpened, type Browser } from '../support/browser';
import { NodeRedProcess, PACKAGE_ROOT, type FlowNode } from '../support/node-red-process';

/** Every node type the package registers, as package.json's node-red section lists them. */
const NODE_TYPES = Object.keys(
  (
    JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      'node-red': { nodes: object };
    }
  )['node-red'].nodes,
);

const TAB = 'd1a10900000000ab';

/**
 * One node of each type, with the fields (selectors inside the edit tray) its dialog must show. Config
 * nodes carry a `name` the Configuration nodes sidebar lists them by.
 */
const FIXTURES: Record<string, { node: (registryPath: string) => FlowNode; fields: string[] }> = {
  'dnc-config': {
    node: () => ({
      id: 'd1a1090000000c01',
      type: 'dnc-config',
      name: 'dialogs labels',
      labels: [
        {
          name: 'DNC_Global',
          description: 'every channel',
          channels: [],
          global: true,
          expiresAfterDays: null,
        },
        {
          name: 'DNC_Sales',
          description: 'no sales',
          channels: ['voice', 'sms'],
          global: false,
          expiresAfterDays: 30,
        },
      ],
      defaultCountry: 'US',
      storePath: '',
      apiPath: '/dialogs-api',
      apiRateLimit: 6000,
    }),
    fields: [
      '#node-config-input-name',
      '#node-config-input-defaultCountry',
      '#node-config-input-storePath',
      '#node-config-input-apiPath',
      '#node-config-input-apiRateLimit',
      '#node-config-input-writeTokens',
      '#node-config-input-readTokens',
      '.dnc-token-generate[data-for="node-config-input-writeTokens"]',
      '.dnc-token-generate[data-for="node-config-input-readTokens"]',
      '#node-config-input-labels-container .dnc-label-name',
    ],
  },
  'dnc-policy': {
    node: () => ({
      id: 'd1a1090000000c02',
      type: 'dnc-policy',
      name: 'dialogs policy',
      preset: 'us-federal',
      policy: '',
    }),
    fields: [
      '#node-config-input-name',
      '#node-config-input-preset',
      '#dnc-policy-mode-form',
      '#dnc-policy-mode-json',
      '#dnc-policy-reset',
      '#dnc-policy-form .dnc-policy-week',
      '#dnc-policy-test-contact',
      '#dnc-policy-hint',
    ],
  },
  'dnc-registry': {
    node: (registryPath) => ({
      id: 'd1a1090000000c03',
      type: 'dnc-registry',
      name: 'dialogs registry',
      kind: 'file',
      registry: 'US_NDNC',
      customId: '',
      maxAgeDays: '',
      callingCodes: '',
      path: registryPath,
      layout: 'nanp',
      layoutCallingCode: '',
      layoutColumn: '',
      reloadHours: '',
      watch: false,
      url: '',
      method: 'POST',
      headers: '',
      body: '',
      batchSize: 100,
      mapping: 'payload.results{ number: registered }',
      numberFormat: 'e164',
      timeout: 10,
      retries: 2,
      concurrency: 4,
    }),
    fields: [
      '#node-config-input-name',
      '#node-config-input-registry',
      '#node-config-input-kind',
      '#node-config-input-maxAgeDays',
      '#node-config-input-callingCodes',
      '#node-config-input-path',
      '#node-config-input-layout',
      '#node-config-input-watch',
    ],
  },
  'dnc-add-label': {
    node: () => ({
      id: 'd1a1090000000001',
      type: 'dnc-add-label',
      z: TAB,
      name: 'dialogs add',
      config: 'd1a1090000000c01',
      labels: ['DNC_Sales'],
      contact: 'payload',
      contactType: 'msg',
      source: 'ivr',
      reason: 'asked',
      reasonType: 'str',
      actor: '',
      actorType: 'str',
      x: 200,
      y: 80,
      wires: [[]],
    }),
    fields: [
      '#node-input-config',
      '#node-input-labels-text',
      '#node-input-contact',
      '#node-input-source',
      '#node-input-reason',
      '#node-input-actor',
      '#node-input-name',
    ],
  },
  'dnc-remove-label': {
    node: () => ({
      id: 'd1a1090000000002',
      type: 'dnc-remove-label',
      z: TAB,
      name: 'dialogs remove',
      config: 'd1a1090000000c01',
      labels: ['DNC_Sales'],
      removeAll: false,
      contact: 'payload',
      contactType: 'msg',
      source: 'keyword',
      reason: '',
      reasonType: 'str',
      actor: '',
      actorType: 'str',
      x: 200,
      y: 140,
      wires: [[]],
    }),
    fields: [
      '#node-input-config',
      '#node-input-labels-text',
      '#node-input-removeAll',
      '#node-input-contact',
      '#node-input-source',
      '#node-input-name',
    ],
  },
  'dnc-check': {
    node: () => ({
      id: 'd1a1090000000003',
      type: 'dnc-check',
      z: TAB,
      name: 'dialogs check',
      config: 'd1a1090000000c01',
      labels: ['DNC_Sales'],
      channel: 'voice',
      contact: 'payload',
      contactType: 'msg',
      policy: 'd1a1090000000c02',
      campaign: 'renewals',
      recordAttempt: true,
      registry: 'd1a1090000000c03',
      registries: ['d1a1090000000c03'],
      registryFailure: 'block',
      ncprCategory: '',
      x: 200,
      y: 200,
      wires: [[], []],
    }),
    fields: [
      '#node-input-config',
      '#node-input-labels-text',
      '#node-input-channel',
      '#node-input-policy',
      '#node-input-campaign',
      '#node-input-recordAttempt',
      '#node-input-registry',
      '#node-input-registryFailure',
      '#node-input-ncprCategory',
      '#node-input-contact',
    ],
  },
  'dnc-events': {
    node: () => ({
      id: 'd1a1090000000004',
      type: 'dnc-events',
      z: TAB,
      name: 'dialogs events',
      config: 'd1a1090000000c01',
      events: ['add', 'remove'],
      labels: [],
      x: 200,
      y: 260,
      wires: [[]],
    }),
    fields: [
      '#node-input-config',
      '#node-input-event-add',
      '#node-input-event-remove',
      '#node-input-event-expire',
      '#node-input-labels-text',
      '#node-input-name',
    ],
  },
  'dnc-opt-out': {
    node: () => ({
      id: 'd1a1090000000005',
      type: 'dnc-opt-out',
      z: TAB,
      name: 'dialogs opt-out',
      config: 'd1a1090000000c01',
      text: 'payload',
      textType: 'msg',
      channel: 'sms',
      language: 'en',
      defaultLabels: ['DNC_Global'],
      rules: [{ topic: 'marketing', channel: '', labels: ['DNC_Sales'] }],
      sender: 'Acme',
      confirmation: '',
      x: 200,
      y: 320,
      wires: [[], [], [], []],
    }),
    fields: [
      '#node-input-text',
      '#node-input-channel',
      '#node-input-language',
      '#node-input-config',
      '#node-input-defaultLabels-text',
      '#node-input-rules-container .dnc-rule-labels',
      '#node-input-complaintsAsOptOut',
      '#node-input-sender',
      '#node-input-confirmation',
    ],
  },
  'dnc-registry-lookup': {
    node: () => ({
      id: 'd1a1090000000006',
      type: 'dnc-registry-lookup',
      z: TAB,
      name: 'dialogs lookup',
      registry: 'd1a1090000000c03',
      registries: ['d1a1090000000c03'],
      contact: 'payload',
      contactType: 'msg',
      defaultCountry: '',
      x: 200,
      y: 380,
      wires: [[], [], []],
    }),
    fields: [
      '#node-input-registry',
      '#dnc-registry-lookup-add',
      '#dnc-registry-lookup-list',
      '#node-input-contact',
      '#node-input-defaultCountry',
      '#node-input-name',
    ],
  },
  'dnc-record-attempt': {
    node: () => ({
      id: 'd1a1090000000007',
      type: 'dnc-record-attempt',
      z: TAB,
      name: 'dialogs record',
      config: 'd1a1090000000c01',
      contact: 'payload',
      contactType: 'msg',
      outcome: 'refusal',
      channel: 'voice',
      campaign: '',
      x: 200,
      y: 440,
      wires: [[]],
    }),
    fields: [
      '#node-input-config',
      '#node-input-contact',
      '#node-input-outcome',
      '#node-input-channel',
      '#node-input-campaign',
      '#node-input-name',
    ],
  },
};

/**
 * Flow nodes as an older version saved them: only the properties they had then (check DNC without
 * registries, registryFailure, policies, ncprCategory; add contact label without labelsFromMsg).
 */
const LEGACY: FlowNode[] = [
  {
    id: 'd1a1090000000013',
    type: 'dnc-check',
    z: TAB,
    config: 'd1a1090000000c01',
    labels: ['DNC_Sales'],
    contact: 'payload',
    contactType: 'msg',
    registry: 'd1a1090000000c03',
    x: 500,
    y: 200,
    wires: [[], []],
  },
  ...[
    'dnc-add-label',
    'dnc-remove-label',
    'dnc-events',
    'dnc-opt-out',
    'dnc-record-attempt',
    'dnc-registry-lookup',
  ].map((type, i) => ({
    id: `d1a10900000001${i}0`,
    type,
    z: TAB,
    config: 'd1a1090000000c01',
    registry: type === 'dnc-registry-lookup' ? 'd1a1090000000c03' : undefined,
    labels: ['DNC_Sales'],
    x: 500,
    y: 260 + 60 * i,
    wires: type === 'dnc-events' ? [[]] : [],
  })),
  // No label and msg.labels not chosen (saved so by this version: a node saved by 0.1.0 has
  // labelsFromMsg unset, which with no label means msg.labels, test/flows-0.1.0-editor.test.ts): every
  // message would fail with "no labels given".
  {
    id: 'd1a1090000000020',
    type: 'dnc-add-label',
    z: TAB,
    config: 'd1a1090000000c01',
    labels: [],
    labelsFromMsg: false,
    contact: 'payload',
    contactType: 'msg',
    x: 800,
    y: 80,
    wires: [[]],
  },
];

/** Console messages with which the editor reports an exception in a node's edit callbacks. */
const EDITOR_CALLBACK_ERROR = /^(onedit[a-z]+ |An error occured in )/;

interface EditorRed {
  nodes: {
    getType(type: string): { category?: string } | undefined;
    node(id: string): Record<string, unknown> | null;
  };
  actions: { invoke(name: string): void };
}

describe('editor dialogs of every node in a real browser', function () {
  this.timeout(120000);

  let tmp: string | undefined;
  let red: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  /** Uncaught page errors, console errors and editor callback errors, with where they came from. */
  const errors: string[] = [];

  function page(): Page {
    if (!browser) throw new Error('no browser');
    return browser.page;
  }

  function isConfigType(type: string): Promise<boolean> {
    return page().evaluate(
      (t) => (window as unknown as { RED: EditorRed }).RED.nodes.getType(t)?.category === 'config',
      type,
    );
  }

  /** The open edit tray (the topmost). */
  function tray(): Locator {
    return page().locator('.red-ui-tray').last();
  }

  async function openFromSidebar(name: string): Promise<Locator> {
    await page().evaluate(() =>
      (window as unknown as { RED: EditorRed }).RED.actions.invoke('core:show-config-tab'),
    );
    const entry = page().locator('.red-ui-palette-node-config', { hasText: name });
    await entry.first().waitFor({ state: 'visible' });
    await entry.first().dblclick();
    await tray().locator('#node-config-dialog-cancel').waitFor({ state: 'visible' });
    await trayOpened(page());
    return tray();
  }

  async function openOnWorkspace(id: string): Promise<Locator> {
    await page().locator(`#red-ui-tab-${TAB} a`).first().click();
    const node = page().locator(`#red-ui-workspace-chart g[id="${id}"] .red-ui-flow-node`);
    await node.waitFor({ state: 'visible' });
    await node.dblclick();
    await tray().locator('#node-dialog-cancel').waitFor({ state: 'visible' });
    await trayOpened(page());
    return tray();
  }

  async function open(type: string): Promise<Locator> {
    const fixture = FIXTURES[type].node('');
    return (await isConfigType(type)) ? openFromSidebar(String(fixture.name)) : openOnWorkspace(fixture.id);
  }

  /** Presses Cancel and waits until the tray has gone (the editor takes no clicks while one closes). */
  async function cancel(): Promise<void> {
    await tray().locator('#node-config-dialog-cancel, #node-dialog-cancel').first().click();
    await page().waitForFunction(() => document.querySelectorAll('.red-ui-tray').length === 0);
  }

  /** After a failure: cancels every open tray, topmost first. */
  async function closeTrays(): Promise<void> {
    for (let i = 0; i < 5 && (await page().locator('.red-ui-tray').count()) > 0; i++) {
      await tray()
        .locator('#node-config-dialog-cancel, #node-dialog-cancel')
        .first()
        .click({ force: true, timeout: 2000 });
      await page().waitForTimeout(500);
    }
  }

  /** The element, or (for a typed input, whose own input is hidden) its typed input container, is visible. */
  async function assertShown(scope: Locator, selector: string, type: string): Promise<void> {
    const element = scope.locator(selector).first();
    // A busy machine renders the form after the tray's buttons: wait for it (a missing field still fails).
    await element.waitFor({ state: 'attached', timeout: 15000 }).catch(() => undefined);
    assert.equal(await element.count(), 1, `${type}: the dialog has ${selector}`);
    const shown = await element.evaluate((el) => {
      // A typed input hides its own input and shows a container right after it.
      const next = el.nextElementSibling;
      const typed =
        el.classList.contains('red-ui-typedInput') && next?.matches('.red-ui-typedInput-container');
      const target = typed ? next! : el;
      const box = (target as HTMLElement).getBoundingClientRect();
      const style = getComputedStyle(target);
      return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
    });
    assert.ok(shown, `${type}: ${selector} is shown`);
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
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-dialogs-'));
    const registryPath = path.join(tmp, 'us-ndnc.txt');
    fs.writeFileSync(registryPath, '415,5550199\n');
    red = await NodeRedProcess.start({ userDir: tmp, nodesDir: [PACKAGE_ROOT] });
    await red.deploy([
      { id: TAB, type: 'tab', label: 'dialogs', disabled: false, info: '' },
      ...Object.values(FIXTURES).map((f) => f.node(registryPath)),
      ...LEGACY,
    ]);
    browser = await launchBrowser(executable);
    page().setDefaultTimeout(10000);
    page().on('pageerror', (err) => errors.push(`uncaught: ${err.stack ?? err.message}`));
    page().on('console', (message) => {
      const text = message.text();
      const where = message.location().url;
      if (message.type() === 'error') errors.push(`console.error (${where}): ${text}`);
      else if (EDITOR_CALLBACK_ERROR.test(text)) errors.push(`console.${message.type()} (${where}): ${text}`);
    });
    try {
      await page().goto(red.baseUrl + '/');
      await page().waitForSelector('.red-ui-palette-node[data-palette-type="dnc-check"]', { timeout: 30000 });
      await page().waitForSelector(`#red-ui-tab-${TAB}`, { timeout: 30000 });
    } catch (err) {
      const file = await screenshot(page(), 'editor did not load');
      if (file) console.log(`      screenshot: ${file}`);
      if (errors.length > 0) console.log(`      page errors:\n${errors.join('\n')}`);
      throw err;
    }
    assert.deepEqual(errors, [], 'the editor loads without errors');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      const file = await screenshot(browser.page, this.currentTest.fullTitle());
      if (file) console.log(`      screenshot: ${file}`);
      if (errors.length > 0) console.log(`      page errors:\n${errors.join('\n')}`);
      if (red) console.log(`--- node-red output (tail) ---\n${red.log.slice(-4000)}`);
      // Leave no dialog open for the next test.
      await closeTrays().catch(() => undefined);
    }
  });

  after(async function () {
    this.timeout(30000);
    await browser?.close();
    await red?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('has a dialog fixture for every node type package.json registers', () => {
    assert.deepEqual(Object.keys(FIXTURES).sort(), [...NODE_TYPES].sort());
  });

  for (const type of NODE_TYPES) {
    it(`opens the ${type} dialog with its fields, no errors, and cancels it`, async function () {
      if (!(type in FIXTURES)) this.skip();
      const mark = errors.length;
      const dialog = await open(type);
      for (const selector of FIXTURES[type].fields) await assertShown(dialog, selector, type);
      // Every data-i18n text was found in the locale files (a missing key shows as the key itself).
      const untranslated = await dialog.evaluate((el) => {
        const texts = [el.textContent ?? ''];
        el.querySelectorAll('[placeholder], [title]').forEach((e) => {
          texts.push(e.getAttribute('placeholder') ?? '', e.getAttribute('title') ?? '');
        });
        return texts.join('\n').match(/\bdnc-[a-z-]+\.(label|placeholder|hint|tip|validation)\.[A-Za-z_.]+/g);
      });
      assert.equal(untranslated, null, `${type}: untranslated keys`);
      // A valid node opens with no field marked invalid.
      const invalid = await dialog.evaluate((el) =>
        [...el.querySelectorAll('.input-error')].map(
          (e) => `${e.id || e.className} ${(e as HTMLElement).title ?? ''}`,
        ),
      );
      assert.deepEqual(invalid, [], `${type}: fields marked invalid`);
      // Every tip wraps inside the form, in Node-RED's narrowest tray: none runs past its box or the form.
      const overflowing = await dialog.evaluate((el) => {
        const form = el.querySelector('#dialog-form, #node-config-dialog-edit-form')!.getBoundingClientRect();
        return [...el.querySelectorAll('.form-tips')]
          .filter((tip) => (tip as HTMLElement).offsetParent !== null)
          .flatMap((tip) => {
            const box = tip.getBoundingClientRect();
            // One box (an inline tip that wraps is several, its text outside its background), inside the
            // form, with its content inside it.
            const inside =
              tip.getClientRects().length === 1 &&
              box.left >= form.left - 0.5 &&
              box.right <= form.right + 0.5 &&
              tip.scrollWidth <= tip.clientWidth + 1;
            const nested = [...tip.querySelectorAll('*')].filter((child) => {
              const r = child.getBoundingClientRect();
              return r.left < box.left - 0.5 || r.right > box.right + 0.5;
            });
            return inside && nested.length === 0
              ? []
              : [
                  `${tip.id || (tip.textContent ?? '').slice(0, 40)}: ${getComputedStyle(tip).display}, ` +
                    `${tip.getClientRects().length} boxes, ${box.left}-${box.right} in ${form.left}-${form.right}` +
                    `, content ${tip.scrollWidth} in ${tip.clientWidth}, ${nested.length} outside`,
                ];
          });
      });
      assert.deepEqual(overflowing, [], `${type}: tips running out of the form`);
      await cancel();
      assert.deepEqual(errors.slice(mark), [], `${type}: errors in the page`);
    });
  }

  it('check DNC: its configuration nodes open from its dialog (edit and add new), and cancel cleanly', async () => {
    const mark = errors.length;
    const dialog = await openOnWorkspace('d1a1090000000003');
    const expected: Record<string, string> = {
      config: '#node-config-input-labels-container',
      policy: '#node-config-input-preset',
      registry: '#node-config-input-kind',
    };
    for (const [property, field] of Object.entries(expected)) {
      for (const button of ['edit', 'add']) {
        await dialog.locator(`#node-input-btn-${property}-${button}`).click();
        // The configuration node's dialog takes the tray's place; its Cancel brings the node's back.
        const nested = page().locator('.red-ui-tray').last();
        await nested.locator('#node-config-dialog-cancel').waitFor({ state: 'visible' });
        await trayOpened(page());
        await assertShown(nested, field, `${property} (${button})`);
        if (property === 'policy') {
          await nested
            .locator('#node-config-input-preset option', { hasText: 'US federal' })
            .waitFor({ state: 'attached' });
        }
        await nested.locator('#node-config-dialog-cancel').click();
        await page().locator('#node-config-dialog-cancel').waitFor({ state: 'detached' });
        await dialog.locator('#node-dialog-cancel').waitFor({ state: 'visible' });
        // The node's tray is back once it is raised again; closing it before then would leave that
        // raise pending, to land in the middle of the next tray's opening.
        await trayOpened(page());
        assert.deepEqual(errors.slice(mark), [], `${property} (${button}): errors in the page`);
      }
    }
    assert.equal(await dialog.locator('#node-input-policy').inputValue(), 'd1a1090000000c02');
    await cancel();
    assert.deepEqual(errors.slice(mark), []);
  });

  it('labels: "add" appends a row to the list, a bad name is flagged with its message', async () => {
    const mark = errors.length;
    const dialog = await openFromSidebar('dialogs labels');
    const names = dialog.locator('#node-config-input-labels-container .dnc-label-name');
    assert.equal(await names.count(), 2);
    await dialog.locator('.red-ui-editableList-addButton').click();
    assert.equal(await names.count(), 3);
    const added = names.nth(2);
    await added.fill('DNC Sales!');
    await added.dispatchEvent('change');
    assert.ok(await added.evaluate((el) => el.classList.contains('input-error')), 'the bad name is marked');
    assert.match((await added.getAttribute('title')) ?? '', /label name "DNC Sales!" is not valid/);
    // The same name as another row (ignoring case) is a duplicate.
    await added.fill('dnc_sales');
    await added.dispatchEvent('change');
    assert.match((await added.getAttribute('title')) ?? '', /defined more than once/);
    await added.fill('DNC_Surveys');
    await added.dispatchEvent('change');
    assert.ok(!(await added.evaluate((el) => el.classList.contains('input-error'))), 'a good name is not');
    await cancel();
    // Cancel keeps the node as deployed.
    const labels = await page().evaluate(() =>
      (
        (window as unknown as { RED: EditorRed }).RED.nodes.node('d1a1090000000c01')?.labels as {
          name: string;
        }[]
      ).map((l) => l.name),
    );
    assert.deepEqual(labels, ['DNC_Global', 'DNC_Sales']);
    assert.deepEqual(errors.slice(mark), []);
  });

  it('labels: "generate" fills a token field with a fresh random token, shown once', async () => {
    const mark = errors.length;
    const dialog = await openFromSidebar('dialogs labels');
    const write = dialog.locator('#node-config-input-writeTokens');
    const read = dialog.locator('#node-config-input-readTokens');
    assert.equal(await write.inputValue(), '');
    await dialog.locator('.dnc-token-generate[data-for="node-config-input-writeTokens"]').click();
    const token = await write.inputValue();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, 'a base64url token of 32 random bytes');
    assert.equal(await write.getAttribute('type'), 'text', 'visible so it can be copied');
    assert.equal(await read.inputValue(), '', 'only the field beside the button');
    await dialog.locator('.dnc-token-generate[data-for="node-config-input-readTokens"]').click();
    const other = await read.inputValue();
    assert.match(other, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(other, token);
    // The dialog is still open: the button did not submit anything.
    await dialog.locator('#node-config-dialog-cancel').waitFor({ state: 'visible' });
    await cancel();
    assert.deepEqual(errors.slice(mark), []);
  });

  it('calling policy: the preset selector shows the chosen preset, its rule and windows', async () => {
    const mark = errors.length;
    const dialog = await openFromSidebar('dialogs policy');
    const select = dialog.locator('#node-config-input-preset');
    // The presets come from the runtime (GET dnc-policy/presets): options carry their names.
    await dialog
      .locator('#node-config-input-preset option', { hasText: 'Florida (FTSA)' })
      .waitFor({ state: 'attached' });
    assert.equal(await select.inputValue(), 'us-federal');
    const rule = dialog.locator('#dnc-policy-rule');
    await rule.filter({ hasText: '64.1200' }).waitFor({ state: 'visible' });
    await select.selectOption('florida');
    await rule.filter({ hasText: '501.616' }).waitFor({ state: 'visible' });
    const windows = dialog.locator('#dnc-policy-windows');
    assert.equal(await windows.textContent(), 'daily 08:00-20:00 · 3 / 24 h', 'its windows and cap');
    await select.selectOption('canada');
    await windows.filter({ hasText: 'mon-fri 09:00-21:30 · sat-sun 10:00-18:00' }).waitFor();
    await select.selectOption('');
    await rule.waitFor({ state: 'hidden' });
    await select.selectOption('florida');
    // The form shows the preset as shipped; an edit makes it the node's own, "Reset to preset" undoes it.
    const hint = dialog.locator('#dnc-policy-hint');
    assert.match((await hint.textContent()) ?? '', /as shipped/);
    const monday = dialog.locator('.dnc-policy-day[data-day="mon"] .dnc-policy-window');
    await dialog.locator('.dnc-policy-week').waitFor({ state: 'visible' });
    assert.equal(await monday.inputValue(), '08:00-20:00');
    await monday.fill('09:00-20:00');
    await hint.filter({ hasText: /Edited/ }).waitFor({ state: 'visible' });
    await dialog.locator('#dnc-policy-mode-json').click();
    // The code editor (Monaco or Ace) the dialog created, as the node holds it while the dialog is open.
    const text = await page().evaluate(() => {
      const policy = (window as unknown as { RED: EditorRed }).RED.nodes.node('d1a1090000000c02') as {
        editor: { getValue(): string };
      };
      return policy.editor.getValue();
    });
    const definition = JSON.parse(text) as { preset: string; windows: Record<string, string[]> };
    assert.equal(definition.preset, 'florida');
    assert.deepEqual(definition.windows, { mon: ['09:00-20:00'], 'tue-sun': ['08:00-20:00'] });
    await dialog.locator('#dnc-policy-reset').click();
    await hint.filter({ hasText: /as shipped/ }).waitFor({ state: 'visible' });
    await cancel();
    const stored = await page().evaluate(
      () => (window as unknown as { RED: EditorRed }).RED.nodes.node('d1a1090000000c02')?.preset,
    );
    assert.equal(stored, 'us-federal', 'Cancel keeps the preset as deployed');
    assert.deepEqual(errors.slice(mark), []);
  });

  it('registry: switching between file and service shows the settings of each', async () => {
    const mark = errors.length;
    const dialog = await openFromSidebar('dialogs registry');
    const fileRow = dialog.locator('#node-config-input-path');
    const serviceRow = dialog.locator('#node-config-input-url');
    await fileRow.waitFor({ state: 'visible' });
    assert.ok(await serviceRow.isHidden(), 'no service settings for a file');
    assert.ok(await dialog.locator('#node-config-input-customId').isHidden(), 'no custom id for US_NDNC');
    assert.match(
      (await dialog.locator('#node-config-input-maxAgeDays').getAttribute('placeholder')) ?? '',
      /\b31\b/,
    );

    await dialog.locator('#node-config-input-kind').selectOption('service');
    await serviceRow.waitFor({ state: 'visible' });
    assert.ok(await fileRow.isHidden(), 'no file settings for a service');
    for (const selector of [
      '#node-config-input-method',
      '#node-config-input-numberFormat',
      '#node-config-input-headers',
      '#node-config-input-body',
      '#node-config-input-apiKey',
      '#node-config-input-mapping',
      '#node-config-input-batchSize',
      '#node-config-input-timeout',
    ])
      await assertShown(dialog, selector, 'dnc-registry (service)');

    await dialog.locator('#node-config-input-registry').selectOption('custom');
    await dialog.locator('#node-config-input-customId').waitFor({ state: 'visible' });
    await dialog.locator('#node-config-input-kind').selectOption('file');
    await fileRow.waitFor({ state: 'visible' });
    assert.ok(await serviceRow.isHidden());

    // The Reassigned Numbers Database has one interface: no source kind, file or mapping to choose.
    await dialog.locator('#node-config-input-registry').selectOption('US_RND');
    await dialog.locator('#node-config-input-accountSid').waitFor({ state: 'visible' });
    for (const selector of [
      '#node-config-input-url',
      '#node-config-input-apiKey',
      '#node-config-input-rndConsentDate',
      '#node-config-input-rndNoData',
      '#node-config-input-timeout',
    ])
      await assertShown(dialog, selector, 'dnc-registry (US_RND)');
    for (const selector of [
      '#node-config-input-kind',
      '#node-config-input-path',
      '#node-config-input-mapping',
      '#node-config-input-callingCodes',
    ])
      assert.ok(await dialog.locator(selector).isHidden(), `${selector} hidden for US_RND`);
    assert.equal(await dialog.locator('#node-config-input-apiKey-label').textContent(), 'Auth token');
    assert.equal(
      await dialog.locator('#node-config-input-url').getAttribute('placeholder'),
      'https://lookups.twilio.com',
    );
    await cancel();
    assert.deepEqual(errors.slice(mark), []);
  });

  /** Presses Done and waits until the tray has gone. */
  async function done(): Promise<void> {
    await tray().locator('#node-config-dialog-ok, #node-dialog-ok').first().click();
    await page().waitForFunction(() => document.querySelectorAll('.red-ui-tray').length === 0);
  }

  function nodeState(id: string): Promise<{ changed: boolean; dirty: boolean; valid: boolean }> {
    return page().evaluate((nodeId) => {
      const RED = (window as unknown as { RED: EditorRed & { nodes: { dirty(): boolean } } }).RED;
      const node = RED.nodes.node(nodeId)!;
      return { changed: node.changed === true, dirty: RED.nodes.dirty(), valid: node.valid !== false };
    }, id);
  }

  it('check DNC saved before "If a registry cannot answer" existed shows "block"; Done without edits changes nothing', async () => {
    const mark = errors.length;
    const dialog = await openOnWorkspace('d1a1090000000013');
    const failure = dialog.locator('#node-input-registryFailure');
    assert.equal(await failure.inputValue(), 'block', 'the default the runtime applies');
    assert.equal(
      await failure.evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.textContent),
      'block the contact (fail closed)',
    );
    assert.equal(await dialog.locator('#node-input-ncprCategory').inputValue(), '');
    // The one registry picked is the one the runtime consults: the list shows it.
    assert.equal(await dialog.locator('#dnc-check-registries .dnc-registry-row').count(), 1);
    await done();
    assert.deepEqual(await nodeState('d1a1090000000013'), { changed: false, dirty: false, valid: true });
    assert.deepEqual(errors.slice(mark), []);
  });

  it('every flow node saved by an older version: Done without edits leaves it unchanged', async () => {
    const mark = errors.length;
    for (const node of LEGACY.filter((n) => n.id !== 'd1a1090000000020')) {
      await openOnWorkspace(node.id);
      await done();
      const state = await nodeState(node.id);
      assert.deepEqual(state, { changed: false, dirty: false, valid: true }, node.type);
    }
    assert.deepEqual(errors.slice(mark), []);
  });

  for (const [name, id, pickers] of [
    [
      'check DNC',
      'd1a1090000000003',
      [
        ['registry', '#dnc-check-add-registry'],
        ['policyPick', '#dnc-check-add-policy'],
      ],
    ],
    ['registry lookup', 'd1a1090000000006', [['registry', '#dnc-registry-lookup-add']]],
  ] as const) {
    it(`${name}: the buttons beside a config picker have distinct tooltips, do not overlap, and selects are not cut off`, async () => {
      const mark = errors.length;
      const dialog = await openOnWorkspace(id);
      const tips: string[] = [];
      for (const [property, add] of pickers) {
        const row = [
          `#node-input-${property}`,
          `#node-input-btn-${property}-edit`,
          `#node-input-btn-${property}-add`,
          add,
        ];
        // The tray slides in and lays its form out as it goes: measure once the row has settled.
        const rowBoxes = () =>
          Promise.all(
            row.map(async (selector) => JSON.stringify(await dialog.locator(selector).boundingBox())),
          );
        let before = '';
        for (let i = 0; i < 20; i++) {
          const now = (await rowBoxes()).join();
          if (now === before) break;
          before = now;
          await page().waitForTimeout(150);
        }
        const boxes = [];
        for (const selector of row) {
          const box = await dialog.locator(selector).boundingBox();
          assert.ok(box && box.width > 0, `${selector} is shown`);
          boxes.push({ selector, ...box });
        }
        // The form's own width: Node-RED's narrowest tray (500 px, the least a user can drag it to).
        const form = (await dialog.locator('#dialog-form').boundingBox())!;
        for (let i = 0; i < boxes.length; i++) {
          const a = boxes[i];
          assert.ok(a.x + a.width <= form.x + form.width + 0.5, `${a.selector} inside the form`);
          for (let j = i + 1; j < boxes.length; j++) {
            const b = boxes[j];
            const apart =
              a.x + a.width <= b.x + 0.5 ||
              b.x + b.width <= a.x + 0.5 ||
              a.y + a.height <= b.y + 0.5 ||
              b.y + b.height <= a.y + 0.5;
            assert.ok(apart, `${a.selector} and ${b.selector} do not overlap`);
          }
        }
        for (const selector of [`#node-input-btn-${property}-add`, add]) {
          await dialog.locator(selector).hover();
          const popover = page().locator('.red-ui-popover:visible').last();
          await popover.waitFor({ state: 'visible' });
          tips.push(((await popover.textContent()) ?? '').trim());
          await page().mouse.move(0, 0);
          await popover.waitFor({ state: 'hidden' });
        }
        assert.equal(
          await dialog.locator(add).getAttribute('aria-label'),
          tips[tips.length - 1],
          'the button is named for screen readers',
        );
      }
      assert.ok(
        tips.every((t) => t.length > 0),
        `tooltips: ${tips.join(' | ')}`,
      );
      assert.equal(new Set(tips).size, tips.length, `distinct tooltips: ${tips.join(' | ')}`);
      // Every option of the dialog's selects fits in its box (the arrow takes about 20 px).
      const cut = await dialog.evaluate((el) => {
        const context = document.createElement('canvas').getContext('2d')!;
        const out: string[] = [];
        el.querySelectorAll('select').forEach((select) => {
          if (select.offsetParent === null || select.closest('.dnc-pick')) return;
          const style = getComputedStyle(select);
          context.font = style.font;
          const room =
            select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
          for (const option of select.options) {
            const width = context.measureText(option.textContent ?? '').width;
            if (width > room) out.push(`${select.id}: "${option.textContent}" ${width} > ${room}`);
          }
        });
        el.querySelectorAll('input[placeholder]').forEach((input) => {
          const field = input as HTMLInputElement;
          if (field.offsetParent === null) return;
          const style = getComputedStyle(field);
          context.font = style.font;
          const room = field.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          const width = context.measureText(field.placeholder).width;
          if (width > room) out.push(`${field.id}: "${field.placeholder}" ${width} > ${room}`);
        });
        return out;
      });
      assert.deepEqual(cut, [], 'texts cut off');
      await cancel();
      assert.deepEqual(errors.slice(mark), []);
    });
  }

  it('add contact label with no label and msg.labels not chosen is invalid, and valid once chosen', async () => {
    const mark = errors.length;
    assert.equal((await nodeState('d1a1090000000020')).valid, false, 'marked invalid on the workspace');
    await page()
      .locator('#red-ui-workspace-chart g[id="d1a1090000000020"] .red-ui-flow-node-error')
      .waitFor({ state: 'visible' });
    // A node with labels (the fixture) is valid.
    assert.equal((await nodeState('d1a1090000000001')).valid, true);
    const dialog = await openOnWorkspace('d1a1090000000020');
    const labels = dialog.locator('#node-input-labels-text');
    assert.ok(await labels.evaluate((el) => el.classList.contains('input-error')), 'the field is marked');
    assert.match((await labels.getAttribute('title')) ?? '', /msg\.labels/);
    await dialog.locator('#node-input-labelsFromMsg').check();
    assert.ok(!(await labels.evaluate((el) => el.classList.contains('input-error'))));
    await done();
    assert.equal((await nodeState('d1a1090000000020')).valid, true, 'valid with msg.labels chosen');
    const dialog2 = await openOnWorkspace('d1a1090000000020');
    await dialog2.locator('#node-input-labelsFromMsg').uncheck();
    await dialog2.locator('#node-input-labels-text').fill('DNC_Sales');
    await dialog2.locator('#node-input-labels-text').dispatchEvent('change');
    assert.ok(!(await labels.evaluate((el) => el.classList.contains('input-error'))));
    await done();
    assert.equal((await nodeState('d1a1090000000020')).valid, true, 'valid with a label named');
    assert.deepEqual(errors.slice(mark), []);
  });

  it('palette names read as written, without stray spaces ("detect opt-out")', async () => {
    const labels = await page().evaluate(() =>
      [...document.querySelectorAll('.red-ui-palette-node[data-palette-type^="dnc-"]')].map((el) => {
        const html = el.querySelector('.red-ui-palette-label')?.innerHTML ?? '';
        const text = html
          .replace(/<br\s*\/?>/g, ' ')
          .replace(/&nbsp;/g, ' ')
          .replace(/\s+/g, ' ')
          .trim();
        return `${el.getAttribute('data-palette-type')}: ${text}`;
      }),
    );
    const expected: Record<string, string> = {
      'dnc-config': 'DNC labels',
      'dnc-add-label': 'add contact label',
      'dnc-remove-label': 'remove label',
      'dnc-check': 'check DNC',
      'dnc-policy': 'calling policy',
      'dnc-events': 'DNC changes',
      'dnc-opt-out': 'detect opt\u2011out',
      'dnc-registry': 'DNC registry',
      'dnc-registry-lookup': 'registry lookup',
      'dnc-record-attempt': 'record attempt',
    };
    const shown = labels.filter(
      (l) => !l.startsWith('dnc-config') && !l.startsWith('dnc-policy:') && !l.startsWith('dnc-registry:'),
    );
    assert.ok(shown.length >= 7, labels.join('; '));
    for (const line of shown) {
      const [type, text] = line.split(': ');
      assert.equal(text, expected[type], type);
      assert.doesNotMatch(text, / [-\u2011]|[-\u2011] /, `${type}: no space around a hyphen`);
    }
  });

  it('detect opt-out offers every language and Automatic, and saves the choice', async () => {
    const mark = errors.length;
    const dialog = await openOnWorkspace('d1a1090000000005');
    const options = await dialog
      .locator('#node-input-language option')
      .evaluateAll((list) => list.map((o) => [(o as HTMLOptionElement).value, o.textContent?.trim() ?? '']));
    assert.deepEqual(
      options.map(([value]) => value),
      ['en', 'es', 'fr', 'de', 'pt', 'hi', 'hi-Latn', 'it', 'nl', 'id', 'tr', 'auto'],
    );
    assert.match(options[options.length - 1][1], /^Automatic \(/, 'the Automatic entry is translated');
    await dialog.locator('#node-input-language').selectOption('tr');
    await dialog.locator('#node-dialog-ok').click();
    await page().waitForFunction(() => document.querySelectorAll('.red-ui-tray').length === 0);
    const language = await page().evaluate(
      (nodeId) => (window as unknown as { RED: EditorRed }).RED.nodes.node(nodeId)?.language,
      'd1a1090000000005',
    );
    assert.equal(language, 'tr');
    assert.deepEqual(errors.slice(mark), []);
  });

  it('check DNC and detect opt-out: a channel typed in capitals is saved in lower case', async () => {
    const mark = errors.length;
    for (const id of ['d1a1090000000003', 'd1a1090000000005']) {
      const dialog = await openOnWorkspace(id);
      await dialog.locator('#node-input-channel').fill(' WhatsApp ');
      await dialog.locator('#node-dialog-ok').click();
      await page().waitForFunction(() => document.querySelectorAll('.red-ui-tray').length === 0);
      const channel = await page().evaluate(
        (nodeId) => (window as unknown as { RED: EditorRed }).RED.nodes.node(nodeId)?.channel,
        id,
      );
      assert.equal(channel, 'whatsapp', id);
    }
    assert.deepEqual(errors.slice(mark), []);
  });
});
