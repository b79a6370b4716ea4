/**
 * End to end, as a user gets the package: `npm pack` (what `npm publish` would ship), `npm install` of the
 * tarball into a fresh Node-RED user directory, a real `node-red` process loading it from there, every
 * example deployed through the admin API and driven through its own entry points (inject buttons, the
 * agent desktop's HTTP endpoint), then a restart: the labels are still there.
 *
 * Results are observed the way a user observes them: debug sidebar messages and node status (over the
 * editor's websocket), HTTP answers, the store's audit journal, and a test-only `http in` -> check DNC ->
 * `http response` flow.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  NodeRedProcess,
  PACKAGE_ROOT,
  examplesAsFlowSet,
  loadExamples,
  waitFor,
  type FlowNode,
} from '../support/node-red-process';
import type { BatchSummary, BlockedItem, Decision } from '../../lib/decide';
import type { LabelChangeOutcome } from '../../lib/service';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const PACKAGE_NAME = '@dncflow/node-red-dnc';
/** Every node type the package registers, as package.json's node-red section lists them. */
const NODE_TYPES = Object.keys(
  (
    JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      'node-red': { nodes: object };
    }
  )['node-red'].nodes,
);
/** Configuration nodes: they sit in the Configuration nodes sidebar, not in flows of their own. */
const CONFIG_TYPES = new Set(['dnc-config', 'dnc-policy', 'dnc-registry']);

/** msg.dnc of add contact label / remove label for one contact. */
type AddOutcome = LabelChangeOutcome & { added: string[]; alreadyPresent: string[] };
type RemoveOutcome = LabelChangeOutcome & { removed: string[]; notPresent: string[] };
interface CallRequest {
  to: string;
  action?: string;
  number?: string;
}
interface Routed {
  route: 'allowed' | 'blocked';
  dnc: Decision;
}

interface JournalRecord {
  seq: number;
  op: 'add' | 'remove';
  keys: string[];
  labels: string[];
  changed: string[];
  source: string;
  actor: string | null;
  reason: string | null;
}

/** A test-only flow: POST /e2e/check { contact, channel } answers { route, dnc } from a check DNC node. */
function checkEndpointFlow(): FlowNode[] {
  const z = 'e2e0000000000tab';
  return [
    { id: z, type: 'tab', label: 'e2e check endpoint', disabled: false, info: '' },
    {
      id: 'e2e00000000000c1',
      type: 'dnc-config',
      name: 'e2e labels',
      labels: [
        { name: 'DNC_Global', description: '', channels: [], global: true, expiresAfterDays: 0 },
        { name: 'DNC_Sales', description: '', channels: [], global: false, expiresAfterDays: 0 },
        { name: 'DNC_SMS', description: '', channels: ['sms'], global: false, expiresAfterDays: 0 },
        { name: 'DNC_WhatsApp', description: '', channels: ['whatsapp'], global: false, expiresAfterDays: 0 },
      ],
      defaultCountry: 'US',
      storePath: '',
    },
    {
      id: 'e2e0000000000001',
      type: 'http in',
      z,
      name: '',
      url: '/e2e/check',
      method: 'post',
      upload: false,
      swaggerDoc: '',
      x: 120,
      y: 80,
      wires: [['e2e0000000000002']],
    },
    {
      id: 'e2e0000000000002',
      type: 'change',
      z,
      name: 'channel from body',
      rules: [{ t: 'set', p: 'channel', pt: 'msg', to: 'payload.channel', tot: 'msg' }],
      x: 300,
      y: 80,
      wires: [['e2e0000000000003']],
    },
    {
      id: 'e2e0000000000003',
      type: 'dnc-check',
      z,
      name: 'e2e check',
      config: 'e2e00000000000c1',
      labels: [],
      channel: '',
      contact: 'payload.contact',
      contactType: 'msg',
      x: 480,
      y: 80,
      wires: [['e2e0000000000004'], ['e2e0000000000005']],
    },
    ...(['allowed', 'blocked'] as const).map((route, i) => ({
      id: `e2e000000000000${4 + i}`,
      type: 'change',
      z,
      name: route,
      rules: [
        { t: 'set', p: 'payload', pt: 'msg', to: `{ "route": "${route}", "dnc": dnc }`, tot: 'jsonata' },
      ],
      x: 660,
      y: 60 + 40 * i,
      wires: [['e2e0000000000006']],
    })),
    {
      id: 'e2e0000000000006',
      type: 'http response',
      z,
      name: '',
      statusCode: '',
      headers: {},
      x: 840,
      y: 80,
      wires: [],
    },
    {
      id: 'e2e0000000000007',
      type: 'catch',
      z,
      name: '',
      scope: null,
      uncaught: false,
      x: 480,
      y: 160,
      wires: [['e2e0000000000008']],
    },
    {
      id: 'e2e0000000000008',
      type: 'change',
      z,
      name: '500',
      rules: [
        { t: 'set', p: 'statusCode', pt: 'msg', to: '500', tot: 'num' },
        { t: 'set', p: 'payload', pt: 'msg', to: 'error', tot: 'msg' },
      ],
      x: 660,
      y: 160,
      wires: [['e2e0000000000006']],
    },
  ];
}

describe('package end to end: npm pack, install, real Node-RED, every example', function () {
  this.timeout(120000);

  let tmp: string;
  let userDir: string;
  let red: NodeRedProcess | undefined;
  let tarball: string;
  let version: string;
  const examples = loadExamples();
  const deployed = examplesAsFlowSet(examples, 'e2e');

  /** The deployed id of node `id` of the example whose title starts with `prefix`. */
  function idIn(prefix: string, id: string): string {
    for (const [title, tab] of deployed.tabs) {
      if (title.startsWith(prefix)) {
        const mapped = tab.ids.get(id);
        if (mapped === undefined) throw new Error(`example ${title} has no node ${id}`);
        return mapped;
      }
    }
    throw new Error(`no example "${prefix}"`);
  }

  function node(): NodeRedProcess {
    if (!red) throw new Error('Node-RED is not running');
    return red;
  }

  function journal(): JournalRecord[] {
    const file = path.join(userDir, 'dnc-store.events.ndjson');
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as JournalRecord);
  }

  async function pressAndWait<T = unknown>(injectId: string, debugId: string): Promise<T> {
    const mark = node().debug.length;
    await node().inject(injectId);
    return (await node().nextDebug(debugId, mark)).value as T;
  }

  async function check(contact: string, channel?: string): Promise<Routed> {
    const res = await node().request(
      'POST',
      '/e2e/check',
      channel === undefined ? { contact } : { contact, channel },
    );
    assert.equal(res.status, 200, res.text);
    return res.json as Routed;
  }

  before(async function () {
    this.timeout(180000);
    assert.ok(examples.length >= 5, 'examples/*.json');
    version = (
      JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
    ).version;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-e2e-'));
    userDir = path.join(tmp, 'user');
    fs.mkdirSync(userDir);

    // What `npm publish` would ship (the build ran before the tests: `npm test` builds first).
    const packed = await run(NPM, ['pack', '--json', '--pack-destination', tmp], {
      cwd: PACKAGE_ROOT,
      maxBuffer: 1 << 24,
    });
    const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(tmp, path.basename(info[0].filename));
    const shipped = info[0].files.map((f) => f.path);
    for (const type of NODE_TYPES) {
      assert.ok(shipped.includes(`dist/nodes/${type}.js`), `the tarball ships dist/nodes/${type}.js`);
      assert.ok(shipped.includes(`dist/nodes/${type}.html`), `the tarball ships dist/nodes/${type}.html`);
    }
    for (const example of examples) {
      assert.ok(
        shipped.includes(`examples/${path.basename(example.file)}`),
        `the tarball ships ${example.file}`,
      );
    }
    assert.ok(!shipped.some((f) => f.startsWith('dist/test/')), 'the tarball does not ship the tests');

    // Installed the way the palette manager installs: production dependencies only.
    fs.writeFileSync(
      path.join(userDir, 'package.json'),
      JSON.stringify(
        { name: 'node-red-project', version: '0.0.1', private: true, dependencies: {} },
        null,
        2,
      ),
    );
    await run(NPM, ['install', '--no-audit', '--no-fund', '--omit=dev', '--prefer-offline', tarball], {
      cwd: userDir,
      maxBuffer: 1 << 24,
    });

    red = await NodeRedProcess.start({ userDir });
  });

  after(async function () {
    this.timeout(30000);
    await red?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && red) {
      console.log(`--- node-red output (tail) ---\n${red.log.slice(-6000)}`);
    }
  });

  it('loads every node type from the installed package, without errors', async () => {
    const res = await node().request('GET', '/nodes');
    assert.equal(res.status, 200);
    const sets = (
      res.json as {
        module: string;
        types: string[];
        enabled: boolean;
        local: boolean;
        err?: string;
        version: string;
      }[]
    ).filter((set) => set.module === PACKAGE_NAME);
    const types = sets.flatMap((set) => set.types).sort();
    assert.deepEqual(types, [...NODE_TYPES].sort());
    for (const set of sets) {
      assert.equal(set.err, undefined, `${set.types.join(',')}: ${set.err}`);
      assert.equal(set.enabled, true);
      assert.equal(set.local, true, 'loaded from <userDir>/node_modules');
      assert.equal(set.version, version);
    }
    const installed = path.join(userDir, 'node_modules', ...PACKAGE_NAME.split('/'), 'package.json');
    assert.ok(fs.existsSync(installed), 'loaded from <userDir>/node_modules');
  });

  it('offers every example under Import > Examples', async () => {
    const res = await node().request('GET', `/library/examples/flows/${PACKAGE_NAME}`);
    assert.equal(res.status, 200, res.text);
    const listed = (res.json as unknown[]).map((entry) =>
      typeof entry === 'string' ? entry : (entry as { fn: string }).fn,
    );
    for (const example of examples)
      assert.ok(listed.includes(example.title) || listed.includes(`${example.title}.json`), example.title);
  });

  it('deploys every example, each on its own tab, through the admin API', async () => {
    await node().deploy([...deployed.flows, ...checkEndpointFlow()]);
    const res = await node().request('GET', '/flows');
    assert.equal(res.status, 200);
    const running = res.json as FlowNode[];
    for (const [title, tab] of deployed.tabs) {
      assert.ok(
        running.some((n) => n.id === tab.tabId && n.type === 'tab' && n.label === title),
        title,
      );
    }
    // Every non-config node type of the package is used by at least one example.
    const used = new Set(examples.flatMap((e) => e.flows.map((n) => n.type)));
    for (const type of NODE_TYPES.filter((t) => !CONFIG_TYPES.has(t)))
      assert.ok(used.has(type), `an example uses ${type}`);
    for (const example of examples) {
      assert.equal(example.flows[0].type, 'comment', `${example.title} opens with a comment`);
      assert.ok(
        example.flows.some((n) => n.type === 'dnc-config'),
        `${example.title} has its own dnc-config`,
      );
    }
  });

  it('01 IVR opt-out capture: applies DNC_Global (source ivr) and speaks a confirmation', async () => {
    const spoken = await pressAndWait(idIn('01', 'a10c000000000002'), idIn('01', 'a10c000000000006'));
    assert.equal(typeof spoken, 'string');
    assert.match(spoken as string, /\+12015550111/);
    const record = journal().find((r) => r.keys.includes('+12015550111'));
    assert.ok(record, 'the opt-out is in the audit journal');
    assert.equal(record.op, 'add');
    assert.deepEqual(record.changed, ['DNC_Global']);
    assert.equal(record.source, 'ivr');
    assert.equal(record.reason, 'Please stop calling me and take me off your list');
    // Global: blocked on every channel, whatever labels a check enforces.
    const onSms = await check('+1 201 555 0111', 'sms');
    assert.equal(onSms.route, 'blocked');
    assert.deepEqual(onSms.dnc.matched, ['DNC_Global']);
  });

  it('02 Voice pre-dial gate: blocks the opted-out number, dials the other', async () => {
    const added = await pressAndWait<AddOutcome>(
      idIn('02', 'a20c000000000002'),
      idIn('02', 'a20c000000000004'),
    );
    assert.equal(added.contact, '+12015550122');
    assert.deepEqual(added.added, ['DNC_Sales']);

    const blocked = await pressAndWait<Decision>(
      idIn('02', 'a20c000000000005'),
      idIn('02', 'a20c00000000000a'),
    );
    assert.equal(blocked.allowed, false);
    assert.equal(blocked.channel, 'voice');
    assert.deepEqual(blocked.matched, ['DNC_Sales']);
    assert.equal(blocked.reasons[0].code, 'LABEL');
    assert.equal(blocked.reasons[0].label, 'DNC_Sales');
    const status = await waitFor('the status of the pre-dial check', () =>
      node().status.get(idIn('02', 'a20c000000000007')),
    );
    assert.match(status.text ?? '', /DNC_Sales/);

    const dialled = await pressAndWait<CallRequest>(
      idIn('02', 'a20c000000000006'),
      idIn('02', 'a20c000000000009'),
    );
    assert.equal(dialled.action, 'dial');
    assert.equal(dialled.number, '+12015550123');
  });

  it('03 SMS and WhatsApp pre-send gate: DNC_SMS blocks SMS only, START lifts it', async () => {
    await pressAndWait(idIn('03', 'a30c000000000002'), idIn('03', 'a30c000000000004'));
    const mark = node().debug.length;
    await node().inject(idIn('03', 'a30c000000000005'));
    const smsBlocked = (await node().nextDebug(idIn('03', 'a30c000000000009'), mark)).value as Decision;
    assert.deepEqual(smsBlocked.matched, ['DNC_SMS']);
    const whatsapp = (await node().nextDebug(idIn('03', 'a30c00000000000a'), mark)).value as CallRequest;
    assert.equal(whatsapp.to, '+12015550133');
    assert.ok(
      !node()
        .debug.slice(mark)
        .some((m) => m.id === idIn('03', 'a30c000000000008')),
      'no SMS was sent',
    );

    const removed = await pressAndWait<RemoveOutcome>(
      idIn('03', 'a30c00000000000c'),
      idIn('03', 'a30c00000000000e'),
    );
    assert.deepEqual(removed.removed, ['DNC_SMS']);
    const smsAgain = await pressAndWait<CallRequest>(
      idIn('03', 'a30c000000000005'),
      idIn('03', 'a30c000000000008'),
    );
    assert.equal(smsAgain.to, '+12015550133');
  });

  it('04 Agent desktop opt-out: 200 with msg.dnc; DNC errors are 400 { code, message }', async () => {
    const ok = await node().request<AddOutcome>('POST', '/dnc/agent/opt-out', {
      contact: '+1 (201) 555-0144',
      agent: 'agent-042',
      reason: 'Asked during the call',
      labels: ['DNC_Sales'],
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.contact, '+12015550144');
    assert.deepEqual(ok.json.added, ['DNC_Sales']);
    assert.equal(ok.json.source, 'agent');
    assert.equal(ok.json.actor, 'agent-042');
    const record = journal().find((r) => r.keys.includes('+12015550144'));
    assert.ok(record);
    assert.equal(record.actor, 'agent-042');
    assert.equal(record.reason, 'Asked during the call');
    assert.equal(record.source, 'agent');

    const byDefault = await node().request<AddOutcome>('POST', '/dnc/agent/opt-out', {
      contact: 'Carol@Example.com',
      agent: 'agent-007',
    });
    assert.equal(byDefault.status, 200, byDefault.text);
    assert.deepEqual(byDefault.json.added, ['DNC_Global']);

    const bad = await node().request<{ code: string; message: string }>('POST', '/dnc/agent/opt-out', {
      contact: 'not a number',
      agent: 'agent-042',
    });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.code, 'DNC_INVALID_CONTACT');
    assert.equal(typeof bad.json.message, 'string');
    assert.doesNotMatch(bad.json.message, /^DncError/);

    const unknown = await node().request<{ code: string; message: string }>('POST', '/dnc/agent/opt-out', {
      contact: '+12015550145',
      agent: 'agent-042',
      labels: ['DNC_Nope'],
    });
    assert.equal(unknown.status, 400, unknown.text);
    assert.equal(unknown.json.code, 'DNC_UNKNOWN_LABEL');
  });

  it('05 Campaign list scrub: allowed list, blocked list with decisions, summary per reason', async () => {
    await pressAndWait(idIn('05', 'a50c000000000002'), idIn('05', 'a50c000000000005'));
    await pressAndWait(idIn('05', 'a50c000000000003'), idIn('05', 'a50c000000000005'));
    const mark = node().debug.length;
    await node().inject(idIn('05', 'a50c000000000006'));
    const allowed = (await node().nextDebug(idIn('05', 'a50c000000000008'), mark)).value;
    const blocked = (await node().nextDebug(idIn('05', 'a50c000000000009'), mark)).value as (BlockedItem & {
      item: string;
    })[];
    const summary = (await node().nextDebug(idIn('05', 'a50c00000000000a'), mark)).value as BatchSummary;
    assert.deepEqual(allowed, ['(201) 555-0156', 'tel:+1-201-555-0157', 'bob@example.com']);
    assert.deepEqual(
      blocked.map((b) => [b.item, b.decision.reasons.map((r) => r.label ?? r.code)]),
      [
        ['+1 201-555-0155', ['DNC_Sales']],
        ['ANA@Example.com', ['DNC_Global']],
        ['not a number', ['INVALID_CONTACT']],
        ['+1 201 555', ['INVALID_CONTACT']],
      ],
    );
    assert.equal(summary.total, 7);
    assert.equal(summary.allowed, 3);
    assert.equal(summary.blocked, 4);
    assert.deepEqual(summary.reasons, { LABEL: 2, INVALID_CONTACT: 2 });
  });

  it('keeps every label across a restart of Node-RED', async function () {
    this.timeout(60000);
    const before = journal().length;
    await node().restart();
    // The flows file is reloaded; the store is rebuilt from disk.
    const ivr = await waitFor('the check endpoint after restart', async () => {
      const res = await node().request('POST', '/e2e/check', { contact: '+12015550111', channel: 'voice' });
      return res.status === 200 ? (res.json as Routed) : undefined;
    });
    assert.equal(ivr.route, 'blocked');
    assert.deepEqual(ivr.dnc.matched, ['DNC_Global']);
    const sales = await check('+12015550122', 'voice');
    assert.equal(sales.route, 'blocked');
    assert.deepEqual(sales.dnc.matched, ['DNC_Sales']);
    const agent = await check('+12015550144');
    assert.deepEqual(agent.dnc.matched, ['DNC_Sales']);
    // DNC_SMS was removed again in example 03: allowed on sms.
    const sms = await check('+12015550133', 'sms');
    assert.equal(sms.route, 'allowed');
    assert.equal(journal().length, before, 'a restart writes nothing');
  });
});
