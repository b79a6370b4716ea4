/* eslint-disable @typescript-eslint/no-explicit-any -- messages from the test helper are untyped */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DncService } from '../../lib/service';
import {
  ANA,
  allModules,
  caughtError,
  collect,
  config,
  helper,
  nextMessage,
  statusMatching,
  storeReady,
  testFlow,
  useNodeRed,
} from './support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const optOutModule = require('../../nodes/dnc-opt-out') as unknown;
const modules = [...allModules, optOutModule];

type Props = Record<string, unknown>;

const OUTPUTS = ['optout', 'optin', 'help', 'none'] as const;

function flow(props: Props = {}, extra: Props[] = []): Props[] {
  return testFlow(
    [
      config('c1'),
      {
        id: 'n1',
        type: 'dnc-opt-out',
        z: 't1',
        name: '',
        config: 'c1',
        text: 'payload',
        textType: 'msg',
        channel: '',
        language: 'en',
        defaultLabels: ['DNC_Global'],
        rules: [
          { topic: 'marketing', channel: '', labels: ['DNC_Marketing'] },
          { topic: '', channel: 'sms', labels: ['DNC_Sales'] },
        ],
        sender: '',
        confirmation: '',
        wires: [['optout'], ['optin'], ['help'], ['none']],
        ...props,
      },
    ],
    OUTPUTS,
    extra,
  );
}

/** Sends `msg` and resolves with [output name, msg] for whichever output it reaches. */
function route(msg: Props, node = 'n1'): Promise<[string, any]> {
  return new Promise((resolve, reject) => {
    const ids = [...OUTPUTS, 'caught'];
    const listeners = new Map<string, (received: unknown) => void>();
    const stop = () => {
      clearTimeout(timer);
      for (const [id, listener] of listeners) helper.getNode(id).removeListener('input', listener);
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error('no output received the msg'));
    }, 4000);
    for (const id of ids) {
      const listener = (received: unknown) => {
        stop();
        resolve([id, received]);
      };
      listeners.set(id, listener);
      helper.getNode(id).on('input', listener);
    }
    helper.getNode(node).receive(msg);
  });
}

describe('dnc-opt-out node', function () {
  useNodeRed();

  it('sends each kind to its own output and keeps the rest of the msg', async function () {
    await helper.load(modules, flow());
    const cases: [string, string][] = [
      ['STOP', 'optout'],
      ['please take me off your list', 'optout'],
      ['START', 'optin'],
      ['HELP', 'help'],
      ['how do I stop my order?', 'none'],
      ["don't stop", 'none'],
    ];
    for (const [text, output] of cases) {
      const [reached, msg] = await route({ payload: text, topic: 'sms-in', from: ANA });
      assert.equal(reached, output, `${text}: ${JSON.stringify(msg.error ?? msg.dnc?.intent)}`);
      assert.equal(msg.payload, text, 'payload untouched');
      assert.equal(msg.topic, 'sms-in');
      assert.equal(msg.from, ANA);
      assert.equal(
        msg.dnc.intent.kind,
        { optout: 'opt-out', optin: 'opt-in', help: 'help', none: 'none' }[output],
      );
    }
  });

  it('sets msg.dnc.intent { kind, matched, language, confidence, labels } and merges into an existing msg.dnc', async function () {
    await helper.load(modules, flow());
    const [, msg] = await route({ payload: 'Uh, please STOP calling me!', dnc: { requestId: 'r-7' } });
    const intent = msg.dnc.intent;
    assert.equal(intent.kind, 'opt-out');
    assert.equal(intent.matched, 'STOP calling');
    assert.equal(intent.language, 'en');
    assert.ok(intent.confidence > 0.8 && intent.confidence <= 1);
    assert.deepEqual(intent.labels, ['DNC_Global'], 'voice named, no rule for voice: the default labels');
    assert.deepEqual(intent.channels, ['voice']);
    assert.match(intent.rule, /^en: /);
    assert.equal(msg.dnc.requestId, 'r-7', 'the existing msg.dnc is kept');
    assert.deepEqual(msg.labels, ['DNC_Global']);
  });

  it('maps an opt-out to labels by topic and channel', async function () {
    await helper.load(modules, flow());
    const offers = (await route({ payload: 'stop calling me about offers', channel: 'voice' }))[1];
    assert.deepEqual(offers.labels, ['DNC_Marketing']);
    const sms = (await route({ payload: 'STOP', channel: 'sms' }))[1];
    assert.deepEqual(sms.labels, ['DNC_Sales']);
    const ivr = (await route({ payload: 'stop', channel: 'voice' }))[1];
    assert.deepEqual(ivr.labels, ['DNC_Global']);
    const both = (await route({ payload: 'stop texting and calling me', channel: 'sms' }))[1];
    assert.deepEqual(both.labels, ['DNC_Sales', 'DNC_Global'], 'one rule per channel named');
    const custom = (await route({ payload: 'no more texts about your surveys', channel: 'sms' }))[1];
    assert.deepEqual(custom.labels, ['DNC_Sales']);
    const [, none] = await route({ payload: 'where is my parcel', labels: ['Hold'] });
    assert.deepEqual(none.labels, ['Hold'], 'msg.labels is left alone when the intent maps to none');
    assert.deepEqual(none.dnc.intent.labels, []);
  });

  it('uses the node channel over msg.channel, and custom topic words', async function () {
    await helper.load(
      modules,
      flow({
        channel: 'sms',
        rules: [{ topic: 'warranty, extended warranty', channel: '', labels: ['Hold'] }],
        defaultLabels: ['DNC_Sales'],
      }),
    );
    const warranty = (await route({ payload: 'stop texting me about my car warranty', channel: 'voice' }))[1];
    assert.deepEqual(warranty.labels, ['Hold']);
    const plain = (await route({ payload: 'unsubscribe', channel: 'voice' }))[1];
    assert.deepEqual(plain.labels, ['DNC_Sales']);
  });

  it('sets one confirmation in the message language on an opt-out (spoken for voice), and removes a stale one', async function () {
    await helper.load(modules, flow({ sender: 'Acme' }));
    const es = (await route({ payload: 'no me llamen más por favor', channel: 'sms' }))[1];
    assert.equal(es.dnc.intent.language, 'es');
    assert.match(es.dnc.confirmation, /^Acme: Se ha dado de baja/);
    assert.doesNotMatch(es.dnc.confirmation, /oferta|promo|descuento/i, 'no marketing');
    const voice = (await route({ payload: 'remove my number from your list', channel: 'voice' }))[1];
    assert.match(voice.dnc.confirmation, /^Thank you\. .*not contact you again/, 'spoken: no sender prefix');
    const hi = (await route({ payload: 'mujhe call mat karo', channel: 'sms' }))[1];
    assert.equal(hi.dnc.intent.language, 'hi-Latn');
    assert.match(hi.dnc.confirmation, /unsubscribe ho gaya/);
    const none = (await route({ payload: 'thanks!', dnc: { confirmation: 'old' } }))[1];
    assert.equal(none.dnc.confirmation, undefined);
  });

  it('with language "auto", classifies a message in any language and confirms in it (bare keyword: English)', async function () {
    await helper.load(modules, flow({ language: 'auto', sender: 'Acme' }));
    const it = await route({ payload: 'non chiamatemi più', channel: 'sms' });
    assert.equal(it[0], 'optout');
    assert.equal(it[1].dnc.intent.language, 'it');
    assert.match(it[1].dnc.confirmation, /^Acme: La tua iscrizione è stata annullata/);
    const tr = (await route({ payload: 'beni aramayın', channel: 'voice' }))[1];
    assert.equal(tr.dnc.intent.language, 'tr');
    assert.match(tr.dnc.confirmation, /^Teşekkürler\. /, 'spoken: no sender prefix');
    const nl = (await route({ payload: 'geen berichten meer', channel: 'sms' }))[1];
    assert.match(nl.dnc.confirmation, /afgemeld/);
    const id = (await route({ payload: 'UNREG', channel: 'sms' }))[1];
    assert.match(id.dnc.confirmation, /berhenti berlangganan/);
    const bare = (await route({ payload: 'STOP', channel: 'sms' }))[1];
    assert.equal(bare.dnc.intent.language, 'en');
  });

  it('takes a custom confirmation template', async function () {
    await helper.load(
      modules,
      flow({ sender: 'Acme', confirmation: '__sender__No more sales texts. Reply START to undo.' }),
    );
    const msg = (await route({ payload: 'STOP', channel: 'sms' }))[1];
    assert.equal(msg.dnc.confirmation, 'Acme: No more sales texts. Reply START to undo.');
  });

  it('reads the text with a JSONata expression (typedInput)', async function () {
    await helper.load(
      modules,
      flow({ text: 'asr.alternatives[0].transcript', textType: 'jsonata', channel: 'voice' }),
    );
    const [reached, msg] = await route({
      payload: ANA,
      asr: {
        alternatives: [{ transcript: 'uh yeah can you um take me off your calling list', confidence: 0.82 }],
      },
    });
    assert.equal(reached, 'optout');
    assert.equal(msg.payload, ANA);
    assert.equal(msg.dnc.intent.matched, 'take me off your calling list');
  });

  it('reads the text from another msg property and shows the kind in its status', async function () {
    await helper.load(modules, flow({ text: 'transcript', textType: 'msg' }));
    const n1 = helper.getNode('n1');
    const blue = statusMatching(n1, (s) => s.fill === 'blue');
    const [reached] = await route({ payload: ANA, transcript: 'do not call me again' });
    assert.equal(reached, 'optout');
    const status = await blue;
    assert.equal(status.shape, 'dot');
    assert.match(status.text ?? '', /^opt-out: /);
  });

  it('reports a text that is not a string to a Catch node with DNC_INVALID_INPUT', async function () {
    await helper.load(modules, flow());
    const [reached, msg] = await route({ payload: { text: 'stop' } });
    assert.equal(reached, 'caught');
    assert.equal(caughtError(msg).code, 'DNC_INVALID_INPUT');
    const [reached2, msg2] = await route({ topic: 'no payload' });
    assert.equal(reached2, 'caught');
    assert.equal(caughtError(msg2).code, 'DNC_INVALID_INPUT');
  });

  it('rejects a mapping label the selected config does not define (DNC_UNKNOWN_LABEL)', async function () {
    await helper.load(modules, flow({ rules: [{ topic: 'sales', channel: '', labels: ['DNC_Nope'] }] }));
    const n1 = helper.getNode('n1');
    await statusMatching(n1, (s) => s.fill === 'red');
    const [reached, msg] = await route({ payload: 'STOP' });
    assert.equal(reached, 'caught');
    assert.equal(caughtError(msg).code, 'DNC_UNKNOWN_LABEL');
    assert.match(msg.error.message, /DNC_Nope/);
  });

  it('complaints: none by default with the complaint rule recorded; opt-outs with complaintsAsOptOut', async function () {
    // The labels follow the mapping as for any opt-out: "calling" names voice (no rule: the default).
    const labelsFor: Record<string, string[]> = {
      'Why do you keep calling me?': ['DNC_Global'],
      '¿Quién les dio mi número?': ['DNC_Sales'],
      'Woher haben Sie meine Nummer?': ['DNC_Sales'],
    };
    const complaints = Object.keys(labelsFor);
    // n1 as deployed by default; n2 the same with the option checked, wired to the same outputs.
    const counsel = {
      ...flow().find((n) => n.id === 'n1'),
      id: 'n2',
      complaintsAsOptOut: true,
      sender: 'Acme',
    };
    await helper.load(modules, [...flow(), counsel]);
    for (const text of complaints) {
      const [reached, msg] = await route({ payload: text, channel: 'sms' });
      assert.equal(reached, 'none', text);
      assert.equal(msg.dnc.confirmation, undefined, text);
      assert.equal(msg.labels, undefined, text);
      assert.match(msg.dnc.intent.ignored[0].rule, /^complaint \((en|es|de)\): /, text);
      assert.equal(msg.dnc.intent.ignored[0].why, 'complaint', text);
    }
    for (const text of complaints) {
      const [reached, msg] = await route({ payload: text, channel: 'sms' }, 'n2');
      assert.equal(reached, 'optout', text);
      assert.match(msg.dnc.intent.rule, /^complaint \((en|es|de)\): /, text);
      assert.ok(text.includes(msg.dnc.intent.matched), text);
      assert.deepEqual(msg.labels, labelsFor[text], text);
      assert.match(msg.dnc.confirmation, /^Acme: /, text);
    }
  });

  it('works without a config (free-text labels)', async function () {
    await helper.load(modules, flow({ config: '', defaultLabels: ['Anything_Goes'] }));
    const msg = (await route({ payload: 'unsubscribe' }))[1];
    assert.deepEqual(msg.labels, ['Anything_Goes']);
  });

  it('without a config takes any well-formed channel (there is no list to declare it in): detection never stops', async function () {
    await helper.load(
      modules,
      flow({
        config: '',
        channel: 'telegram',
        defaultLabels: ['DNC_Chat'],
        rules: [{ topic: '', channel: 'telegram', labels: ['DNC_Telegram'] }],
      }),
    );
    const msg = (await route({ payload: 'STOP' }))[1];
    assert.deepEqual(msg.labels, ['DNC_Telegram']);
  });

  it('wires to dnc-add-label with an empty label list: the mapped label is applied, no function node', async function () {
    const extra: Props[] = [
      {
        id: 'add',
        type: 'dnc-add-label',
        z: 't1',
        name: '',
        config: 'c1',
        labels: [],
        contact: 'from',
        contactType: 'msg',
        source: 'sms',
        reason: 'payload',
        reasonType: 'msg',
        actor: '',
        actorType: 'str',
        wires: [['added']],
      },
      { id: 'added', type: 'helper', z: 't1' },
    ];
    const f = flow({ wires: [['add'], ['optin'], ['help'], ['none']] }, extra);
    await helper.load(modules, f);
    await storeReady();
    const added = nextMessage(helper.getNode('added'));
    helper.getNode('n1').receive({ payload: 'Please stop sending me promotions', from: ANA, channel: 'sms' });
    const msg = await added;
    assert.deepEqual(msg.dnc.added, ['DNC_Marketing']);
    assert.equal(msg.dnc.intent.kind, 'opt-out', 'the intent travels on through the label change');
    assert.match(msg.dnc.confirmation, /unsubscribed|opted out|no more/i, 'so does the confirmation text');
    const service = helper.getNode('c1').dnc.service as DncService;
    assert.equal(service.check(ANA, { channel: 'sms', labels: ['DNC_Marketing'] }).allowed, false);
    assert.equal(service.check(ANA, { channel: 'voice', labels: ['DNC_Sales'] }).allowed, true);
  });
});

// The core switch, change and template nodes the examples use.
const coreNodes = ['function/10-switch', 'function/15-change', 'function/80-template'].map(
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (file) => require(`@node-red/nodes/core/${file}`) as unknown,
);

describe('dnc-opt-out examples', function () {
  useNodeRed();

  /** An example flow with its debug nodes replaced by helper nodes (same ids), on one tab. */
  function example(file: string): Props[] {
    const candidates = [
      join(__dirname, '..', '..', '..', 'examples', file),
      join(process.cwd(), 'examples', file),
    ];
    const path = candidates.find((p) => existsSync(p))!;
    const nodes = (JSON.parse(readFileSync(path, 'utf8')) as Props[]).filter(
      (n) => n.type !== 'inject' && n.type !== 'comment',
    );
    return [
      { id: 'tab', type: 'tab', label: 'example' },
      ...nodes.map((n) =>
        n.type === 'debug'
          ? { id: n.id, type: 'helper', z: 'tab' }
          : n.type === 'dnc-config'
            ? n
            : { ...n, z: 'tab' },
      ),
    ];
  }

  it('06 SMS reply opt-out: labels the sender and sends the confirmation', async function () {
    const flowNodes = example('06 SMS reply opt-out.json');
    await helper.load([...modules, ...coreNodes], flowNodes);
    await storeReady('a60c0000000000c1');
    const out = nextMessage(helper.getNode('a60c000000000020'));
    const started = Date.now();
    helper
      .getNode('a60c000000000010')
      .receive({ payload: 'Please stop texting me', from: ANA, channel: 'sms' });
    const msg = await out;
    // 47 CFR 64.1200(a)(12): presumed compliant within 5 minutes; the flow sends it once the label is on disk.
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3000, `confirmation after ${elapsed} ms`);
    assert.match(msg.payload, /^Acme: You are unsubscribed/);
    assert.equal(msg.to, ANA);
    const service = helper.getNode('a60c0000000000c1').dnc.service as DncService;
    assert.equal(service.check(ANA, { channel: 'sms', labels: ['DNC_SMS'] }).allowed, false);
    // A second STOP from the same person: no second confirmation (the only message after the opt-out).
    const sms = collect(helper.getNode('a60c000000000020'));
    const again = nextMessage(helper.getNode('a60c000000000022'));
    helper.getNode('a60c000000000010').receive({ payload: 'STOP', from: ANA, channel: 'sms' });
    assert.deepEqual((await again).dnc.added, []);
    assert.deepEqual(sms, []);
  });

  it('07 IVR speech opt-out: classifies the transcript and speaks the confirmation', async function () {
    await helper.load([...modules, ...coreNodes], example('07 IVR speech opt-out.json'));
    await storeReady('a70c0000000000c1');
    const say = nextMessage(helper.getNode('a70c000000000014'));
    helper.getNode('a70c000000000010').receive({
      payload: '+12015550112',
      asr: { alternatives: [{ transcript: 'please stop calling me about your offers' }] },
    });
    const msg = await say;
    assert.match(msg.payload, /^Thank you\./);
    assert.deepEqual(msg.dnc.added, ['DNC_Sales']);
    const menu = nextMessage(helper.getNode('a70c000000000018'));
    helper.getNode('a70c000000000010').receive({
      payload: '+12015550113',
      asr: { alternatives: [{ transcript: 'i need to stop payment on a check' }] },
    });
    assert.equal((await menu).dnc.intent.kind, 'none');
  });

  it('refuses at deploy a rule or node channel that is neither built in nor declared', async function () {
    await helper.load(modules, flow({ rules: [{ topic: '', channel: 'smss', labels: ['DNC_Sales'] }] }));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: 'STOP', channel: 'sms' });
    const error = caughtError(await caught);
    assert.equal(error.code, 'DNC_INVALID_INPUT');
    assert.match(error.message, /rules\[0\]\.channel "smss" is neither built in nor declared/);
    await helper.unload();
    await helper.load(modules, flow({ channel: 'text' }));
    const caught2 = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: 'STOP' });
    assert.equal(caughtError(await caught2).code, 'DNC_INVALID_INPUT');
  });

  it('classifies an opt-out on an unknown msg.channel as arriving on no channel (default labels), with a warning', async function () {
    await helper.load(modules, flow());
    const n1 = helper.getNode('n1');
    const warnings: string[] = [];
    n1.on('call:warn', (call: { args: unknown[] }) => warnings.push(String(call.args[0])));
    const [, msg] = await route({ payload: 'STOP', channel: 'smss' });
    assert.deepEqual(msg.labels, ['DNC_Global'], 'the opt-out is kept, with the default labels');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /"smss" is neither built in nor declared/);
  });
});
