/**
 * `dnc-record-attempt` ("record attempt"): records a contact attempt, or an outcome (conversation,
 * refusal, optout...) made elsewhere, e.g. a dialer's call result arriving in a flow, so the calling
 * policy's frequency caps and cooling-off periods count it. Sends the msg on, with `msg.dnc.attempt` =
 * the record, once it is on disk.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { AttemptRecord } from '../lib/store/types';
import { linkConfig } from './shared/config';
import { type CodedError } from './shared/errors';
import { handleInput, type Send, setupFailed, startNode } from './shared/lifecycle';
import { blank, flowText, prepareContact, type PreparedProperty } from './shared/inputs';
import { ownedFields, putResult } from './shared/result';

interface RecordAttemptDef extends NodeDef {
  config?: string;
  contact?: string;
  contactType?: string;
  outcome?: string;
  channel?: string;
  campaign?: string;
}

/** The node's own text, trimmed; blank (or missing) means "take it from the msg". */
function fixed(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

/** The one field of msg.dnc record attempt owns (shared/result.ts). */
const OWNED = ownedFields(['attempt']);

export = function (RED: NodeAPI) {
  function RecordAttemptNode(this: Node, def: RecordAttemptDef) {
    const { node, status } = startNode(RED, this, def, 'dnc-record-attempt');
    const link = linkConfig(RED, node, def.config, status);
    const service = link.service;
    const fixedOutcome = fixed(def.outcome);
    const fixedChannel = fixed(def.channel);
    const fixedCampaign = fixed(def.campaign);
    let setupError: CodedError | null = link.failure;
    let contactProp: PreparedProperty | null = null;

    if (setupError === null && service !== null) {
      try {
        contactProp = prepareContact(RED, node, def);
        // An attempt on an unknown channel would not count towards that channel's caps: a channel
        // neither built in nor declared is refused at deploy (and from msg.channel, per message).
        if (fixedChannel !== '') service.catalog.channelOf(fixedChannel, 'channel');
      } catch (err) {
        setupError = setupFailed(node, status, err);
      }
    }

    async function handle(msg: NodeMessageInFlow, send: Send): Promise<void> {
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
      putResult(msg, OWNED, { attempt: record });
      if (record.outcome === null) status.ok('status.recorded');
      else status.ok('status.outcomeRecorded', { outcome: record.outcome });
      send(msg);
    }

    handleInput(node, status, handle, { setupError, writes: link.binding, close: () => link.dispose() });
  }

  RED.nodes.registerType('dnc-record-attempt', RecordAttemptNode);
};
