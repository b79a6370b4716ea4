/**
 * Reliability: a full disk (ENOSPC) and a failing one (EIO) under a real Node-RED, injected at the C
 * library's write and sync calls (test/support/native/fault-fs.c, compiled here with gcc and loaded with
 * LD_PRELOAD) on the store's journal, its snapshot and its attempt records, while the runtime keeps
 * running. For each fault, while it lasts:
 * - a change the store cannot write is refused (HTTP 503, DNC_STORE_ERROR for the change that met the
 *   fault, DNC_STORE_UNAVAILABLE for those after it) and a flow's add contact label ends the message
 *   with the same codes for a Catch node;
 * - checks fail closed, never allowed by accident: blocked with STORE_UNAVAILABLE while the journal
 *   cannot be written, and by a cap policy with CHECK_FAILED while attempts cannot be recorded (attempts
 *   made meanwhile may go uncounted);
 * and once it clears, without a restart:
 * - the store answers again, every change acknowledged before is there, none refused has appeared (the
 *   journal was cut back to the last acknowledged record), the audit chain verifies, and new changes
 *   are acknowledged.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeRedProcess, PACKAGE_ROOT, sleep, waitFor, type FlowNode } from '../support/node-red-process';
import {
  SOAK_LABEL,
  addLabelNode,
  chainVerifies,
  checkNode,
  failuresAnswer503,
  httpIn,
  httpResponse,
  numbers,
  optOutsNotBlocking,
  payloadFrom,
  postToFlow,
  report,
  soakConfig,
  storeOpen,
} from '../support/reliability';

const SHIM_SOURCE = path.join(PACKAGE_ROOT, 'test', 'support', 'native', 'fault-fs.c');
const z = 'faulttab';
const CONFIG = 'faultcfg';
/** A cap any contact with one attempt today reaches: it needs the attempt records to be counted. */
const CAP_POLICY = { name: 'one a day', windows: { daily: ['00:00-23:59'] }, caps: [{ limit: 1, days: 1 }] };

const flows = (): FlowNode[] => [
  { id: z, type: 'tab', label: 'disk faults' },
  soakConfig(CONFIG, 'disk faults'),
  httpIn('faultoptoutin', z, '/fault/optout', 60, 'faultadd'),
  addLabelNode('faultadd', z, CONFIG, 'payload.contact', 60, 'faultreply'),
  httpIn('faultcheckin', z, '/fault/check', 140, 'faultcheck'),
  checkNode('faultcheck', z, CONFIG, 'payload.contact', 140, [['faultreply'], ['faultreply']]),
  payloadFrom('faultreply', z, 'dnc', 100, 'faultresponse'),
  ...failuresAnswer503('fault', z, 'faultresponse'),
  httpResponse('faultresponse', z, 100),
];

interface ApiError {
  readonly code?: string;
  readonly error?: { readonly code?: string };
}

describe('reliability: disk full (ENOSPC) and failing (EIO) under a running Node-RED', function () {
  this.timeout(180_000);
  let red: NodeRedProcess | undefined;
  let dir = '';
  let control = '';
  let next = 0;
  const acknowledged: string[] = [];
  const refused: string[] = [];
  const figures: Record<string, unknown> = {};

  before(async function () {
    this.timeout(120_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnc-disk-faults-'));
    const shim = path.join(dir, 'fault-fs.so');
    // gcc is part of CI's machine (.ci/run installs it); without it this fails, it does not skip.
    execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', shim, SHIM_SOURCE, '-ldl']);
    control = path.join(dir, 'faults');
    fs.writeFileSync(control, '');
    red = await NodeRedProcess.start({
      userDir: path.join(dir, 'user'),
      nodesDir: [PACKAGE_ROOT],
      // libuv's io_uring would bypass the C library's calls, and so the shim.
      env: { LD_PRELOAD: shim, DNC_FAULT_CONTROL: control, UV_USE_IO_URING: '0' },
    });
    await red.deploy(flows());
    await storeOpen(red);
  });

  after(async function () {
    this.timeout(30_000);
    if (control !== '') fs.writeFileSync(control, '');
    await red?.stop();
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  function fault(line: string): void {
    fs.writeFileSync(control, line === '' ? '' : `${line}\n`);
  }

  async function optOut(contact: string): Promise<{ status: number; code?: string }> {
    const res = await red!.request<ApiError>('POST', '/dnc/labels/add', {
      contact,
      labels: [SOAK_LABEL],
      source: 'api',
      reason: 'disk faults',
    });
    if (res.status === 200) acknowledged.push(contact);
    else refused.push(contact);
    return { status: res.status, code: res.json?.code ?? res.json?.error?.code };
  }

  /** Opt-outs sent while the fault lasts: every one refused, the first with DNC_STORE_ERROR. */
  async function refusedWhileFaulty(count: number): Promise<string[]> {
    const codes: string[] = [];
    for (const contact of numbers((next += count), count)) {
      const answer = await optOut(contact);
      assert.equal(answer.status, 503, `${contact}: HTTP ${answer.status} while the disk refuses`);
      codes.push(String(answer.code));
    }
    assert.equal(codes[0], 'DNC_STORE_ERROR', 'the change that met the fault');
    for (const code of codes.slice(1)) assert.ok(/^DNC_STORE_(ERROR|UNAVAILABLE)$/.test(code), code);
    return codes;
  }

  /** Once the fault clears: the store reopens on its own; how long it took. */
  async function recovers(): Promise<number> {
    const cleared = Date.now();
    fault('');
    await waitFor(
      'the store to reopen after the fault cleared',
      async () => ((await red!.request('GET', '/dnc/health')).status === 200 ? true : undefined),
      60_000,
    );
    return Date.now() - cleared;
  }

  /** After recovery: acknowledged changes all there, refused ones absent, chain verifies, writes work. */
  async function intact(when: string): Promise<void> {
    assert.deepEqual(await optOutsNotBlocking(red!, acknowledged), [], `${when}: acknowledged opt-outs`);
    const stray = (await optOutsNotBlocking(red!, refused)).filter((line) => !line.endsWith(' allowed'));
    assert.equal(
      stray.length,
      0,
      `${when}: opt-outs refused during the fault appeared: ${stray.slice(0, 3).join('; ')}`,
    );
    assert.equal(
      (await optOutsNotBlocking(red!, refused)).length,
      refused.length,
      `${when}: every refused opt-out is absent`,
    );
    await chainVerifies(red!, when);
    for (const contact of numbers((next += 5), 5)) assert.equal((await optOut(contact)).status, 200);
  }

  it('keeps the opt-outs acknowledged before a fault (baseline)', async () => {
    for (const contact of numbers(next, 20)) assert.equal((await optOut(contact)).status, 200);
    next += 20;
    await chainVerifies(red!, 'baseline');
  });

  for (const [errno, what] of [
    ['ENOSPC', 'a full disk (short write, then ENOSPC)'],
    ['EIO', 'a failing disk (EIO on write and fdatasync)'],
  ] as const) {
    it(`journal, ${what}: refuses changes, checks fail closed, and recovers without restart`, async () => {
      fault(`${errno} .events.ndjson`);
      await refusedWhileFaulty(5);
      // Checks fail closed while the store cannot be trusted: a contact never labelled is blocked.
      const never = numbers(900_000 + next, 1)[0];
      const check = await postToFlow<{ allowed?: boolean; reasons?: Array<{ code: string }> }>(
        red!,
        '/fault/check',
        { contact: never },
        20_000,
      );
      assert.equal(check.status, 200);
      assert.equal(check.body?.allowed, false, 'a check while the store is unavailable');
      assert.deepEqual(
        check.body?.reasons?.map((r) => r.code),
        ['STORE_UNAVAILABLE'],
      );
      // A flow's add contact label ends its message with the code, for a Catch node.
      const viaFlow = await postToFlow<{ code?: string }>(red!, '/fault/optout', { contact: never }, 20_000);
      assert.equal(viaFlow.status, 503, JSON.stringify(viaFlow.body));
      assert.match(String(viaFlow.body?.code), /^DNC_STORE_(ERROR|UNAVAILABLE)$/);
      refused.push(never);
      // The fault outlasts the first reopen (after 0.5 s): a reopen that fails, or a reopened store whose
      // next write fails, must try again later, not give up.
      await sleep(1500);
      const late = numbers(950_000 + (next += 1), 1)[0];
      assert.equal((await optOut(late)).status, 503, 'still refused while the disk refuses');

      figures[`journal ${errno} recoveryMs`] = await recovers();
      await intact(`after the journal's ${errno}`);
    });
  }

  it('snapshot, a full disk at a redeploy (the store writes its snapshot on close): nothing is lost', async () => {
    fault('ENOSPC dnc-store.json');
    // A full deploy closes the store (its snapshot write fails, the journal holds everything) and opens it again.
    await red!.deploy(flows().map((node) => (node.id === z ? { ...node, label: 'disk faults (2)' } : node)));
    await storeOpen(red!);
    assert.ok(
      red!.log.includes('writing the snapshot') && red!.log.includes('failed'),
      'the failed snapshot is logged',
    );
    await intact('after a failed snapshot');
    fault('');
    await red!.deploy(flows());
    await storeOpen(red!);
    await intact('after the next snapshot');
  });

  it('attempt records, a full disk: the attempt is refused, cap policies fail closed, and recover without restart', async () => {
    const contact = numbers(800_000, 1)[0];
    const capCheck = () =>
      red!.request<{ allowed: boolean; reasons: Array<{ code: string }> }>('POST', '/dnc/check', {
        contact,
        policy: CAP_POLICY,
      });
    assert.equal((await capCheck()).json.allowed, true, 'no attempt yet');

    fault('ENOSPC .attempts.ndjson');
    const attempt = await red!.request<ApiError>('POST', '/dnc/attempts', { contact, channel: 'voice' });
    assert.equal(attempt.status, 503, attempt.text);
    assert.equal(attempt.json?.code ?? attempt.json?.error?.code, 'DNC_STORE_ERROR');
    // Attempts made meanwhile may go uncounted: the cap cannot be trusted, the check blocks.
    const during = await capCheck();
    assert.equal(during.json.allowed, false);
    // A policy that cannot be evaluated blocks with CHECK_FAILED (README's reason codes), naming why.
    assert.deepEqual(
      during.json.reasons.map((r) => r.code),
      ['CHECK_FAILED'],
    );
    assert.match(JSON.stringify(during.json.reasons), /attempt records cannot be written/);
    // Labels do not depend on the attempts file: opt-outs are still acknowledged.
    assert.equal((await optOut(numbers((next += 1), 1)[0])).status, 200);

    const cleared = Date.now();
    fault('');
    await waitFor(
      'the attempt records to accept writes again',
      async () => ((await capCheck()).json.allowed === true ? true : undefined),
      60_000,
    );
    figures['attempts ENOSPC recoveryMs'] = Date.now() - cleared;
    // The refused attempt was not counted; a new one is, and the cap then blocks.
    assert.equal((await red!.request('POST', '/dnc/attempts', { contact, channel: 'voice' })).status, 200);
    const after = await capCheck();
    assert.equal(after.json.allowed, false);
    assert.ok(
      after.json.reasons.some((r) => r.code !== 'CHECK_FAILED'),
      JSON.stringify(after.json.reasons),
    );
    report('disk-faults', { acknowledged: acknowledged.length, refused: refused.length, ...figures });
  });
});
