/**
 * A real Node-RED process for end-to-end tests: writes a settings file, starts node-red's red.js with it
 * (node_modules/node-red, or the install and Node.js that node-red-install.ts names), waits for the admin API, deploys flows, injects, watches the
 * debug sidebar and node status over the editor's websocket (/comms), and stops the process again.
 *
 * Also: turning the package's examples/*.json into one flow set (a tab per example, ids made unique),
 * exactly as `npm start` deploys them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { NODE_BIN, RED_JS, requireFromNodeRed } from './node-red-install';

/** The package root (this file runs from dist/test/support). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');
export { RED_JS } from './node-red-install';

export type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string };

export interface NodeRedOptions {
  /** The user directory (settings, flows, the DNC store, node_modules for installed packages). */
  readonly userDir: string;
  /** Folders to load nodes from (a folder whose package.json has a `node-red` section loads as a module). */
  readonly nodesDir?: readonly string[];
  /** Port; a free one when absent. */
  readonly port?: number;
  /** Extra settings merged over the defaults (must be JSON-serialisable). */
  readonly settings?: Record<string, unknown>;
  /** Options for the Node.js running Node-RED (`--expose-gc`, `--max-old-space-size=...`). */
  readonly execArgv?: readonly string[];
  /** Environment variables added for the process (LD_PRELOAD of the disk-fault shim). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface HttpResult<T = unknown> {
  readonly status: number;
  readonly text: string;
  /** The body parsed as JSON (not checked against T), or undefined when it is not JSON. */
  readonly json: T;
  readonly headers: Headers;
}

/** A message the debug node sent to the sidebar. */
export interface DebugMessage {
  /** The debug node's id. */
  readonly id: string;
  readonly name?: string;
  readonly format?: string;
  /** The property shown, parsed (JSON for objects and arrays, the text for strings). */
  readonly value: unknown;
}

export interface NodeStatus {
  readonly text?: string;
  readonly fill?: string;
  readonly shape?: string;
}

/** Resolves a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out waiting for ${what}${detail}`);
    }
    await sleep(100);
  }
}

/**
 * The log line with which the runtime reports its flows started, in its language (settings `lang`): Node-RED
 * logs in that language, so "Started flows" is "Flujos iniciados" under `lang: 'es-ES'`.
 */
function startedFlowsText(lang: unknown): string {
  const english = 'Started flows';
  if (typeof lang !== 'string' || lang === '' || lang === 'en-US') return english;
  try {
    const runtime = path.dirname(requireFromNodeRed.resolve('@node-red/runtime/package.json'));
    for (const dir of [lang, lang.split('-')[0]]) {
      const file = path.join(runtime, 'locales', dir, 'runtime.json');
      if (!fs.existsSync(file)) continue;
      const catalog = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        nodes?: { flows?: Record<string, string> };
      };
      return catalog.nodes?.flows?.['started-flows'] ?? english;
    }
  } catch {
    // the runtime's catalogs moved: English
  }
  return english;
}

const running = new Set<ChildProcess>();
// A crashed or interrupted test run must not leave Node-RED processes behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function settingsModule(options: NodeRedOptions, port: number): string {
  const settings: Record<string, unknown> = {
    uiHost: '127.0.0.1',
    uiPort: port,
    userDir: options.userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false },
    externalModules: { palette: { allowInstall: false }, modules: { allowInstall: false } },
    editorTheme: { tours: false, projects: { enabled: false } },
    // Debug messages are read back over /comms: do not truncate campaign lists.
    debugMaxLength: 100000,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    ...(options.nodesDir ? { nodesDir: [...options.nodesDir] } : {}),
    ...options.settings,
  };
  return `// Written by test/support/node-red-process.ts\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`;
}

/** The `ws` client that Node-RED itself depends on (Node 20 has no WebSocket client without a flag). */
interface WsLike {
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'open' | 'close', listener: () => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  send(data: string): void;
  close(): void;
  terminate(): void;
}
type WsConstructor = new (url: string) => WsLike;

interface CommsEvent {
  topic?: string;
  data?: unknown;
}

function loadWs(): WsConstructor {
  const editorApi = createRequire(requireFromNodeRed.resolve('@node-red/editor-api/package.json'));
  return editorApi('ws') as WsConstructor;
}

/**
 * Settings for `adminAuth` with these users (name -> Node-RED permissions), all with `password`; anonymous
 * requests may only read the settings (NodeRedProcess.start waits for GET /settings).
 */
export function adminAuthSettings(
  password: string,
  users: Readonly<Record<string, string | readonly string[]>>,
): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bcrypt = require('bcryptjs') as { hashSync(text: string, rounds: number): string };
  const hash = bcrypt.hashSync(password, 8);
  return {
    adminAuth: {
      type: 'credentials',
      users: Object.entries(users).map(([username, permissions]) => ({
        username,
        password: hash,
        permissions,
      })),
      default: { permissions: 'settings.read' },
    },
  };
}

export class NodeRedProcess {
  readonly baseUrl: string;
  /** Everything the process printed (for failure messages). */
  log = '';
  readonly debug: DebugMessage[] = [];
  /** Latest status per node id. */
  readonly status = new Map<string, NodeStatus>();
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private socket: WsLike | undefined;
  /** The flows revision the runtime last reported as started. */
  private revision: string | undefined;

  private constructor(
    readonly options: NodeRedOptions,
    readonly port: number,
    readonly settingsFile: string,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}${NodeRedProcess.adminRoot(options)}`;
  }

  /** The editor's and admin API's path (settings `httpAdminRoot`), without a trailing slash: '' at the root. */
  private static adminRoot(options: NodeRedOptions): string {
    const root = options.settings?.httpAdminRoot;
    return typeof root === 'string' ? root.replace(/\/+$/, '') : '';
  }

  /** Writes the settings file, starts Node-RED and waits until the admin API and /comms answer. */
  static async start(options: NodeRedOptions): Promise<NodeRedProcess> {
    fs.mkdirSync(options.userDir, { recursive: true });
    const port = options.port ?? (await freePort());
    const settingsFile = path.join(options.userDir, 'settings.js');
    fs.writeFileSync(settingsFile, settingsModule(options, port));
    const red = new NodeRedProcess(options, port, settingsFile);
    await red.launch();
    return red;
  }

  get userDir(): string {
    return this.options.userDir;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async launch(): Promise<void> {
    this.log = '';
    const child = spawn(
      NODE_BIN,
      [
        ...(this.options.execArgv ?? []),
        RED_JS,
        '--settings',
        this.settingsFile,
        '--userDir',
        this.options.userDir,
      ],
      {
        cwd: this.options.userDir,
        env: { ...process.env, NODE_RED_ENABLE_PROJECTS: 'false', NODE_OPTIONS: '', ...this.options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    running.add(child);
    const onData = (chunk: Buffer): void => {
      this.log += chunk.toString('utf8');
      if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        running.delete(child);
        resolve();
      });
    });
    let gone = false;
    void this.exited.then(() => {
      gone = true;
    });
    await waitFor(
      'Node-RED to answer GET /settings',
      async () => {
        if (gone) throw new Error(`Node-RED exited early:\n${this.log}`);
        const res = await fetch(`${this.baseUrl}/settings`);
        return res.ok ? true : undefined;
      },
      30000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- node-red output ---\n${this.log}`);
    });
    // The flows file (if any) is loaded and started after the admin API comes up.
    const started = `] ${startedFlowsText(this.options.settings?.lang)}`;
    await waitFor(
      'Node-RED to start its flows',
      () => (this.log.includes(started) ? true : undefined),
      30000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- node-red output ---\n${this.log}`);
    });
    await this.connectComms();
  }

  /** Subscribes to debug messages and node status over the editor's websocket. */
  private async connectComms(): Promise<void> {
    const Ws = loadWs();
    const socket = new Ws(`ws://127.0.0.1:${this.port}${NodeRedProcess.adminRoot(this.options)}/comms`);
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.on('open', () => resolve());
      socket.on('error', reject);
    });
    socket.on('error', () => undefined);
    socket.on('message', (data) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      for (const event of Array.isArray(parsed) ? parsed : [parsed]) this.onComms(event as CommsEvent);
    });
    socket.send(JSON.stringify({ subscribe: 'debug' }));
    socket.send(JSON.stringify({ subscribe: 'status/#' }));
    socket.send(JSON.stringify({ subscribe: 'notification/#' }));
  }

  private onComms(event: CommsEvent): void {
    if (event.topic === 'debug' && event.data && typeof event.data === 'object') {
      const data = event.data as { id: string; name?: string; format?: string; msg?: unknown };
      let value: unknown = data.msg;
      if (typeof value === 'string' && data.format && !/^string/.test(data.format)) {
        try {
          value = JSON.parse(value);
        } catch {
          // leave as text
        }
      }
      this.debug.push({ id: data.id, name: data.name, format: data.format, value });
    } else if (event.topic === 'notification/runtime-deploy') {
      const revision = (event.data as { revision?: unknown } | undefined)?.revision;
      if (typeof revision === 'string') this.revision = revision;
    } else if (typeof event.topic === 'string' && event.topic.startsWith('status/')) {
      this.status.set(event.topic.slice('status/'.length), event.data ?? {});
    }
  }

  /** Waits for the next debug message from `debugNodeId` after `fromIndex` (default: messages seen so far). */
  async nextDebug(debugNodeId: string, fromIndex: number, timeoutMs = 15000): Promise<DebugMessage> {
    return waitFor(
      `a debug message from ${debugNodeId}`,
      () => this.debug.slice(fromIndex).find((m) => m.id === debugNodeId),
      timeoutMs,
    ).catch((err: Error) => {
      const seen = this.debug
        .map((m) => `${m.id} ${m.name ?? ''}: ${JSON.stringify(m.value).slice(0, 300)}`)
        .join('\n');
      throw new Error(
        `${err.message}\n--- debug messages seen ---\n${seen}\n--- node-red output (tail) ---\n${this.log.slice(-4000)}`,
      );
    });
  }

  /** Sends an HTTP request to the process (admin API or a flow's http in endpoint). */
  async request<T = unknown>(
    method: string,
    urlPath: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpResult<T>> {
    const res = await fetch(`${this.baseUrl}${urlPath}`, {
      method,
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json: json as T, headers: res.headers };
  }

  /** An admin API token for a user of the settings' `adminAuth` (password grant, as the editor's login). */
  async adminToken(username: string, password: string, scope: string): Promise<string> {
    const res = await this.request<{ access_token?: string }>('POST', '/auth/token', {
      client_id: 'node-red-admin',
      grant_type: 'password',
      scope,
      username,
      password,
    });
    if (res.status !== 200 || typeof res.json?.access_token !== 'string') {
      throw new Error(`no token for ${username}: HTTP ${res.status} ${res.text}`);
    }
    return res.json.access_token;
  }

  /**
   * Deploy through the admin API: `full` (the default) restarts every node; `nodes` only the changed
   * nodes, `flows` the changed flows (the editor's other two deploy types). The API answers before the
   * new flows have started; this waits for the runtime's deploy notification of the new revision, so
   * the flows are running on return.
   */
  async deploy(
    flows: readonly FlowNode[],
    token?: string,
    type: 'full' | 'nodes' | 'flows' = 'full',
  ): Promise<void> {
    const res = await this.request<{ rev?: string }>(
      'POST',
      '/flows',
      { flows },
      {
        'Node-RED-Deployment-Type': type,
        'Node-RED-API-Version': 'v2',
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
      },
    );
    if (res.status !== 200 || typeof res.json?.rev !== 'string') {
      throw new Error(`deploy failed: HTTP ${res.status} ${res.text}\n${this.log.slice(-4000)}`);
    }
    // With adminAuth (a token) this helper's comms connection is not logged in and hears no deploy
    // notification: the caller waits for what it needs (the DNC health route) instead.
    if (token !== undefined) return;
    const rev = res.json.rev;
    await waitFor(`flows revision ${rev} to start`, () => (this.revision === rev ? true : undefined), 30000);
  }

  /** Presses an inject node's button (what the editor does). */
  async inject(injectNodeId: string): Promise<void> {
    const res = await this.request('POST', `/inject/${injectNodeId}`);
    if (res.status !== 200) throw new Error(`inject ${injectNodeId} failed: HTTP ${res.status} ${res.text}`);
  }

  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and waits until it has exited. */
  async stop(): Promise<void> {
    this.socket?.terminate();
    this.socket = undefined;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the process with SIGKILL (a crash: nothing is flushed or closed) and waits until it is gone. */
  async kill(): Promise<void> {
    this.socket?.terminate();
    this.socket = undefined;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Starts again after stop() or kill(), with the same settings, user directory and port. */
  async start(): Promise<void> {
    this.debug.length = 0;
    this.status.clear();
    this.revision = undefined;
    await this.launch();
  }

  /** Stops and starts again with the same settings, user directory and port. */
  async restart(): Promise<void> {
    await this.stop();
    this.debug.length = 0;
    this.status.clear();
    this.revision = undefined;
    await this.launch();
  }
}

export interface Example {
  /** The file name without `.json`: the menu entry under Import > Examples. */
  readonly title: string;
  readonly file: string;
  readonly flows: FlowNode[];
}

/** Reads examples/*.json in name order. */
export function loadExamples(dir = path.join(PACKAGE_ROOT, 'examples')): Example[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      title: file.replace(/\.json$/, ''),
      file: path.join(dir, file),
      flows: JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as FlowNode[],
    }));
}

/** A config node: no position on a workspace (and no wires). */
export function isConfigNode(node: FlowNode): boolean {
  return (
    node.type !== 'tab' &&
    node.type !== 'group' &&
    node.x === undefined &&
    node.y === undefined &&
    node.wires === undefined
  );
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Replaces every string equal to a key of `ids` (anywhere in the value) by its new id. */
function remapIds(value: unknown, ids: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return ids.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => remapIds(v, ids));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = remapIds(v, ids);
    return out;
  }
  return value;
}

/**
 * One example as a tab: every node gets a new id derived from `prefix` (so several copies can coexist),
 * nodes on the workspace get the tab as `z`, config nodes stay global.
 */
export function exampleAsTab(
  example: Example,
  prefix: string,
): { tabId: string; flows: FlowNode[]; ids: Map<string, string> } {
  const tabId = shortHash(`${prefix}:tab:${example.title}`);
  const ids = new Map<string, string>();
  for (const node of example.flows) ids.set(node.id, shortHash(`${prefix}:${example.title}:${node.id}`));
  const flows: FlowNode[] = [{ id: tabId, type: 'tab', label: example.title, disabled: false, info: '' }];
  for (const node of example.flows) {
    const copy = remapIds(node, ids) as FlowNode;
    if (isConfigNode(node)) delete copy.z;
    else copy.z = tabId;
    flows.push(copy);
  }
  return { tabId, flows, ids };
}

/** Every example, each on its own tab, as one flow set. */
export function examplesAsFlowSet(
  examples: readonly Example[],
  prefix = 'examples',
): {
  flows: FlowNode[];
  /** Per example title: its tab id and a map from the example's node ids to the deployed ids. */
  tabs: Map<string, { tabId: string; ids: Map<string, string> }>;
} {
  const flows: FlowNode[] = [];
  const tabs = new Map<string, { tabId: string; ids: Map<string, string> }>();
  for (const example of examples) {
    const tab = exampleAsTab(example, prefix);
    flows.push(...tab.flows);
    tabs.set(example.title, { tabId: tab.tabId, ids: tab.ids });
  }
  return { flows, tabs };
}
