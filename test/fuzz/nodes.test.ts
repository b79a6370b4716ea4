/**
 * Fuzz test of every node type that takes input (add contact label, remove contact label (by label and
 * "remove all"), record attempt, check DNC, detect opt-out, external registry lookup) with generated bad
 * msg properties: the contact (payload) of every type and shape, lists of them, labels, channel, source,
 * reason, actor, campaign, outcome, ncprCategory, an existing msg.dnc. (dnc-events has no input; dnc-config,
 * dnc-policy and dnc-registry are configuration nodes.) Each message must:
 * - complete: the node calls done() (a Complete node hears it) or reports an error to a Catch node, within
 *   a few seconds, and the runtime keeps running;
 * - on error: carry a stable DNC_* code, a message without a stack trace or a path, and write nothing (the
 *   store's seq, its attempt records and its files are unchanged);
 * - never allow what cannot be evaluated: Check DNC lets a contact through only when it parses, its
 *   channel is blank or a channel the configuration knows, it carries no enforced label (a contact with
 *   DNC_Sales on voice/sms, one with a global label) and no registry lists it; the registry lookup says
 *   "not listed" only for a phone number that the registry does not list;
 * - detect opt-out never writes.
 * The contacts the invariants rely on (labelled, listed) are never given to the nodes that write.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- messages from the test helper are untyped */
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { ContactParser } from '../../lib/contacts';
import { KNOWN_CHANNELS } from '../../lib/labels';
import { ANA, BEN, CARL, allModules, config, delay, helper, storeReady, useNodeRed } from '../nodes/support';
import {
  REPO_ROOT,
  Violations,
  casesOf,
  filesUnder,
  hostileString,
  hostileValue,
  leakIn,
  preview,
} from './support';

/* eslint-disable @typescript-eslint/no-require-imports */
const modules = [
  ...allModules,
  require('../../nodes/dnc-record-attempt') as unknown,
  require('../../nodes/dnc-opt-out') as unknown,
  require('../../nodes/dnc-registry') as unknown,
  require('../../nodes/dnc-registry-lookup') as unknown,
];
/* eslint-enable @typescript-eslint/no-require-imports */

/** Cases per node: 9 nodes x 200 (check: 400) = 2,000 messages a run. */
const CASES = 200;
const GB = new ContactParser({ defaultCountry: 'GB' });
const US = new ContactParser({ defaultCountry: 'US' });

type Props = Record<string, unknown>;

function today(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

const REGISTRY_FILE = `us-ndnc-${today(-1)}.txt`;

/** The nodes fuzzed: id, and the node's own properties. */
const NODES: readonly { id: string; type: string; props: Props; writes: boolean; cases?: number }[] = [
  {
    id: 'add',
    type: 'dnc-add-label',
    writes: true,
    props: {
      labels: [],
      contact: 'payload',
      contactType: 'msg',
      source: '',
      reason: 'reason',
      reasonType: 'msg',
      actor: 'actor',
      actorType: 'msg',
    },
  },
  {
    id: 'remove',
    type: 'dnc-remove-label',
    writes: true,
    props: {
      labels: [],
      contact: 'payload',
      contactType: 'msg',
      source: '',
      reason: 'reason',
      reasonType: 'msg',
    },
  },
  {
    id: 'removeAll',
    type: 'dnc-remove-label',
    writes: true,
    props: { labels: [], removeAll: true, contact: 'payload', contactType: 'msg', source: 'fuzz' },
  },
  {
    id: 'attempt',
    type: 'dnc-record-attempt',
    writes: true,
    props: { contact: 'payload', contactType: 'msg', outcome: '', channel: '', campaign: '' },
  },
  {
    id: 'check',
    type: 'dnc-check',
    // Records an attempt for each allowed contact; the node most worth fuzzing: twice the cases.
    writes: true,
    cases: 2 * CASES,
    props: {
      labels: [],
      channel: '',
      contact: 'payload',
      contactType: 'msg',
      registries: ['r1'],
      recordAttempt: true,
    },
  },
  {
    // JSONata properties are evaluated asynchronously: the other path through nodes/shared/inputs.ts.
    id: 'checkJsonata',
    type: 'dnc-check',
    writes: false,
    props: { labels: [], channel: '', contact: 'payload', contactType: 'jsonata', registries: ['r1'] },
  },
  {
    id: 'addJsonata',
    type: 'dnc-add-label',
    writes: true,
    props: {
      labels: [],
      contact: 'payload',
      contactType: 'jsonata',
      source: '',
      reason: '$string(reason)',
      reasonType: 'jsonata',
      actor: 'actor & ""',
      actorType: 'jsonata',
    },
  },
  {
    id: 'optout',
    type: 'dnc-opt-out',
    writes: false,
    props: {
      text: 'payload',
      textType: 'msg',
      channel: '',
      language: 'en',
      defaultLabels: ['DNC_Global'],
      rules: [{ topic: 'marketing', channel: '', labels: ['DNC_Marketing'] }],
      sender: '',
      confirmation: '',
    },
  },
  {
    id: 'lookup',
    type: 'dnc-registry-lookup',
    writes: false,
    props: { registries: ['r1'], contact: 'payload', contactType: 'msg', defaultCountry: 'US' },
  },
];

function flow(): Props[] {
  return [
    { id: 't1', type: 'tab', label: 'fuzz' },
    config('c1'),
    {
      id: 'r1',
      type: 'dnc-registry',
      name: '',
      kind: 'file',
      registry: 'US_NDNC',
      path: REGISTRY_FILE,
      watch: false,
    },
    ...NODES.map((n) => ({
      id: n.id,
      type: n.type,
      z: 't1',
      name: '',
      ...(n.type === 'dnc-registry-lookup' ? {} : { config: 'c1' }),
      ...n.props,
      wires: [],
    })),
    { id: 'k1', type: 'catch', z: 't1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't1' },
    {
      id: 'done1',
      type: 'complete',
      z: 't1',
      scope: NODES.map((n) => n.id),
      uncaught: false,
      wires: [['completed']],
    },
    { id: 'completed', type: 'helper', z: 't1' },
  ];
}

/** Contacts whose state the invariants rely on: ANA has DNC_Sales (voice, sms), BEN DNC_Global, CARL is listed. */
const PROTECTED = [ANA, BEN, CARL];

function keysOf(value: unknown): string[] {
  const parsed = GB.tryParse(value);
  return parsed instanceof Error ? [] : [...parsed.keys];
}

function touchesProtected(value: unknown): boolean {
  // A node takes one level of list: its items are contacts.
  const items: unknown[] = Array.isArray(value) ? value : [value];
  return items.some((item) => keysOf(item).some((k) => PROTECTED.includes(k)));
}

/**
 * Values a flow can hand a node that JSON cannot carry: Buffers (binary payloads), Dates, Maps, BigInts,
 * functions, symbols, objects without a prototype, circular objects, a toString that throws. (Not getters
 * or proxies that throw: Node-RED's own message cloning cannot carry those.)
 */
const exoticValue: fc.Arbitrary<unknown> = fc
  .constantFrom<() => unknown>(
    () => Buffer.from('+447911123490'),
    () => Buffer.from([0xff, 0xfe, 0x00]),
    () => new Date(Number.NaN),
    () => new Date(0),
    () => new Map([['phone', '+447911123490']]),
    () => new Set(['DNC_Sales']),
    () => 10n ** 30n,
    () => () => '+447911123490',
    () => Symbol('contact'),
    () => Object.assign(Object.create(null) as object, { phone: '+447911123490' }),
    () => {
      const loop: Record<string, unknown> = { phone: '+447911123490' };
      loop.self = loop;
      return loop;
    },
    () => {
      const list: unknown[] = ['+447911123490'];
      list.push(list);
      return list;
    },
    () => ({
      toString(): string {
        throw new Error('a toString that throws');
      },
    }),
    () => Number.NaN,
    () => Number.POSITIVE_INFINITY,
    () =>
      new (class Contact {
        phone = '+447911123490';
      })(),
    () => new Error('an error as a contact'),
  )
  .map((make) => make());

const checkContact = fc.oneof(
  {
    arbitrary: fc.constantFrom<unknown>(
      ANA,
      '07911 123456',
      BEN,
      CARL,
      '+1 415 555 0199',
      '+447911123499',
      'free@example.com',
    ),
    weight: 3,
  },
  {
    arbitrary: fc.constantFrom<unknown>(
      { phone: ANA },
      { phone: '+447911123498', email: 'x@example.com' },
      { whatsapp: BEN },
    ),
    weight: 1,
  },
  { arbitrary: hostileValue, weight: 4 },
  { arbitrary: exoticValue, weight: 1 },
);

const writerContact = fc
  .oneof(
    {
      arbitrary: fc.constantFrom<unknown>('+447911123490', '07911 123491', 'fuzz@example.com', 'id:fuzz-1', {
        phone: '+447911123492',
      }),
      weight: 3,
    },
    { arbitrary: hostileValue, weight: 4 },
    { arbitrary: exoticValue, weight: 1 },
  )
  .filter((v) => !touchesProtected(v));

function contactFor(node: string): fc.Arbitrary<unknown> {
  const one =
    node === 'check' || node === 'checkJsonata' || node === 'lookup'
      ? checkContact
      : node === 'optout'
        ? fc.oneof({ arbitrary: hostileValue, weight: 6 }, { arbitrary: exoticValue, weight: 1 })
        : writerContact;
  return fc.oneof(
    { arbitrary: one, weight: 5 },
    { arbitrary: fc.array(one, { maxLength: 5 }), weight: 2 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

const optional = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 8 },
    { arbitrary: valid, weight: 6 },
    { arbitrary: hostileValue, weight: 4 },
    { arbitrary: exoticValue, weight: 1 },
  );

function messageFor(node: string): fc.Arbitrary<Props> {
  return fc
    .record({
      payload: contactFor(node),
      labels: optional(
        fc.constantFrom<unknown>(['DNC_Sales'], ['Hold'], 'DNC_Marketing', ['DNC_Global', 'Hold'], []),
      ),
      // Built-in channels in any case, and words that look like channels but are not declared (typos,
      // synonyms): the latter must never let a contact through.
      channel: optional(
        fc.constantFrom<unknown>(
          ...KNOWN_CHANNELS,
          'VOICE',
          ' sms ',
          'smss',
          'text',
          'call',
          'phone',
          'e-mail',
          'fax',
        ),
      ),
      source: optional(fc.constantFrom('crm', 'ivr')),
      reason: optional(fc.constantFrom('asked', '')),
      actor: optional(fc.constantFrom('agent 7', '')),
      campaign: optional(fc.constantFrom('spring', '')),
      outcome: optional(fc.constantFrom('conversation', 'refusal', 'optout', 'no-answer')),
      ncprCategory: optional(fc.constantFrom('1', 1, 'all')),
      topic: optional(fc.constantFrom('marketing', 'sales')),
      dnc: optional(fc.constantFrom<unknown>({ intent: { kind: 'opt-out' } }, { allowed: true })),
      text: fc.option(hostileString, { freq: 4 }),
    })
    .map((record) => {
      const msg: Props = {};
      for (const [k, v] of Object.entries(record)) if (v !== undefined && v !== null) msg[k] = v;
      return msg;
    });
}

/**
 * Whether a msg property is provided: a node falls back to its default when it is undefined, null or ''
 * (not "blank", which in lib/ means text that is empty once trimmed).
 */
function provided(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/**
 * Whether msg.labels makes a check enforce DNC_Sales: no selection (blank, an empty list, only blank
 * names: every label is enforced) or a selection naming it.
 */
function enforcesSales(labels: unknown): boolean {
  if (!provided(labels)) return true;
  const names = typeof labels === 'string' ? labels.split(',') : Array.isArray(labels) ? labels : null;
  if (names === null || names.some((n) => typeof n !== 'string')) return false;
  const given = (names as string[]).map((n) => n.trim()).filter((n) => n !== '');
  return given.length === 0 || given.includes('DNC_Sales');
}

/** Why Check DNC must not have allowed `contact` for `msg` (null: allowing it is fine). */
function mustNotAllow(contact: unknown, msg: Props): string | null {
  const parsed = GB.tryParse(contact);
  if (parsed instanceof Error) return 'the contact cannot be evaluated';
  if (provided(msg.channel)) {
    const channel = typeof msg.channel === 'string' ? msg.channel.trim().toLowerCase() : null;
    if (channel === null || !(KNOWN_CHANNELS as readonly string[]).includes(channel)) {
      return 'the channel is neither built in nor declared';
    }
  }
  if (parsed.keys.includes(BEN)) return 'the contact carries a global label';
  if (parsed.keys.includes(CARL)) return 'the registry lists the number';
  const channel = typeof msg.channel === 'string' ? msg.channel.trim().toLowerCase() : '';
  if (
    parsed.keys.includes(ANA) &&
    enforcesSales(msg.labels) &&
    (channel === '' || channel === 'voice' || channel === 'sms')
  ) {
    return 'the contact carries DNC_Sales on voice/sms';
  }
  return null;
}

/** Why the registry lookup must not have said "not listed" for `contact` (null: fine). */
function mustNotBeUnlisted(contact: unknown): string | null {
  const parsed = US.tryParse(contact);
  if (parsed instanceof Error) return 'the contact cannot be evaluated';
  const phone = parsed.keys.find((k) => k.startsWith('+'));
  if (phone === undefined) return 'the contact has no phone number';
  if (phone === CARL) return 'the registry lists the number';
  return null;
}

describe('fuzz: every node input', function () {
  it('fuzzes every node type that takes input, at least 2,000 messages a run', function () {
    // Every node type of the package whose editor definition has an input (so a new one is not forgotten).
    const fuzzed = new Set(NODES.map((n) => n.type));
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      'node-red': { nodes: Record<string, string> };
    };
    const withInput = Object.keys(pkg['node-red'].nodes).filter((type) =>
      /\binputs:\s*[1-9]/.test(readFileSync(join(REPO_ROOT, 'nodes', `${type}.html`), 'utf8')),
    );
    assert.ok(withInput.length >= 6, `node types with an input: ${withInput.join(', ')}`);
    for (const type of withInput) assert.ok(fuzzed.has(type), `${type} takes input but is not fuzzed`);
    assert.ok(NODES.reduce((n, node) => n + (node.cases ?? CASES), 0) >= 2000);
  });

  this.timeout(20_000);
  const userDir = useNodeRed('suite');
  const waiting = new Map<number, (outcome: { kind: 'complete' | 'error'; msg: any }) => void>();
  let nextCase = 0;

  before(async function () {
    writeFileSync(join(userDir.dir, REGISTRY_FILE), '415,5550199\n212,5553003\n');
    await helper.load(modules, flow());
    await storeReady('c1');
    for (let i = 0; helper.getNode('r1').dncRegistry.info.state === 'loading'; i++) {
      if (i > 1000) throw new Error('the registry is still loading');
      await delay(10);
    }
    const service = helper.getNode('c1').dnc.service;
    await service.addLabels({ contact: ANA, labels: ['DNC_Sales'], source: 'test' });
    await service.addLabels({ contact: BEN, labels: ['DNC_Global'], source: 'test' });
    for (const [id, kind] of [
      ['completed', 'complete'],
      ['caught', 'error'],
    ] as const) {
      helper.getNode(id).on('input', (msg: any) => {
        const resolve = waiting.get(msg.fuzzCase as number);
        if (resolve) {
          waiting.delete(msg.fuzzCase as number);
          resolve({ kind, msg });
        }
      });
    }
  });

  function written(): string {
    const store = helper.getNode('c1').dnc.service.store;
    const files = filesUnder(userDir.dir, (name) => name.startsWith('dnc-store'));
    return JSON.stringify({ seq: store.status().seq, attempts: store.attemptLog?.size ?? null, ...files });
  }

  /** Sends `msg` to a node and resolves with how it ended (done() or an error to Catch), or null. */
  function run(node: string, msg: Props): Promise<{ kind: 'complete' | 'error'; msg: any } | null> {
    const id = nextCase++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve(null);
      }, 5000);
      waiting.set(id, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
      helper.getNode(node).receive({ ...msg, fuzzCase: id });
    });
  }

  for (const node of NODES) {
    const cases = node.cases ?? CASES;
    it(`${node.id} (${node.type}): ${cases} generated bad messages complete, fail with DNC_* codes, write nothing on error, allow nothing unchecked`, async function () {
      const v = new Violations(`fuzz: every node input ${node.id} (${node.type})`);
      const tally: Record<string, number> = {};
      for (const msg of casesOf(`node ${node.id}`, messageFor(node.id), cases)) {
        v.cases += 1;
        const label = `${node.id} <- ${preview(msg, 240)}`;
        const before = written();
        const outcome = await run(node.id, msg);
        if (outcome === null) {
          v.add('no done() and no error within 5 s', label);
          continue;
        }
        const after = written();
        const key =
          outcome.kind === 'error'
            ? String(outcome.msg.error?.code)
            : node.type === 'dnc-check' && !Array.isArray(msg.payload)
              ? `allowed:${String(outcome.msg.dnc?.allowed)}`
              : node.type === 'dnc-registry-lookup' && !Array.isArray(msg.payload)
                ? String(outcome.msg.dnc?.result)
                : Array.isArray(msg.payload)
                  ? 'list'
                  : 'done';
        tally[key] = (tally[key] ?? 0) + 1;
        if (outcome.kind === 'error') {
          const error = outcome.msg.error ?? {};
          const example = `${label} -> ${preview(error.code)} ${preview(error.message, 200)}`;
          if (typeof error.code !== 'string' || !/^DNC_[A-Z0-9_]+$/.test(error.code))
            v.add('an error without a DNC_* code', example);
          const leak = leakIn(String(error.message ?? ''), [userDir.dir]);
          if (leak !== null) v.add(`msg.error.message shows ${leak}`, example);
          if (after !== before) v.add('a message that failed wrote', `${example}: ${before} -> ${after}`);
          continue;
        }
        if (!node.writes && after !== before) v.add('a node that never writes wrote', label);
        const out = outcome.msg;
        if (node.type === 'dnc-check') {
          if (Array.isArray(msg.payload)) {
            const allowed: unknown[] = Array.isArray(out.payload) ? out.payload : [];
            if (!Array.isArray(out.payload)) v.add('a list check without the allowed list', label);
            for (const item of allowed) {
              const why = mustNotAllow(item, msg);
              if (why !== null) v.add(`allowed in a list although ${why}`, `${label}: item ${preview(item)}`);
            }
            if (out.dnc?.summary?.total !== msg.payload.length)
              v.add('a list check whose summary does not count every item', label);
          } else {
            const decision = out.dnc;
            if (decision === null || typeof decision !== 'object' || typeof decision.allowed !== 'boolean') {
              v.add('a check without a decision', label);
            } else if (decision.allowed) {
              const why = mustNotAllow(msg.payload, msg);
              if (why !== null) v.add(`allowed although ${why}`, label);
            } else if (
              !Array.isArray(decision.reasons) ||
              decision.reasons.length === 0 ||
              decision.reasons.some((r: any) => typeof r?.code !== 'string')
            ) {
              v.add('blocked without a reason code', `${label} -> ${preview(decision)}`);
            }
          }
        } else if (node.type === 'dnc-registry-lookup') {
          if (Array.isArray(msg.payload)) {
            for (const item of Array.isArray(out.payload) ? out.payload : []) {
              const why = mustNotBeUnlisted(item);
              if (why !== null)
                v.add(`"not listed" in a list although ${why}`, `${label}: item ${preview(item)}`);
            }
          } else if (out.dnc?.result === 'not-listed') {
            const why = mustNotBeUnlisted(msg.payload);
            if (why !== null) v.add(`"not listed" although ${why}`, label);
          } else if (out.dnc?.result !== 'listed' && out.dnc?.result !== 'could-not-check') {
            v.add('a lookup without a result', `${label} -> ${preview(out.dnc)}`);
          }
        } else if (node.type === 'dnc-opt-out') {
          if (!['opt-out', 'opt-in', 'help', 'none'].includes(out.dnc?.intent?.kind))
            v.add('an opt-out detection without an intent', label);
        }
      }
      if (process.env.DNC_FUZZ_VERBOSE) console.log(`    ${node.id}: ${JSON.stringify(tally)}`);
      assert.ok(helper.getNode('c1').dnc.service, 'the runtime still has its configuration');
      v.assertNone();
    });
  }
});
