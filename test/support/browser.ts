/**
 * Real Chromium through playwright-core, with the system browser (browser downloads are blocked here:
 * never `npx playwright install`). CI installs it with apt (.ci/run).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/** The Chromium executable: CHROMIUM_PATH, else the usual system locations; undefined when there is none. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fs.existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((candidate) => fs.existsSync(candidate));
}

/** True on CI, where a missing browser is a failure rather than a skip. */
export function onCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** The fresh profile directory (removed by close()). */
  readonly profileDir: string;
  /** Console errors and uncaught page errors seen so far. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

export interface LaunchOptions {
  /**
   * The browser's language (`navigator.language` and the Accept-Language header), e.g. `es-ES`: the
   * Node-RED editor shows itself, and asks for the nodes' catalogs and help, in this language (unless the
   * user picked another in the editor's settings). Default: Chromium's own (en-US here).
   */
  readonly locale?: string;
}

export async function launchBrowser(executablePath: string, options: LaunchOptions = {}): Promise<Browser> {
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    ...(options.locale ? { locale: options.locale } : {}),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  return {
    context,
    page,
    profileDir,
    pageErrors,
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

let screenshotDir: string | undefined;

/** Saves a full-page screenshot into a temp directory (kept) and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string | undefined> {
  screenshotDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-browser-failures-'));
  const file = path.join(screenshotDir, `${name.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 100)}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true, timeout: 10000 });
    return file;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the editor's edit tray has finished opening, or a tray is back after the one above it
 * closed. Node-RED lowers the editor stack to z-index 9 when a tray starts to open or close, shows the
 * tray's buttons, then sets its width and lays the form out again on timers (150 ms and 200 ms later,
 * later still on a busy machine), and last raises the stack to z-index 13 another 300 ms later
 * (`raiseTrayZ` in the editor's tray.js; the browser tests run Node-RED 4.1). A click before that can
 * press on a field that moves under the pointer and never reach it (seen on a loaded CI machine: a
 * checkbox that "did not change its state"). The raise is a timer nothing cancels: a test that closes a
 * tray while one is pending (right after a tray above it closed) must wait for it first, or it lands in
 * the next tray's opening and this returns too early.
 */
export async function trayOpened(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const stack = document.getElementById('red-ui-editor-stack');
    return stack !== null && getComputedStyle(stack).zIndex === '13';
  });
}
