/**
 * Shared set-up for the node tests: the test helper (typed just enough), the compiled node modules
 * from dist/nodes, a fresh user directory per test, label definitions and small waiting helpers.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- messages and nodes from the test helper are untyped */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_RED_MAIN, NODE_RED_VERSION } from '../support/node-red-install';

export interface TestNode {
  id: string;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  receive(msg: Record<string, unknown>): void;
  status: { (s: unknown): void };
  [key: string]: any;
}

export interface TestHelper {
  init(runtimePath: string, settings?: Record<string, unknown>): void;
  settings(settings: Record<string, unknown>): Record<string, unknown>;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  load(nodes: unknown[], flow: unknown[], credentials?: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  setFlows(flow: unknown[], type?: string): Promise<void>;
  log(): { args: unknown[][]; ERROR: number };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as TestHelper;
// The package's node-red, or the one the compatibility matrix names (test/support/node-red-install.ts).
helper.init(NODE_RED_MAIN, { userDir: tmpdir() });

/* eslint-disable @typescript-eslint/no-require-imports */
export const configModule = require('../../nodes/dnc-config') as unknown;
export const addModule = require('../../nodes/dnc-add-label') as unknown;
export const removeModule = require('../../nodes/dnc-remove-label') as unknown;
export const checkModule = require('../../nodes/dnc-check') as unknown;
/* eslint-enable @typescript-eslint/no-require-imports */
export const allModules = [configModule, addModule, removeModule, checkModule];

/** Valid numbers for libphonenumber (GB mobiles, a US number). */
export const ANA = '+447911123456';
export const BEN = '+447911123457';
export const CARL = '+14155550199';

export const LABELS = [
  {
    name: 'DNC_Sales',
    description: 'no sales calls',
    channels: ['voice', 'sms'],
    global: false,
    expiresAfterDays: null,
  },
  {
    name: 'DNC_Marketing',
    description: '',
    channels: ['email', 'sms', 'whatsapp'],
    global: false,
    expiresAfterDays: 730,
  },
  {
    name: 'DNC_Global',
    description: 'no contact at all',
    channels: [],
    global: true,
    expiresAfterDays: null,
  },
  { name: 'Hold', description: 'complaint under review', channels: [], global: false, expiresAfterDays: 30 },
];

export function config(id = 'c1', overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    type: 'dnc-config',
    name: 'DNC',
    labels: LABELS,
    defaultCountry: 'GB',
    storePath: '',
    ...overrides,
  };
}

/**
 * A test flow on tab t1: `nodes` (the node under test carries `z: 't1'` and its wires; configuration
 * nodes have no tab), a helper node for each id in `outputs`, a Catch node k1 wired to the helper
 * `caught`, then `extra`.
 */
export function testFlow(
  nodes: Record<string, unknown>[],
  outputs: readonly string[],
  extra: Record<string, unknown>[] = [],
): Record<string, unknown>[] {
  return [
    { id: 't1', type: 'tab', label: 'DNC' },
    ...nodes,
    ...outputs.map((id) => ({ id, type: 'helper', z: 't1' })),
    { id: 'k1', type: 'catch', z: 't1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't1' },
    ...extra,
  ];
}

/** A user directory of its own (the default store lives there), set as the helper's `userDir`. */
export interface UserDir {
  readonly dir: string;
  cleanup(): void;
}

function freshUserDir(): UserDir {
  const dir = mkdtempSync(join(tmpdir(), 'dnc-nodes-'));
  helper.settings({ userDir: dir });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the helper's Node-RED on a fresh user directory. */
export async function startNodeRed(): Promise<UserDir> {
  const userDir = freshUserDir();
  await helper.startServer();
  return userDir;
}

/** Stops what startNodeRed started: the flows, the server, then the user directory. */
export async function stopNodeRed(userDir: UserDir): Promise<void> {
  await helper.unload();
  await helper.stopServer();
  userDir.cleanup();
}

/**
 * The set-up of every test that runs nodes: a Node-RED on a fresh user directory for each test (or, with
 * 'suite', one for the whole describe block, registered as before/after). Returns the running user
 * directory; read `.dir` inside the tests (it changes from test to test). Mocha runs hooks in the order
 * they are registered: a block's own hooks registered after this call run after the start and after
 * the stop. (A suite that must prepare something before the start calls startNodeRed/stopNodeRed in
 * its own hooks instead.)
 */
export function useNodeRed(scope: 'test' | 'suite' = 'test'): { readonly dir: string } {
  let current: UserDir | undefined;
  const start = async () => {
    current = await startNodeRed();
  };
  const stop = async () => {
    const userDir = current;
    current = undefined;
    if (userDir) await stopNodeRed(userDir);
  };
  if (scope === 'test') {
    beforeEach(start);
    afterEach(stop);
  } else {
    before(start);
    after(stop);
  }
  return {
    get dir(): string {
      if (current === undefined) throw new Error('useNodeRed: no Node-RED is running (read .dir in a test)');
      return current.dir;
    },
  };
}

/** The next message a helper node receives. */
export function nextMessage(node: TestNode, timeoutMs = 4000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message reached ${node.id}`)), timeoutMs);
    node.once('input', (msg: unknown) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/** msg.dnc.error, as a failing node puts it on the message a Catch node receives. */
export interface CaughtError {
  code: string;
  message: string;
  field?: string;
}

/**
 * The DNC error of a message a Catch node received: `msg.dnc.error` (every Node-RED version). Node-RED 4
 * and later also copy the code to `msg.error.code`, checked equal here; 3.x does not copy it.
 */
export function caughtError(msg: any): CaughtError {
  const error = msg?.dnc?.error as CaughtError | undefined;
  assert.ok(error, `msg.dnc.error on the caught message: ${JSON.stringify(msg?.error)}`);
  assert.equal(typeof error.code, 'string', 'msg.dnc.error.code');
  assert.equal(typeof error.message, 'string', 'msg.dnc.error.message');
  if (Number.parseInt(NODE_RED_VERSION, 10) >= 4) assert.equal(msg.error?.code, error.code, 'msg.error.code');
  return error;
}

/** Collects messages a helper node receives. */
export function collect(node: TestNode): any[] {
  const messages: any[] = [];
  node.on('input', (msg: unknown) => messages.push(msg));
  return messages;
}

/** Resolves with the first status that matches, rejects after the timeout. */
export function statusMatching(
  node: TestNode,
  predicate: (status: { fill?: string; shape?: string; text?: string }) => boolean,
  timeoutMs = 3000,
): Promise<{ fill?: string; shape?: string; text?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.removeListener('call:status', onStatus);
      reject(new Error(`no matching status on ${node.id}`));
    }, timeoutMs);
    function onStatus(call: { args: [{ fill?: string; shape?: string; text?: string }] }) {
      const status = call.args[0];
      if (predicate(status)) {
        clearTimeout(timer);
        node.removeListener('call:status', onStatus);
        resolve(status);
      }
    }
    node.on('call:status', onStatus);
  });
}

/** Rejects when the node reports an error through node.error / done(err). */
export function failOnError(node: TestNode): Promise<never> {
  return new Promise((_resolve, reject) => {
    node.on('call:error', (call: { args: unknown[] }) =>
      reject(new Error(`unexpected error: ${String(call.args[0])}`)),
    );
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until the config node's store is open. */
export async function storeReady(configId = 'c1'): Promise<void> {
  const binding = helper.getNode(configId).dnc as { service: { whenReady(): Promise<void> } | null };
  if (binding.service) await binding.service.whenReady();
}
