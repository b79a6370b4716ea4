/**
 * `npm start` (scripts/start.js, after the build `npm test` has just done): Node-RED with this package from
 * the working tree, every example deployed on its own tab on the first start, the user's flows kept on
 * later starts, and SIGTERM forwarded so no Node-RED process is left behind.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PACKAGE_ROOT, freePort, loadExamples, waitFor, type FlowNode } from '../support/node-red-process';

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

describe('npm start (scripts/start.js)', function () {
  this.timeout(60000);

  let tmp: string;
  let userDir: string;
  let port: number;
  let current: Started | undefined;

  function start(): Started {
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'scripts', 'start.js')], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, PORT: String(port), NODE_RED_USER_DIR: userDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    current = { child, output: () => output, exited };
    return current;
  }

  async function stop(started: Started): Promise<number | null> {
    if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGTERM');
    const timer = setTimeout(() => started.child.kill('SIGKILL'), 15000);
    const code = await started.exited;
    clearTimeout(timer);
    return code;
  }

  async function flows(started: Started): Promise<FlowNode[]> {
    return waitFor(
      'the editor API of npm start',
      async () => {
        if (started.child.exitCode !== null) throw new Error(`npm start exited:\n${started.output()}`);
        const res = await fetch(`http://127.0.0.1:${port}/flows`, {
          headers: { Accept: 'application/json' },
        });
        return res.ok ? ((await res.json()) as FlowNode[]) : undefined;
      },
      30000,
    );
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-start-'));
    userDir = path.join(tmp, 'user');
    port = await freePort();
  });

  // Each test stops its own Node-RED, even when it fails: a leftover process would hold the port
  // (the next test would talk to it) and keep mocha from exiting.
  afterEach(async function () {
    this.timeout(30000);
    if (current) await stop(current);
    current = undefined;
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('deploys every example on its own tab on the first start and prints the editor URL', async () => {
    const started = start();
    const running = await flows(started);
    const tabs = running.filter((n) => n.type === 'tab').map((n) => n.label);
    assert.deepEqual(
      tabs,
      loadExamples().map((e) => e.title),
    );
    const ids = running.map((n) => n.id);
    assert.equal(new Set(ids).size, ids.length, 'node ids are unique');
    assert.match(started.output(), new RegExp(`http://127\\.0\\.0\\.1:${port}/`));

    const nodes = await fetch(`http://127.0.0.1:${port}/nodes`, { headers: { Accept: 'application/json' } });
    const sets = (await nodes.json()) as { module: string; types: string[]; err?: string }[];
    const ours = sets.filter((s) => s.module === '@dncflow/node-red-dnc');
    const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      'node-red': { nodes: object };
    };
    const registered = Object.keys(manifest['node-red'].nodes);
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), registered.sort());
    assert.ok(ours.every((s) => s.err === undefined));

    // The agent desktop example answers on its endpoint.
    const res = await fetch(`http://127.0.0.1:${port}/dnc/agent/opt-out`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ contact: '+12015550199', agent: 'agent-1' }),
    });
    assert.equal(res.status, 200, await res.clone().text());

    assert.equal(await stop(started), 0, started.output());
  });

  it('keeps the flows of an existing user directory on later starts', async () => {
    const flowFile = path.join(userDir, 'flows.json');
    const mine = [{ id: 'c0ffee0000000001', type: 'tab', label: 'my flow', disabled: false, info: '' }];
    fs.mkdirSync(userDir, { recursive: true });
    fs.writeFileSync(flowFile, JSON.stringify(mine));
    const started = start();
    const running = await flows(started);
    assert.deepEqual(
      running.filter((n) => n.type === 'tab').map((n) => n.label),
      ['my flow'],
    );
    assert.equal(await stop(started), 0, started.output());
    // SIGTERM reached Node-RED: nothing listens on the port any more.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/settings`));
  });
});
