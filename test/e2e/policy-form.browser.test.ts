/**
 * The calling policy dialog as a form, in real Chromium against a real Node-RED process with this
 * package: the week grid edited and written back compactly, Form -> JSON -> Form round-tripping exactly
 * (fields the form does not show kept), Done and Deploy storing the definition the runtime then holds,
 * Done without edits changing nothing, the live preview of a test number (allowed now / blocked until),
 * the engine's error shown for an invalid edit, nothing wider than the tray, and no console error.
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

const TAB = 'f0a1090000000ab0';
const PRESET_ID = 'f0a1090000000c01';
const CUSTOM_ID = 'f0a1090000000c02';

/** A custom definition with fields the form does not show (rules, holiday types, a cap's rule...). */
const CUSTOM = {
  name: 'form custom',
  rule: 'our own hours',
  channels: ['voice'],
  windows: { 'mon-fri': ['09:00-17:00'] },
  holidays: { country: 'FR', types: ['public'], rule: 'French public holidays' },
  caps: [{ limit: 2, days: 7, scope: 'campaign', rule: 'two a week' }],
  timezoneFallback: 'block',
};

interface EditorRed {
  nodes: {
    node(id: string): Record<string, unknown> | null;
    dirty(): boolean;
  };
  actions: { invoke(name: string): void };
}

describe('calling policy dialog: the form, the JSON view and the preview in a real browser', function () {
  this.timeout(120000);

  let tmp: string | undefined;
  let red: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  const errors: string[] = [];

  function page(): Page {
    if (!browser) throw new Error('no browser');
    return browser.page;
  }

  function tray(): Locator {
    return page().locator('.red-ui-tray').last();
  }

  async function open(name: string): Promise<Locator> {
    await page().evaluate(() =>
      (window as unknown as { RED: EditorRed }).RED.actions.invoke('core:show-config-tab'),
    );
    const entry = page().locator('.red-ui-palette-node-config', { hasText: name });
    await entry.first().waitFor({ state: 'visible' });
    await entry.first().dblclick();
    await tray().locator('#node-config-dialog-cancel').waitFor({ state: 'visible' });
    await trayOpened(page());
    // The presets came from the runtime: the form shows the definition in force.
    await tray().locator('#node-config-input-preset option[value="florida"]').waitFor({ state: 'attached' });
    await tray().locator('.dnc-policy-week').waitFor({ state: 'visible' });
    return tray();
  }

  async function close(button: 'ok' | 'cancel'): Promise<void> {
    await tray().locator(`#node-config-dialog-${button}`).click();
    await page().waitForFunction(() => document.querySelectorAll('.red-ui-tray').length === 0);
  }

  function nodeOf(id: string): Promise<{ policy: string; preset: string; changed: boolean }> {
    return page().evaluate((nodeId) => {
      const node = (window as unknown as { RED: EditorRed }).RED.nodes.node(nodeId)!;
      return { policy: String(node.policy), preset: String(node.preset), changed: node.changed === true };
    }, id);
  }

  /** The JSON view's text (the code editor the dialog created, as the node holds it while open). */
  function jsonText(id: string): Promise<string> {
    return page().evaluate(
      (nodeId) =>
        (
          (window as unknown as { RED: EditorRed }).RED.nodes.node(nodeId) as {
            editor: { getValue(): string };
          }
        ).editor.getValue(),
      id,
    );
  }

  /** Elements of the dialog running out of its form, in a 500 px tray. */
  async function overflowing(dialog: Locator): Promise<string[]> {
    // The form as wide as in a 500 px tray (its padding off: 460 px); the viewport here opens it wider.
    await dialog.evaluate((el) => {
      el.querySelector<HTMLElement>('#node-config-dialog-edit-form')!.style.width = '460px';
    });
    await page().waitForTimeout(300);
    return dialog.evaluate((el) => {
      const form = el.querySelector('#node-config-dialog-edit-form')!.getBoundingClientRect();
      if (form.width > 460.5) return [`the form is ${form.width} px wide: it was not narrowed`];
      return [...el.querySelectorAll('#node-config-dialog-edit-form *')]
        .filter((e) => (e as HTMLElement).offsetParent !== null && !e.closest('.node-text-editor'))
        .filter((e) => {
          const r = e.getBoundingClientRect();
          return r.width > 0 && (r.right > form.right + 0.5 || r.left < form.left - 0.5);
        })
        .map(
          (e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)} > ${form.right}`,
        );
    });
  }

  before(async function () {
    const executable = findChromium();
    if (executable === undefined) {
      const message = 'Chromium not found (set CHROMIUM_PATH, or `apt-get install -y chromium`)';
      if (onCi()) throw new Error(message);
      console.log(`      skipping the browser tests: ${message}`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-policy-form-'));
    red = await NodeRedProcess.start({ userDir: tmp, nodesDir: [PACKAGE_ROOT] });
    const flows: FlowNode[] = [
      { id: TAB, type: 'tab', label: 'policy form', disabled: false, info: '' },
      { id: PRESET_ID, type: 'dnc-policy', name: 'form preset', preset: 'canada', policy: '' },
      {
        id: CUSTOM_ID,
        type: 'dnc-policy',
        name: 'form custom',
        preset: '',
        policy: JSON.stringify(CUSTOM, null, 2),
      },
    ];
    await red.deploy(flows);
    browser = await launchBrowser(executable);
    page().setDefaultTimeout(10000);
    page().on('pageerror', (err) => errors.push(`uncaught: ${err.stack ?? err.message}`));
    page().on('console', (message) => {
      if (message.type() === 'error')
        errors.push(`console.error (${message.location().url}): ${message.text()}`);
    });
    await page().goto(red.baseUrl + '/');
    await page().waitForSelector(`#red-ui-tab-${TAB}`, { timeout: 30000 });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      const file = await screenshot(browser.page, this.currentTest.fullTitle());
      if (file) console.log(`      screenshot: ${file}`);
      if (errors.length > 0) console.log(`      page errors:\n${errors.join('\n')}`);
      for (let i = 0; i < 3 && (await page().locator('.red-ui-tray').count()) > 0; i++) {
        await tray()
          .locator('#node-config-dialog-cancel')
          .click({ force: true, timeout: 2000 })
          .catch(() => undefined);
        await page().waitForTimeout(500);
      }
    }
  });

  after(async function () {
    this.timeout(30000);
    await browser?.close();
    await red?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a preset as shipped shows in the week grid; Form -> JSON -> Form and Done change nothing', async () => {
    const mark = errors.length;
    const dialog = await open('form preset');
    const windowsOf = (day: string) =>
      dialog
        .locator(`.dnc-policy-day[data-day="${day}"] .dnc-policy-window`)
        .evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    assert.deepEqual(await windowsOf('mon'), ['09:00-21:30']);
    assert.deepEqual(await windowsOf('fri'), ['09:00-21:30']);
    assert.deepEqual(await windowsOf('sun'), ['10:00-18:00']);
    // The citation is one box inside the form, and nothing in the dialog is wider than the tray.
    await dialog.locator('#dnc-policy-rule').filter({ hasText: 'CRTC' }).waitFor({ state: 'visible' });
    assert.deepEqual(await overflowing(dialog), []);
    await dialog.locator('#dnc-policy-mode-json').click();
    await dialog.locator('#dnc-policy-json .node-text-editor').waitFor({ state: 'visible' });
    const shown = JSON.parse(await jsonText(PRESET_ID)) as { preset: string; windows: unknown };
    assert.equal(shown.preset, 'canada');
    await dialog.locator('#dnc-policy-mode-form').click();
    assert.deepEqual(await windowsOf('sat'), ['10:00-18:00']);
    await close('ok');
    assert.deepEqual(await nodeOf(PRESET_ID), { policy: '', preset: 'canada', changed: false });
    assert.deepEqual(errors.slice(mark), []);
  });

  it('week grid edited, JSON round trip exact, Done and Deploy: the runtime holds the definition', async () => {
    const mark = errors.length;
    const dialog = await open('form custom');
    // Saturday gets a window of its own.
    const saturday = dialog.locator('.dnc-policy-day[data-day="sat"]');
    await saturday.locator('.dnc-policy-add-window').click();
    await saturday.locator('.dnc-policy-window').fill('10:00-14:00');
    // Monday's window ends later: Monday no longer equals Tuesday-Friday.
    await dialog.locator('.dnc-policy-day[data-day="mon"] .dnc-policy-window').fill('09:00-18:00');
    await dialog
      .locator('#dnc-policy-hint')
      .filter({ hasText: /Edited/ })
      .waitFor();
    await dialog.locator('#dnc-policy-mode-json').click();
    const first = await jsonText(CUSTOM_ID);
    const expected = {
      ...CUSTOM,
      windows: { mon: ['09:00-18:00'], 'tue-fri': ['09:00-17:00'], sat: ['10:00-14:00'] },
    };
    assert.deepEqual(JSON.parse(first), expected, 'compact windows; every other field kept as it was');
    await dialog.locator('#dnc-policy-mode-form').click();
    assert.equal(await saturday.locator('.dnc-policy-window').inputValue(), '10:00-14:00');
    await dialog.locator('#dnc-policy-mode-json').click();
    assert.equal(await jsonText(CUSTOM_ID), first, 'Form -> JSON -> Form -> JSON is exact');
    await dialog.locator('#dnc-policy-mode-form').click();
    // Valid: no engine error shown.
    await page().waitForTimeout(600);
    assert.equal(await dialog.locator('#dnc-policy-error').isVisible(), false);
    await close('ok');
    const saved = await nodeOf(CUSTOM_ID);
    assert.equal(saved.changed, true);
    assert.deepEqual(JSON.parse(saved.policy), expected);

    await page().locator('#red-ui-header-button-deploy').click();
    await page().waitForFunction(
      () => !(window as unknown as { RED: EditorRed }).RED.nodes.dirty(),
      undefined,
      {
        timeout: 15000,
      },
    );
    const flows = await red!.request<FlowNode[]>('GET', '/flows');
    const deployed = flows.json.find((n) => n.id === CUSTOM_ID)!;
    assert.deepEqual(JSON.parse(String(deployed.policy)), expected);
    // The runtime compiled it: the check route answers for the deployed text as for the one saved.
    const check = await red!.request<{ ok: boolean; name: string }>('POST', '/dnc-policy/check', {
      policy: deployed.policy,
    });
    assert.deepEqual([check.json.ok, check.json.name], [true, 'form custom']);
    assert.doesNotMatch(red!.log, /invalid calling policy/);
    assert.deepEqual(errors.slice(mark), []);
  });

  it("an invalid edit shows the engine's error beside the form; the holiday pickers; Cancel keeps the node", async () => {
    const mark = errors.length;
    const before = await nodeOf(CUSTOM_ID);
    const dialog = await open('form custom');
    await dialog.locator('.dnc-policy-day[data-day="tue"] .dnc-policy-window').fill('21:00-08:00');
    const problem = dialog.locator('#dnc-policy-error');
    await problem.filter({ hasText: 'ends before it starts' }).waitFor({ state: 'visible' });
    assert.match((await problem.textContent()) ?? '', /policy\.windows\.tue/);
    // Fixed: the error goes away.
    await dialog.locator('.dnc-policy-day[data-day="tue"] .dnc-policy-window').fill('08:00-21:00');
    await problem.waitFor({ state: 'hidden' });
    // Holidays: the country and state pickers come from date-holidays (GET dnc-policy/holidays).
    const country = dialog.locator('#dnc-policy-holiday-country');
    await dialog.locator('#dnc-policy-holiday-country option[value="DE"]').waitFor({ state: 'attached' });
    assert.equal(await country.inputValue(), 'FR');
    await country.selectOption('DE');
    await dialog.locator('#dnc-policy-holiday-state option[value="BY"]').waitFor({ state: 'attached' });
    await dialog.locator('#dnc-policy-holiday-state').selectOption('BY');
    await dialog.locator('.dnc-policy-add-date').click();
    await dialog.locator('.dnc-policy-date').fill('12-24');
    await dialog.locator('#dnc-policy-mode-json').click();
    assert.deepEqual((JSON.parse(await jsonText(CUSTOM_ID)) as { holidays: unknown }).holidays, {
      country: 'DE',
      types: ['public'],
      rule: 'French public holidays',
      state: 'BY',
      dates: ['12-24'],
    });
    await close('cancel');
    assert.deepEqual(await nodeOf(CUSTOM_ID), before);
    assert.deepEqual(errors.slice(mark), []);
  });

  it('preview: a test number is "allowed now" or "blocked until" the next window in its local time', async () => {
    const mark = errors.length;
    const dialog = await open('form preset');
    // One hour a day, two hours from now in London (a UK mobile's zone): blocked until then.
    const hour = Number(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/London',
        hour: '2-digit',
        hourCycle: 'h23',
      }).format(new Date()),
    );
    const start = hour <= 20 ? hour + 2 : 0;
    const hh = (h: number) => `${h < 10 ? '0' : ''}${h}:00`;
    for (const day of ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) {
      await dialog
        .locator(`.dnc-policy-day[data-day="${day}"] .dnc-policy-window`)
        .fill(`${hh(start)}-${hh(start + 1)}`);
    }
    await dialog.locator('#dnc-policy-test-contact').fill('+447911123456');
    const preview = dialog.locator('#dnc-policy-preview');
    await preview.filter({ hasText: 'Blocked until' }).waitFor({ state: 'visible' });
    const blocked = (await preview.locator('.dnc-policy-verdict').textContent()) ?? '';
    assert.match(
      blocked,
      new RegExp(`^Blocked until \\d{4}-\\d\\d-\\d\\d ${hh(start)} \\w{3} \\(OUTSIDE_CALLING_HOURS\\)$`),
    );
    assert.match((await preview.textContent()) ?? '', /Europe\/London/);
    // Every hour: allowed now.
    await dialog.locator('.dnc-policy-day[data-day="mon"] .dnc-policy-window').fill('00:00-24:00');
    for (const day of ['tue', 'wed', 'thu', 'fri', 'sat', 'sun'])
      await dialog.locator(`.dnc-policy-day[data-day="${day}"] .dnc-policy-window`).fill('00:00-24:00');
    await preview.filter({ hasText: 'Allowed now' }).waitFor({ state: 'visible' });
    // An edited preset in JSON is "daily", written compactly.
    await dialog.locator('#dnc-policy-mode-json').click();
    assert.deepEqual((JSON.parse(await jsonText(PRESET_ID)) as { windows: unknown }).windows, {
      daily: ['00:00-24:00'],
    });
    // A number that cannot be parsed: blocked, the engine's reason.
    await dialog.locator('#dnc-policy-test-contact').fill('12ab');
    await preview.filter({ hasText: 'INVALID_CONTACT' }).waitFor({ state: 'visible' });
    assert.deepEqual(await overflowing(dialog), []);
    // Reset to preset: back to the preset as shipped; Cancel leaves the node as deployed.
    await dialog.locator('#dnc-policy-reset').click();
    assert.equal((JSON.parse(await jsonText(PRESET_ID)) as { preset: string }).preset, 'canada');
    await dialog
      .locator('#dnc-policy-hint')
      .filter({ hasText: /as shipped/ })
      .waitFor();
    await close('cancel');
    assert.deepEqual(await nodeOf(PRESET_ID), { policy: '', preset: 'canada', changed: false });
    assert.deepEqual(errors.slice(mark), []);
  });
});
