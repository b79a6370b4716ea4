/**
 * The editor's DNC sidebar tab in real Chromium against a real Node-RED with adminAuth: an administrator
 * finds a contact, applies and removes a label with a reason, sees a change made elsewhere appear without
 * reloading, reads a list with its counts, filters and exports it, imports a file (dry run, then for real,
 * with progress and the rejected rows), and reads the store's and a registry's state; a read-only user sees
 * everything and cannot change anything. The page must log no error.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { findChromium, launchBrowser, onCi, screenshot, type Browser } from '../support/browser';
import { adminAuthSettings, NodeRedProcess, PACKAGE_ROOT, waitFor } from '../support/node-red-process';

const PASSWORD = 'sidebar-password-1';
const CONFIG = 'e2esidebarconf01';
const REGISTRY = 'e2esidebarreg001';
const ANA = '+442071838750';
const BEN = '+442071838751';
const CARL = '+14155550199';
const LABELS = [
  {
    name: 'DNC_Sales',
    description: 'no sales calls',
    channels: ['voice', 'sms'],
    global: false,
    expiresAfterDays: null,
  },
  {
    name: 'DNC_Global',
    description: 'no contact at all',
    channels: [],
    global: true,
    expiresAfterDays: null,
  },
];

describe('the DNC sidebar in a real browser', function () {
  this.timeout(120000);
  let red: NodeRedProcess;
  let userDir: string;
  const tokens: Record<string, string> = {};
  const browsers: Browser[] = [];
  let errors: string[] = [];

  async function dnc(method: string, route: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${red.baseUrl}/dnc/${route}`, {
      method,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens.admin}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(res.status < 300, `${method} ${route}: ${res.status} ${await res.clone().text()}`);
    return res.json();
  }

  /** The editor, logged in as `user` (its token put where the editor keeps it), with the DNC tab shown. */
  async function editorAs(user: 'admin' | 'reader'): Promise<Page> {
    const executable = findChromium()!;
    const browser = await launchBrowser(executable);
    browsers.push(browser);
    const page = browser.page;
    page.setDefaultTimeout(15000);
    page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
    });
    const access = tokens[user];
    await page.addInitScript((value: string) => {
      window.localStorage.setItem(
        'auth-tokens',
        JSON.stringify({ access_token: value, expires_in: 604800, token_type: 'Bearer' }),
      );
    }, access);
    await page.goto(red.baseUrl + '/');
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="dnc-check"]', { timeout: 30000 });
    await page.evaluate(() =>
      (window as unknown as { RED: { actions: { invoke(a: string): void } } }).RED.actions.invoke(
        'dnc:show-dnc-tab',
      ),
    );
    await page.locator('.dnc-sidebar #dnc-sidebar-search').waitFor({ state: 'visible' });
    return page;
  }

  function sidebar(page: Page): Locator {
    return page.locator('.dnc-sidebar');
  }

  /** Searches for `typed` and waits for the profile of the number it means (`key`, E.164). */
  async function find(page: Page, typed: string, key = typed): Promise<void> {
    await sidebar(page).locator('#dnc-sidebar-tab-contacts').click();
    await sidebar(page).locator('#dnc-sidebar-search').fill(typed);
    await sidebar(page).locator('#dnc-sidebar-search').press('Enter');
    await sidebar(page).locator('.dnc-sidebar-keys code', { hasText: key }).waitFor();
  }

  before(async function () {
    this.timeout(180000);
    if (findChromium() === undefined) {
      if (onCi()) throw new Error('Chromium not found (.ci/run installs it)');
      this.skip();
    }
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-sidebar-'));
    fs.writeFileSync(path.join(userDir, 'us-ndnc.txt'), '415,5550199\n212,5553003\n');
    fs.writeFileSync(
      path.join(userDir, 'us-ndnc.txt.asof'),
      new Date(Date.now() - 3 * 86400000).toISOString().slice(0, 10),
    );
    red = await NodeRedProcess.start({
      userDir,
      nodesDir: [PACKAGE_ROOT],
      settings: adminAuthSettings(PASSWORD, { admin: '*', reader: 'read' }),
    });
    tokens.admin = await red.adminToken('admin', PASSWORD, '*');
    tokens.reader = await red.adminToken('reader', PASSWORD, 'read');
    const flows = [
      { id: 'e2esidebartab001', type: 'tab', label: 'sidebar', disabled: false, info: '' },
      {
        id: CONFIG,
        type: 'dnc-config',
        name: 'Sidebar labels',
        labels: LABELS,
        defaultCountry: 'GB',
        storePath: '',
        apiPath: '/dnc-api',
        apiRateLimit: 0,
      },
      // A small pre-dial flow, for the screenshot of the editor with the tab open.
      {
        id: 'e2esidebarinj01',
        type: 'inject',
        z: 'e2esidebartab001',
        name: 'next lead',
        props: [{ p: 'payload' }],
        repeat: '',
        crontab: '',
        once: false,
        onceDelay: 0.1,
        topic: '',
        payload: ANA,
        payloadType: 'str',
        x: 140,
        y: 100,
        wires: [['e2esidebarchk01']],
      },
      {
        id: 'e2esidebarchk01',
        type: 'dnc-check',
        z: 'e2esidebartab001',
        name: 'pre-dial check',
        config: CONFIG,
        labels: [],
        channel: 'voice',
        contact: 'payload',
        contactType: 'msg',
        registries: [REGISTRY],
        registryFailure: 'block',
        x: 340,
        y: 100,
        wires: [['e2esidebardbg01'], ['e2esidebardbg02']],
      },
      {
        id: 'e2esidebardbg01',
        type: 'debug',
        z: 'e2esidebartab001',
        name: 'dial',
        complete: 'dnc',
        x: 550,
        y: 80,
        wires: [],
      },
      {
        id: 'e2esidebardbg02',
        type: 'debug',
        z: 'e2esidebartab001',
        name: 'do not dial',
        complete: 'dnc',
        x: 570,
        y: 120,
        wires: [],
      },
      {
        id: REGISTRY,
        type: 'dnc-registry',
        name: 'US list',
        kind: 'file',
        registry: 'US_NDNC',
        path: 'us-ndnc.txt',
        watch: false,
      },
    ];
    await red.deploy(flows, tokens.admin);
    await waitFor('the DNC store to open', async () => {
      const res = await fetch(`${red.baseUrl}/dnc/health`, {
        headers: { Authorization: `Bearer ${tokens.admin}` },
      });
      return res.status === 200 ? true : undefined;
    });
    await dnc('POST', 'labels/add', {
      contact: ANA,
      labels: ['DNC_Sales'],
      reason: 'asked on the phone',
      source: 'ivr',
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const b of browsers) {
        const file = await screenshot(b.page, this.currentTest.fullTitle());
        if (file) console.log(`      screenshot: ${file}`);
      }
      if (errors.length > 0) console.log(`      page errors:\n${errors.join('\n')}`);
      console.log(`--- node-red output (tail) ---\n${red?.log.slice(-3000) ?? ''}`);
    }
    for (const b of browsers.splice(0)) await b.close();
    errors = [];
  });

  after(async function () {
    this.timeout(30000);
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('finds a contact typed any way, with its labels, who applied them and why, and its verified history', async () => {
    const page = await editorAs('admin');
    await find(page, '020 7183 8750', ANA);
    const labels = sidebar(page).locator('.dnc-sidebar-labels');
    await labels.locator('.dnc-sidebar-card', { hasText: 'DNC_Sales' }).waitFor();
    const card = await labels.locator('.dnc-sidebar-card').first().innerText();
    assert.match(card, /active/);
    assert.match(card, /Reason: asked on the phone/);
    assert.match(card, /by user:admin \(ivr\)/);
    assert.match(card, /Never expires/);
    await sidebar(page).locator('p.dnc-ok', { hasText: 'The audit chain verifies' }).first().waitFor();
    assert.match(await sidebar(page).locator('.dnc-sidebar-history').innerText(), /add DNC_Sales/);
    // A decision preview for chosen labels: DNC_Global alone allows, DNC_Sales blocks.
    const s = sidebar(page);
    await s.locator('#dnc-sidebar-preview-labels').selectOption(['DNC_Global']);
    await s.locator('#dnc-sidebar-preview-check').click();
    await s.locator('.dnc-verdict-allowed').waitFor();
    await s.locator('#dnc-sidebar-preview-labels').selectOption(['DNC_Sales']);
    await s.locator('#dnc-sidebar-preview-check').click();
    await s.locator('.dnc-verdict-blocked').waitFor();
    assert.match(await s.locator('.dnc-sidebar-verdict').innerText(), /LABEL: .*DNC_Sales/);
    assert.deepEqual(errors, []);
    // `DNC_SCREENSHOTS=1` refreshes the pictures in docs/images (the README shows them).
    if (process.env.DNC_SCREENSHOTS === '1') {
      const images = path.join(PACKAGE_ROOT, 'docs', 'images');
      fs.mkdirSync(images, { recursive: true });
      await sidebar(page).screenshot({ path: path.join(images, 'dnc-sidebar.png') });
      await page.locator(`#red-ui-tab-e2esidebartab001 a`).first().click();
      await page.screenshot({ path: path.join(images, 'editor-flow-and-sidebar.png') });
    }
  });

  it('applies and removes a label with a required reason, and previews the decision', async () => {
    const page = await editorAs('admin');
    await find(page, BEN);
    const s = sidebar(page);
    await s.locator('#dnc-sidebar-change-label').selectOption('DNC_Global');
    await s.locator('#dnc-sidebar-apply').click();
    await s.locator('.dnc-sidebar-result.dnc-error', { hasText: 'Give a reason' }).waitFor();
    await s.locator('#dnc-sidebar-change-reason').fill('complaint by email');
    await s.locator('#dnc-sidebar-apply').click();
    await s.locator('.dnc-sidebar-labels .dnc-sidebar-card', { hasText: 'DNC_Global' }).waitFor();
    const stored = (await dnc('GET', `contacts/${encodeURIComponent(BEN)}`)) as {
      labels: { label: string; reason: string; principal: string; source: string }[];
    };
    assert.deepEqual(
      stored.labels.map((l) => [l.label, l.reason, l.principal, l.source]),
      [['DNC_Global', 'complaint by email', 'user:admin', 'editor']],
    );

    await s.locator('#dnc-sidebar-preview-channel').selectOption('sms');
    await s.locator('#dnc-sidebar-preview-check').click();
    await s.locator('.dnc-verdict-blocked').waitFor();
    assert.match(await s.locator('.dnc-sidebar-verdict').innerText(), /LABEL/);

    await s.locator('#dnc-sidebar-change-label').selectOption('DNC_Global');
    await s.locator('#dnc-sidebar-change-reason').fill('sent in error');
    await s.locator('#dnc-sidebar-remove').click();
    await s.locator('.dnc-sidebar-result', { hasText: 'Removed DNC_Global' }).waitFor();
    await s.locator('p', { hasText: 'No labels.' }).waitFor();
    await s.locator('#dnc-sidebar-preview-check').click();
    await s.locator('.dnc-verdict-allowed').waitFor();
    assert.deepEqual(errors, []);
  });

  it('shows a change made elsewhere (a flow, the API) without reloading', async () => {
    const page = await editorAs('admin');
    await find(page, CARL);
    await sidebar(page).locator('p', { hasText: 'No labels.' }).waitFor();
    await dnc('POST', 'labels/add', {
      contact: CARL,
      labels: ['DNC_Sales'],
      reason: 'via the CRM',
      source: 'crm',
    });
    // Through comms: no click, no reload.
    await sidebar(page)
      .locator('.dnc-sidebar-labels .dnc-sidebar-card', { hasText: 'via the CRM' })
      .waitFor({ timeout: 10000 });
    assert.deepEqual(errors, []);
  });

  it('reads a label as a list: counts, definition, filter, pages, recent changes, CSV export', async () => {
    const page = await editorAs('admin');
    const s = sidebar(page);
    await s.locator('#dnc-sidebar-tab-lists').click();
    const counts = s.locator('.dnc-sidebar-lists-table');
    await counts.locator('button', { hasText: 'DNC_Sales' }).waitFor();
    const salesRow = await counts
      .locator('tr', { has: page.locator('button', { hasText: 'DNC_Sales' }) })
      .innerText();
    assert.match(salesRow, /DNC_Sales\s+2\s+0/);
    await counts.locator('button', { hasText: 'DNC_Sales' }).click();
    await s.locator('.dnc-sidebar-definition', { hasText: 'no sales calls' }).waitFor();
    await s.locator('.dnc-sidebar-list-table').waitFor();
    assert.equal(await s.locator('.dnc-sidebar-list-table tbody tr').count(), 2);
    await s.locator('#dnc-sidebar-list-filter').fill('415 555');
    await s.locator('#dnc-sidebar-list-filter').press('Enter');
    await page.waitForFunction(
      () => document.querySelectorAll('.dnc-sidebar-list-table tbody tr').length === 1,
    );
    assert.match(await s.locator('.dnc-sidebar-list-table').innerText(), /\+14155550199/);
    assert.match(await s.locator('.dnc-sidebar-recent').innerText(), /add/);
    const download = page.waitForEvent('download');
    await s.locator('#dnc-sidebar-export').click();
    const file = await (await download).path();
    const csv = fs.readFileSync(file, 'utf8');
    assert.match(csv, /^contact,keys,label/);
    assert.match(csv, /\+442071838750/);
    assert.deepEqual(errors, []);
  });

  it('imports a file: a dry run changes nothing and lists the rejected rows by line, then the import applies', async () => {
    const page = await editorAs('admin');
    const s = sidebar(page);
    await s.locator('#dnc-sidebar-tab-import').click();
    const csv =
      'contact,labels,reason\n+442071838760,DNC_Sales,imported\nnot a number,DNC_Sales,x\n+442071838761,DNC_Nope,x\n';
    await s
      .locator('#dnc-sidebar-import-file')
      .setInputFiles({ name: 'optouts.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await s.locator('#dnc-sidebar-dry-run').click();
    await s.locator('.dnc-sidebar-import-result p', { hasText: 'Dry run done' }).waitFor();
    const summary = await s.locator('.dnc-sidebar-import-result').innerText();
    assert.match(summary, /3 rows read, 1 would change, 0 already so, 2 rejected/);
    const rejected = await s.locator('.dnc-sidebar-rejected tbody').innerText();
    assert.match(rejected, /^3\s/m);
    assert.match(rejected, /^4\s/m);
    const before = (await dnc('GET', `contacts/${encodeURIComponent('+442071838760')}`)) as {
      labels: unknown[];
    };
    assert.equal(before.labels.length, 0, 'a dry run changes nothing');
    assert.equal(await s.locator('#dnc-sidebar-import-progress').getAttribute('value'), '100');
    await s.locator('#dnc-sidebar-import').click();
    await s.locator('.dnc-sidebar-import-result p', { hasText: 'Import done' }).waitFor();
    const after = (await dnc('GET', `contacts/${encodeURIComponent('+442071838760')}`)) as {
      labels: { label: string; principal: string }[];
    };
    assert.deepEqual(
      after.labels.map((l) => [l.label, l.principal]),
      [['DNC_Sales', 'import:user:admin']],
    );
    assert.deepEqual(errors, []);
  });

  it("shows the store's and the registries' state", async () => {
    const page = await editorAs('admin');
    const s = sidebar(page);
    await s.locator('#dnc-sidebar-tab-status').click();
    const store = s.locator('.dnc-sidebar-store');
    await store.waitFor();
    assert.match(await store.innerText(), /State\s+ready/);
    assert.match(await store.innerText(), /The audit chain verifies/);
    const registries = s.locator('.dnc-sidebar-registries');
    await registries.waitFor();
    const row = await registries.locator('tbody tr').first().innerText();
    assert.match(row, /US list \(US_NDNC\)/);
    assert.match(row, /3 d \(28 d left\)/);
    assert.match(row, /\b2\b/, 'two numbers loaded');
    assert.deepEqual(errors, []);
  });

  it('lets a read-only user see everything and change nothing, and says why', async () => {
    const page = await editorAs('reader');
    await find(page, ANA);
    const s = sidebar(page);
    await s.locator('.dnc-sidebar-labels .dnc-sidebar-card', { hasText: 'DNC_Sales' }).waitFor();
    assert.ok(await s.locator('#dnc-sidebar-apply').isDisabled());
    assert.ok(await s.locator('#dnc-sidebar-remove').isDisabled());
    assert.match(await s.locator('.dnc-sidebar-result').innerText(), /Read-only/);
    await s.locator('#dnc-sidebar-tab-import').click();
    assert.ok(await s.locator('#dnc-sidebar-dry-run').isDisabled());
    // The server refuses too: the buttons are not the only guard.
    const res = await fetch(`${red.baseUrl}/dnc/labels/add`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens.reader}` },
      body: JSON.stringify({ contact: ANA, labels: ['DNC_Global'] }),
    });
    // Node-RED's needsPermission answers 401 to a user without the permission.
    assert.equal(res.status, 401);
    assert.deepEqual(errors, []);
  });
});

describe('the DNC sidebar under httpAdminRoot, used with the keyboard alone', function () {
  this.timeout(120000);
  const ROOT = '/red-admin';
  let red: NodeRedProcess;
  let userDir: string;
  let browser: Browser | undefined;
  let errors: string[] = [];

  before(async function () {
    this.timeout(180000);
    if (findChromium() === undefined) {
      if (onCi()) throw new Error('Chromium not found (.ci/run installs it)');
      this.skip();
    }
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-sidebar-root-'));
    red = await NodeRedProcess.start({
      userDir,
      nodesDir: [PACKAGE_ROOT],
      settings: { httpAdminRoot: ROOT },
    });
    assert.ok(red.baseUrl.endsWith(ROOT));
    await red.deploy([
      { id: 'e2erootsidetab01', type: 'tab', label: 'root', disabled: false, info: '' },
      {
        id: 'e2erootsideconf1',
        type: 'dnc-config',
        name: 'Labels under a root',
        labels: LABELS,
        defaultCountry: 'GB',
        storePath: '',
        apiPath: '',
        apiRateLimit: 0,
      },
    ]);
    await waitFor('the DNC store to open', async () => {
      const res = await fetch(`${red.baseUrl}/dnc/health`);
      return res.status === 200 ? true : undefined;
    });
    const res = await fetch(`${red.baseUrl}/dnc/labels/add`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ contact: BEN, labels: ['DNC_Global'], reason: 'wrote in', source: 'email' }),
    });
    assert.equal(res.status, 200, await res.text());
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      const file = await screenshot(browser.page, this.currentTest.fullTitle());
      if (file) console.log(`      screenshot: ${file}`);
      if (errors.length > 0) console.log(`      page errors:\n${errors.join('\n')}`);
      console.log(`--- node-red output (tail) ---\n${red?.log.slice(-3000) ?? ''}`);
    }
    await browser?.close();
    browser = undefined;
    errors = [];
  });

  after(async function () {
    this.timeout(30000);
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** The focused element's id (or its tag when it has none). */
  function focused(page: Page): Promise<string> {
    return page.evaluate(() => {
      const active = document.activeElement;
      return active === null ? '' : active.id || active.tagName.toLowerCase();
    });
  }

  it('reaches every pane and applies a label by keyboard, its admin URLs under the root', async () => {
    browser = await launchBrowser(findChromium()!);
    const page = browser.page;
    page.setDefaultTimeout(15000);
    page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
    });
    const requested: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (/\/dnc\//.test(url.pathname)) requested.push(url.pathname);
    });
    await page.goto(red.baseUrl + '/');
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="dnc-check"]', { timeout: 30000 });
    await page.evaluate(() =>
      (window as unknown as { RED: { actions: { invoke(a: string): void } } }).RED.actions.invoke(
        'dnc:show-dnc-tab',
      ),
    );
    const s = page.locator('.dnc-sidebar');
    await s.locator('#dnc-sidebar-search').waitFor({ state: 'visible' });

    // The tab list: only the selected tab is in the Tab order; the arrows, Home and End move between panes.
    assert.equal(await s.locator('[role="tab"][tabindex="0"]').count(), 1);
    await s.locator('#dnc-sidebar-tab-contacts').focus();
    for (const [key, pane] of [
      ['ArrowRight', 'lists'],
      ['ArrowRight', 'import'],
      ['End', 'status'],
      ['ArrowRight', 'contacts'],
      ['ArrowLeft', 'status'],
      ['Home', 'contacts'],
    ]) {
      await page.keyboard.press(key);
      assert.equal(await focused(page), `dnc-sidebar-tab-${pane}`, `${key} focuses ${pane}`);
      assert.ok(await s.locator(`#dnc-sidebar-pane-${pane}`).isVisible(), `${key} shows ${pane}`);
      assert.equal(await s.locator(`#dnc-sidebar-tab-${pane}`).getAttribute('aria-selected'), 'true');
    }

    // Tab goes from the tab list into the contacts pane's search field; Enter finds the contact.
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'dnc-sidebar-search');
    await page.keyboard.type('020 7183 8751');
    await page.keyboard.press('Enter');
    await s.locator('.dnc-sidebar-keys code', { hasText: BEN }).waitFor();
    await s.locator('.dnc-sidebar-labels .dnc-sidebar-card', { hasText: 'DNC_Global' }).waitFor();

    // On to the change form by Tab alone, then a label and a reason, applied with Enter.
    let steps = 0;
    while ((await focused(page)) !== 'dnc-sidebar-change-label') {
      await page.keyboard.press('Tab');
      steps += 1;
      assert.ok(steps < 60, `the change form is reachable by Tab (at ${await focused(page)})`);
    }
    await s.locator('#dnc-sidebar-change-label').selectOption('DNC_Sales');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'dnc-sidebar-change-reason');
    await page.keyboard.type('asked by keyboard');
    await page.keyboard.press('Enter');
    await s.locator('.dnc-sidebar-labels .dnc-sidebar-card', { hasText: 'DNC_Sales' }).waitFor();
    assert.match(await s.locator('.dnc-sidebar-result').innerText(), /DNC_Sales/);

    // Every request of the tab went under the admin root, none to the server's root.
    assert.ok(requested.length > 0);
    for (const url of requested) assert.ok(url.startsWith(`${ROOT}/dnc/`), url);
    const contact = (await (
      await fetch(`${red.baseUrl}/dnc/contacts/${encodeURIComponent(BEN)}`)
    ).json()) as {
      labels: Array<{ label: string; reason?: string }>;
    };
    const sales = contact.labels.find((l) => l.label === 'DNC_Sales');
    assert.equal(sales?.reason, 'asked by keyboard');
    assert.deepEqual(errors, []);
  });
});
