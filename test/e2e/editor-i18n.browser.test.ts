/**
 * The editor and the runtime in Spanish, in real Chromium against a real Node-RED process with this
 * package (loaded from the working tree through nodesDir).
 *
 * How Node-RED 4 picks the languages: the editor takes `localStorage["editor-language"]` (the user's
 * choice under Settings > View) or else the browser's `navigator.language`, and asks the runtime for the
 * nodes' catalogs (`/nodes/messages?lng=`) and help (`Accept-Language` on `/nodes`) in it; here the
 * Playwright context's `locale` sets both. The runtime translates node statuses in its own language:
 * settings `lang`, else the process locale (LC_ALL, LC_MESSAGES, LANG; only their first two letters).
 *
 * On CI (CI=true) a missing Chromium fails the suite; elsewhere it skips with a message.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { findChromium, launchBrowser, onCi, screenshot, trayOpened, type Browser } from '../support/browser';
import { shortText } from '../../nodes/shared/status';
import { NodeRedProcess, PACKAGE_ROOT, waitFor, type FlowNode } from '../support/node-red-process';

const LANG = 'es-ES';
const TAB = 'e18e000000000001';
const CONFIG = 'e18e0000000000c1';
const IDS = {
  injectOptOut: 'e18e000000000011',
  add: 'e18e000000000012',
  check: 'e18e000000000013',
  injectBad: 'e18e000000000021',
  addBad: 'e18e000000000022',
};

type Catalog = { [key: string]: string | Catalog };

/**
 * A value of the package's catalog for `lang`, read from the source tree: (`dnc-check`, `label.policy`) is
 * `dnc-check.label.policy` in dnc-check.json; a key starting with `common.` is taken as it is.
 */
function text(lang: string, file: string, key: string): string {
  let node: string | Catalog = JSON.parse(
    fs.readFileSync(path.join(PACKAGE_ROOT, 'nodes', 'locales', lang, `${file}.json`), 'utf8'),
  ) as Catalog;
  const full = key.startsWith('common.') ? key : `${file}.${key}`;
  for (const part of full.split('.')) {
    if (typeof node === 'string' || !(part in node)) throw new Error(`no ${key} in ${lang}/${file}.json`);
    node = node[part];
  }
  if (typeof node !== 'string') throw new Error(`${key} in ${lang}/${file}.json is not a string`);
  return node;
}

function inject(id: string, payload: string, wire: string): FlowNode {
  return {
    id,
    type: 'inject',
    z: TAB,
    name: '',
    props: [{ p: 'payload' }],
    repeat: '',
    crontab: '',
    once: false,
    onceDelay: 0.1,
    topic: '',
    payload,
    payloadType: 'str',
    x: 120,
    y: id === IDS.injectOptOut ? 80 : 200,
    wires: [[wire]],
  };
}

function addLabel(id: string, wire: string | null, y: number): FlowNode {
  return {
    id,
    type: 'dnc-add-label',
    z: TAB,
    name: '',
    config: CONFIG,
    labels: ['DNC_Sales'],
    contact: 'payload',
    contactType: 'msg',
    source: 'ivr',
    reason: 'asked',
    reasonType: 'str',
    actor: '',
    actorType: 'str',
    x: 340,
    y,
    wires: [wire ? [wire] : []],
  };
}

const FLOWS: FlowNode[] = [
  { id: TAB, type: 'tab', label: 'idiomas', disabled: false, info: '' },
  {
    id: CONFIG,
    type: 'dnc-config',
    name: 'etiquetas',
    labels: [
      { name: 'DNC_Global', description: '', channels: [], global: true, expiresAfterDays: null },
      { name: 'DNC_Sales', description: '', channels: ['voice'], global: false, expiresAfterDays: null },
    ],
    defaultCountry: 'GB',
    storePath: '',
  },
  inject(IDS.injectOptOut, '+447911123456', IDS.add),
  addLabel(IDS.add, IDS.check, 80),
  {
    id: IDS.check,
    type: 'dnc-check',
    z: TAB,
    name: '',
    config: CONFIG,
    labels: ['DNC_Sales'],
    channel: 'voice',
    contact: 'payload',
    contactType: 'msg',
    policy: '',
    campaign: '',
    recordAttempt: false,
    registry: '',
    registries: [],
    registryFailure: 'block',
    ncprCategory: '',
    x: 660,
    y: 80,
    wires: [[], []],
  },
  inject(IDS.injectBad, 'nobody at all', IDS.addBad),
  addLabel(IDS.addBad, null, 200),
];

interface EditorRed {
  i18n: { lang(): string };
  actions: { invoke(name: string): void };
  nodes: { node(id: string): unknown };
  view: { select(selection: { nodes: unknown[] }): void };
}

describe(`the editor and the runtime in another language (${LANG}) in a real browser`, function () {
  this.timeout(120000);

  let tmp: string | undefined;
  let red: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  const errors: string[] = [];

  function page(): Page {
    if (!browser) throw new Error('no browser');
    return browser.page;
  }

  function workspaceNode(id: string): Locator {
    return page().locator(`#red-ui-workspace-chart g[id="${id}"]`);
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
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-i18n-'));
    red = await NodeRedProcess.start({ userDir: tmp, nodesDir: [PACKAGE_ROOT], settings: { lang: LANG } });
    await red.deploy(FLOWS);
    browser = await launchBrowser(executable, { locale: LANG });
    page().setDefaultTimeout(15000);
    page().on('pageerror', (err) => errors.push(`uncaught: ${err.stack ?? err.message}`));
    page().on('console', (message) => {
      if (message.type() === 'error')
        errors.push(`console.error (${message.location().url}): ${message.text()}`);
    });
    try {
      await page().goto(red.baseUrl + '/');
      await page().waitForSelector('.red-ui-palette-node[data-palette-type="dnc-check"]', { timeout: 30000 });
      await page().waitForSelector(`#red-ui-tab-${TAB}`, { timeout: 30000 });
      await page().locator(`#red-ui-tab-${TAB} a`).first().click();
      await workspaceNode(IDS.check).waitFor({ state: 'visible' });
    } catch (err) {
      const file = await screenshot(page(), 'i18n editor did not load');
      if (file) console.log(`      screenshot: ${file}`);
      if (errors.length > 0) console.log(`      page errors:\n${errors.join('\n')}`);
      throw err;
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      const file = await screenshot(browser.page, this.currentTest.fullTitle());
      if (file) console.log(`      screenshot: ${file}`);
      if (errors.length > 0) console.log(`      page errors:\n${errors.join('\n')}`);
      if (red) console.log(`--- node-red output (tail) ---\n${red.log.slice(-4000)}`);
      // Leave no dialog open for the next test.
      const cancel = browser.page.locator('.red-ui-tray #node-dialog-cancel');
      if ((await cancel.count()) > 0)
        await cancel
          .last()
          .click({ force: true, timeout: 2000 })
          .catch(() => undefined);
    }
  });

  after(async function () {
    this.timeout(30000);
    await browser?.close();
    await red?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs the editor in the browser language', async () => {
    const lang = await page().evaluate(() => (window as unknown as { RED: EditorRed }).RED.i18n.lang());
    assert.equal(lang, LANG);
  });

  it("shows the package's palette labels and node labels translated", async () => {
    for (const type of ['dnc-check', 'dnc-add-label', 'dnc-opt-out', 'dnc-registry-lookup']) {
      const label = page().locator(`.red-ui-palette-node[data-palette-type="${type}"] .red-ui-palette-label`);
      const shown = ((await label.textContent()) ?? '').replace(/\s+/g, ' ').trim();
      assert.equal(shown, text(LANG, type, 'label.paletteLabel'), type);
    }
    assert.equal(text(LANG, 'dnc-check', 'label.paletteLabel'), 'comprobar DNC');
    // The workspace label comes from the node's label function: "comprobar DNC_Sales".
    const label = workspaceNode(IDS.check).locator('.red-ui-flow-node-label');
    assert.equal((await label.textContent())?.trim(), 'comprobar DNC_Sales (voice)');
  });

  it('labels ports and nodes in Spanish where the label is computed (opt-out outputs, policy, registry)', async () => {
    const labels = await page().evaluate(() => {
      type Def = Record<string, unknown> & {
        _: unknown;
        label: (this: object) => string;
        outputLabels: (this: object, i: number) => string;
      };
      const red = (window as unknown as { RED: { nodes: { getType(t: string): Def } } }).RED;
      const optOut = red.nodes.getType('dnc-opt-out');
      const policy = red.nodes.getType('dnc-policy');
      const registry = red.nodes.getType('dnc-registry');
      const lookup = red.nodes.getType('dnc-registry-lookup');
      return {
        outputs: [0, 1, 2, 3].map((i) => optOut.outputLabels.call(optOut, i)),
        policy: policy.label.call({ _: policy._, preset: 'florida', policy: '' }),
        file: registry.label.call({ _: registry._, registry: 'US_NDNC', kind: 'file' }),
        rnd: registry.label.call({ _: registry._, registry: 'US_RND' }),
        lookup: lookup.label.call({ _: lookup._, registries: [] }),
      };
    });
    assert.deepEqual(labels, {
      outputs: ['baja', 'alta', 'ayuda', 'nada'],
      policy: 'política de llamadas: florida',
      file: 'US_NDNC (archivo)',
      rnd: 'US_RND (números reasignados)',
      lookup: 'consultar registro',
    });
  });

  it('opens the Check DNC dialog with its field labels in Spanish, no key and no English left', async () => {
    const mark = errors.length;
    await workspaceNode(IDS.check).locator('.red-ui-flow-node').dblclick();
    const tray = page().locator('.red-ui-tray').last();
    await tray.locator('#node-dialog-cancel').waitFor({ state: 'visible' });
    await trayOpened(page());
    await tray.locator('#node-input-registryFailure').waitFor({ state: 'attached' });
    const shown = (await tray.locator('.red-ui-tray-body').textContent()) ?? '';
    for (const key of [
      'label.labels',
      'label.policy',
      'label.morePolicies',
      'label.campaign',
      'label.recordAttempt',
      'label.registries',
      'label.registryFailure',
      'label.ncprCategory',
    ])
      assert.ok(
        shown.includes(text(LANG, 'dnc-check', key)),
        `the dialog shows ${key}: ${text(LANG, 'dnc-check', key)}`,
      );
    assert.ok(shown.includes('Si un registro no responde'));
    assert.ok(
      shown.includes(text(LANG, 'dnc-config', 'common.label.contact')),
      'the shared label "Contacto"',
    );
    assert.ok(!shown.includes('If a registry cannot answer'), 'no English label left');
    const options = await tray.locator('#node-input-registryFailure option').allTextContents();
    assert.deepEqual(
      options.map((o) => o.trim()),
      [text(LANG, 'dnc-check', 'label.failureBlock'), text(LANG, 'dnc-check', 'label.failureAllow')],
    );
    const placeholder = await tray.locator('#node-input-campaign').getAttribute('placeholder');
    assert.equal(placeholder, text(LANG, 'dnc-check', 'placeholder.campaign'));
    assert.equal(shown.match(/\bdnc-[a-z-]+\.(label|placeholder|hint|tip|validation)\.[A-Za-z_.]+/), null);
    await tray.locator('#node-dialog-cancel').click();
    await page().waitForFunction(() => document.querySelectorAll('.red-ui-tray').length === 0);
    assert.deepEqual(errors.slice(mark), [], 'errors in the page');
  });

  it("shows the node's help in Spanish in the help sidebar", async () => {
    await workspaceNode(IDS.check).locator('.red-ui-flow-node').click();
    await page().evaluate(() =>
      (window as unknown as { RED: EditorRed }).RED.actions.invoke('core:show-help-tab'),
    );
    const help = page()
      .locator('.red-ui-help', { hasText: 'Comprueba un contacto contra las etiquetas' })
      .last();
    await help.waitFor({ state: 'visible' });
    const shown = (await help.textContent()) ?? '';
    assert.ok(shown.includes('Entradas') && shown.includes('Salidas'), 'the headings are Spanish');
    assert.ok(!shown.includes('Checks a contact against'), 'not the English page');
  });

  it('shows the statuses the runtime sets in its language (settings lang), errors included', async () => {
    const mark = errors.length;
    await workspaceNode(IDS.injectOptOut).locator('.red-ui-flow-node-button').click();
    const checkStatus = workspaceNode(IDS.check).locator('.red-ui-flow-node-status-label');
    // "bloqueado: DNC_Sales", as the nodes show a status: cut to what fits (nodes/shared/status.ts).
    const blocked = shortText(
      text(LANG, 'dnc-check', 'status.blockedLabel').replace('__label__', 'DNC_Sales'),
    );
    assert.match(blocked, /^bloqueado: DNC_Sal/);
    await checkStatus.filter({ hasText: blocked }).waitFor({ state: 'visible' });
    const addStatus = workspaceNode(IDS.add).locator('.red-ui-flow-node-status-label');
    assert.equal((await addStatus.textContent())?.trim(), '1 añadidas');

    // A contact that cannot be read: the node's error status (a shared runtime string), and the error.
    await workspaceNode(IDS.injectBad).locator('.red-ui-flow-node-button').click();
    const badStatus = workspaceNode(IDS.addBad).locator('.red-ui-flow-node-status-label');
    await badStatus.filter({ hasText: 'contacto no válido' }).waitFor({ state: 'visible' });
    // The same texts as the runtime sent them over /comms.
    await waitFor('the statuses over /comms', () =>
      red!.status.get(IDS.addBad)?.text === 'contacto no válido' ? true : undefined,
    );
    assert.equal(red!.status.get(IDS.check)?.text, blocked);
    assert.deepEqual(errors.slice(mark), [], 'errors in the page');
  });

  it('loaded with no error in the page', () => {
    assert.deepEqual(errors, []);
  });
});
