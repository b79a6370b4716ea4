/**
 * `dnc-record-attempt` ("record attempt"): records a contact attempt, or an outcome (conversation,
 * refusal, optout...) made elsewhere, e.g. a dialer's call result arriving in a flow, so the calling
 * policy's frequency caps and cooling-off periods count it. Sends the msg on, with `msg.dnc.attempt` =
 * the record, once it is on disk.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { AttemptRecord } from '../lib/store/types';
import { linkConfig } from './shared/config';
import { toCodedError, type CodedError } from './shared/errors';
import { translator } from './shared/i18n';
import { flowText, prepareProperty, type PreparedProperty } from './shared/inputs';
import { StatusReporter } from './shared/status';

interface RecordAttemptDef extends NodeDef {
  config?: string;
  contact?: string;
  contactType?: string;
  outcome?: string;
  channel?: string;
  campaign?: string;
}

type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
type Done = (err?: Error) => void;

/** The node's own text, trimmed; blank (or missing) means "take it from the msg". */
function fixed(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

function blank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

export = function (RED: NodeAPI) {
  function RecordAttemptNode(this: Node, def: RecordAttemptDef) {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the handlers below are plain functions
    const node = this;
    const t = translator(RED, 'dnc-record-attempt');
    const status = new StatusReporter(node, t);
    const link = linkConfig(RED, node, def.config, status);
    const service = link.service;
    const fixedOutcome = fixed(def.outcome);
    const fixedChannel = fixed(def.channel);
    const fixedCampaign = fixed(def.campaign);
    let setupError: CodedError | null = link.failure;
    let contactProp: PreparedProperty | null = null;

    if (setupError === null && service !== null) {
      try {
        contactProp = prepareProperty(RED, node, def.contact, def.contactType, 'contact', {
          value: 'payload',
          type: 'msg',
        });
        // An attempt on an unknown channel would not count towards that channel's caps: a channel
        // neither built in nor declared is refused at deploy (and from msg.channel, per message).
        if (fixedChannel !== '') service.catalog.channelOf(fixedChannel, 'channel');
      } catch (err) {
        setupError = toCodedError(err, 'DNC_INVALID_INPUT');
        status.error(setupError.code);
        node.error(setupError.message);
      }
    }

    const pending = new Set<Promise<void>>();

    async function handle(msg: NodeMessageInFlow): Promise<void> {
      const contact = contactProp!.async ? await contactProp!.evaluate(msg) : contactProp!.get(msg);
      const message = msg as NodeMessageInFlow & Record<string, unknown>;
      const outcome = fixedOutcome !== '' ? fixedOutcome : flowText(message.outcome);
      const request = {
        contact,
        outcome: blank(outcome) ? undefined : outcome,
        channel: fixedChannel !== '' ? fixedChannel : message.channel,
        campaign: fixedCampaign !== '' ? fixedCampaign : flowText(message.campaign),
        source: 'flow',
      };
      const record: AttemptRecord =
        request.outcome === undefined
          ? await service!.recordAttempt(request, `node:${node.id}`)
          : await service!.recordOutcome(request, `node:${node.id}`);
      const previous = msg.dnc;
      msg.dnc = {
        ...(previous !== null && typeof previous === 'object' ? previous : {}),
        attempt: record,
      };
      if (record.outcome === null) status.ok('status.recorded');
      else status.ok('status.outcomeRecorded', { outcome: record.outcome });
    }

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (setupError !== null) {
        status.error(setupError.code);
        done(setupError);
        return;
      }
      const work = link.binding!.track(handle(msg)).then(
        () => {
          send(msg);
          done();
        },
        (err: unknown) => {
          const error = toCodedError(err);
          status.error(error.code);
          done(error);
        },
      );
      pending.add(work);
      void work.finally(() => pending.delete(work));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      link.dispose();
      // Let records already on their way to disk finish (and acknowledge) before the store is released.
      void Promise.allSettled([...pending]).then(() => {
        status.clear();
        done();
      });
    });
  }

  RED.nodes.registerType('dnc-record-attempt', RecordAttemptNode);
};
