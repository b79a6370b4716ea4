/**
 * `dnc-opt-out` ("detect opt-out"): classifies a reply, chat line or speech transcript and sends the
 * msg to one of four outputs: 1 opt-out, 2 opt-in, 3 help, 4 none. It sets `msg.dnc.intent` =
 * `{ kind, matched, language, confidence, labels, rule, topics, channels, ignored }` (merged into an
 * existing msg.dnc object, whose other properties are kept), `msg.dnc.confirmation` on an opt-out, and
 * `msg.labels` when the intent maps to labels, so a following Add Contact Label (or Remove Contact
 * Label, for opt-in) with an empty label list applies them. The rest of the msg is left alone.
 *
 * The `dnc-config` is optional: when one is selected, the mapping's label names are checked against
 * its labels at deploy (DNC_UNKNOWN_LABEL); the node never touches the store.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { DncError } from '../lib/errors';
import { normaliseChannel, type LabelCatalog } from '../lib/labels';
import { OptOutDetector, type IntentKind } from '../lib/optout';
import type { DncConfigNode } from './shared/config';
import { type CodedError } from './shared/errors';
import { handleInput, type Send, setupFailed, startNode } from './shared/lifecycle';
import { prepareProperty, type PreparedProperty } from './shared/inputs';
import { ownedFields, putResult } from './shared/result';

interface DncOptOutDef extends NodeDef {
  config?: string;
  text?: string;
  textType?: string;
  channel?: string;
  language?: string;
  defaultLabels?: unknown;
  rules?: unknown;
  /** Complaint forms ("why do you keep calling me") count as opt-outs: off unless set. */
  complaintsAsOptOut?: boolean;
  sender?: string;
  confirmation?: string;
}

const OUTPUT: Record<IntentKind, number> = { 'opt-out': 0, 'opt-in': 1, help: 2, none: 3 };
const MAX_TEXT_LENGTH = 10_000;
/** The fields of msg.dnc detect opt-out owns (shared/result.ts); `confirmation` only on an opt-out. */
const OWNED = ownedFields(['intent', 'confirmation']);

function catalogOf(RED: NodeAPI, configId: unknown): LabelCatalog | null {
  if (typeof configId !== 'string' || configId === '') return null;
  const configNode = RED.nodes.getNode(configId) as DncConfigNode | null;
  return configNode?.dnc?.service?.catalog ?? null;
}

/** The text to classify: a string (a number or a Buffer is read as text); anything else is an error. */
function textOf(value: unknown): string {
  if (typeof value === 'string')
    return value.length > MAX_TEXT_LENGTH ? value.slice(0, MAX_TEXT_LENGTH) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8', 0, Math.min(value.length, MAX_TEXT_LENGTH));
  throw new DncError(
    'DNC_INVALID_INPUT',
    value === undefined || value === null
      ? 'no text to classify: the Text property is empty'
      : `the text to classify must be a string, not ${Array.isArray(value) ? 'an array' : typeof value}`,
    { field: 'text' },
  );
}

export = function (RED: NodeAPI) {
  function DncOptOut(this: Node, def: DncOptOutDef) {
    const { node, t, status } = startNode(RED, this, def, 'dnc-opt-out');
    let setupError: CodedError | null = null;
    let textProp: PreparedProperty | null = null;
    let detector: OptOutDetector | null = null;
    let nodeChannel: string | null = null;
    const catalog = catalogOf(RED, def.config);
    // Without a DNC labels configuration there is no list of declared channels to hold a name against:
    // any well-formed name is taken (detection writes nothing and checks nothing; a channel only picks
    // the rule that maps an opt-out to labels), so a node without one never stops detecting opt-outs.
    const known: readonly string[] | null = catalog?.channels ?? null;
    /** A channel of the node's configuration: built in or declared, else DNC_INVALID_INPUT naming it. */
    const configuredChannel = (value: string, field: string): string => {
      const channel = normaliseChannel(value, field);
      if (known !== null && !known.includes(channel)) {
        throw new DncError(
          'DNC_INVALID_INPUT',
          `${field} "${channel}" is neither built in nor declared in the DNC labels configuration (known channels: ${known.join(', ')})`,
          { field },
        );
      }
      return channel;
    };
    const warned = new Set<string>();

    try {
      textProp = prepareProperty(RED, node, def.text, def.textType, 'text', {
        value: 'payload',
        type: 'msg',
      });
      const channel = typeof def.channel === 'string' ? def.channel.trim() : '';
      nodeChannel = channel === '' ? null : configuredChannel(channel, 'channel');
      // A rule on a misspelt channel would never apply: refused at deploy like the node's own channel.
      if (Array.isArray(def.rules)) {
        def.rules.forEach((rule: unknown, i) => {
          const ruleChannel = (rule as { channel?: unknown } | null)?.channel;
          if (typeof ruleChannel === 'string' && ruleChannel.trim() !== '') {
            configuredChannel(ruleChannel, `rules[${i}].channel`);
          }
        });
      }
      detector = new OptOutDetector({
        fallbackLanguage: typeof def.language === 'string' && def.language !== '' ? def.language : 'en',
        complaintsAsOptOut: def.complaintsAsOptOut === true,
        mapping: { defaultLabels: def.defaultLabels, rules: def.rules },
        validateLabels: catalog === null ? undefined : (names, field) => catalog.resolveNames(names, field),
        sender: typeof def.sender === 'string' ? def.sender : '',
        confirmationTemplate: typeof def.confirmation === 'string' ? def.confirmation : '',
      });
    } catch (err) {
      setupError = setupFailed(node, status, err);
    }

    /**
     * The channel the message arrived on. An unknown msg.channel is taken as no channel (the default
     * labels apply) with a warning: an opt-out is never dropped for the name of its channel.
     */
    function channelFor(msg: NodeMessage): string | null {
      if (nodeChannel !== null) return nodeChannel;
      const raw = msg.channel;
      if (typeof raw !== 'string' || raw.trim() === '') return null;
      const channel = raw.trim().toLowerCase();
      if (known === null || known.includes(channel)) return channel;
      if (!warned.has(channel) && warned.size < 64) {
        warned.add(channel);
        node.warn(t('warning.unknownChannel', { channel, known: known.join(', ') }));
      }
      return null;
    }

    function run(msg: NodeMessageInFlow, value: unknown, send: Send): void {
      const { intent, confirmation } = detector!.detect(textOf(value), { channel: channelFor(msg) });
      putResult(msg, OWNED, confirmation !== null ? { intent, confirmation } : { intent });
      if (intent.labels.length > 0) msg.labels = intent.labels;
      if (intent.kind === 'opt-out') status.blocked('status.optOut', { matched: intent.matched ?? '' });
      else status.ok(`status.${intent.kind === 'opt-in' ? 'optIn' : intent.kind}`);
      const outputs: Array<NodeMessage | null> = [null, null, null, null];
      outputs[OUTPUT[intent.kind]] = msg;
      send(outputs);
    }

    handleInput(
      node,
      status,
      (msg, send) =>
        textProp!.async
          ? textProp!.evaluate(msg).then((value) => run(msg, value, send))
          : run(msg, textProp!.get(msg), send),
      { setupError, fallback: 'DNC_INVALID_INPUT' },
    );
  }

  RED.nodes.registerType('dnc-opt-out', DncOptOut);
};
