/**
 * The runtime of `dnc-add-label` and `dnc-remove-label`: one adapter, two operations. It evaluates the
 * node's typedInputs, calls DncService.addLabels / removeLabels and sends the msg on only once the
 * change is durable; a list of contacts is applied item by item, in order.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { changeView } from '../../lib/contact-view';
import type { LabelChangeOutcome, LabelChangeRequest } from '../../lib/service';
import { linkConfig } from './config';
import { codedError, toCodedError, type CodedError } from './errors';
import { handleInput, type Send, setupFailed, startNode } from './lifecycle';
import { flowLabels, flowText, prepareContact, prepareProperty, type PreparedProperty } from './inputs';
import { keysOf, ownedFields, putResult } from './result';

export interface LabelChangeDef extends NodeDef {
  config?: string;
  labels?: unknown;
  contact?: string;
  contactType?: string;
  source?: string;
  reason?: string;
  reasonType?: string;
  actor?: string;
  actorType?: string;
  removeAll?: boolean;
}

export type LabelChangeKind = 'add' | 'remove';

/** What a failed item of a list looks like in msg.dnc.failed. */
export interface FailedItem {
  readonly item: unknown;
  readonly error: { readonly code: string; readonly message: string };
}

/** The node's own label names (an array, or a comma-separated string typed in an old flow). */
export function labelNames(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  const names: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string') continue;
    const name = item.trim();
    if (name !== '' && !names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * The fields of msg.dnc a label change owns, add or remove (shared/result.ts): the change outcome as
 * changeView renders it, and a list's results. Both nodes own the same fields: one change's result replaces
 * another's.
 */
const OWNED = ownedFields(
  keysOf<LabelChangeOutcome>({
    contact: true,
    keys: true,
    labels: true,
    changed: true,
    unchanged: true,
    queued: true,
    seq: true,
    at: true,
    source: true,
    actor: true,
    principal: true,
    reason: true,
    record: true,
  }),
  ['added', 'alreadyPresent', 'removed', 'notPresent'],
  ['results', 'failed', 'summary'],
);

/** Item-level problems in a list are reported per item; store problems stop the list. */
function isItemError(err: CodedError): boolean {
  return err.code === 'DNC_INVALID_CONTACT' || err.code === 'DNC_INVALID_INPUT';
}

export function labelChangeNode(RED: NodeAPI, type: string, kind: LabelChangeKind) {
  return function LabelChangeNode(this: Node, def: LabelChangeDef) {
    const { node, status } = startNode(RED, this, def, type);
    const link = linkConfig(RED, node, def.config, status);
    const service = link.service;
    const removeAll = kind === 'remove' && def.removeAll === true;
    const fixedSource = def.source === undefined || def.source === null ? 'ivr' : String(def.source).trim();
    let setupError: CodedError | null = link.failure;
    let labels: string[] = [];
    let contactProp: PreparedProperty | null = null;
    let reasonProp: PreparedProperty | null = null;
    let actorProp: PreparedProperty | null = null;

    if (setupError === null && service !== null) {
      try {
        contactProp = prepareContact(RED, node, def);
        reasonProp = prepareProperty(RED, node, def.reason, def.reasonType, 'reason', {
          value: '',
          type: 'str',
        });
        actorProp = prepareProperty(RED, node, def.actor, def.actorType, 'actor', { value: '', type: 'str' });
        labels = removeAll ? [] : service.catalog.resolveNames(labelNames(def.labels), 'labels');
      } catch (err) {
        setupError = setupFailed(node, status, err);
      }
    }

    async function requestFor(msg: NodeMessage): Promise<Omit<LabelChangeRequest, 'contact'>> {
      const reason = reasonProp!.async ? await reasonProp!.evaluate(msg) : reasonProp!.get(msg);
      const actor = actorProp!.async ? await actorProp!.evaluate(msg) : actorProp!.get(msg);
      return {
        labels: labels.length > 0 ? labels : flowLabels(msg.labels),
        source:
          fixedSource !== ''
            ? fixedSource
            : msg.source === undefined || msg.source === ''
              ? 'ivr'
              : flowText(msg.source),
        reason: flowText(reason),
        actor: flowText(actor),
        campaign: flowText(msg.campaign),
        channel: msg.channel,
        all: removeAll,
      };
    }

    // The flow is the principal: whatever msg says about who asked (actor, source) is the flow's claim.
    const principal = `node:${node.id}`;
    function apply(request: LabelChangeRequest): Promise<LabelChangeOutcome> {
      return kind === 'add'
        ? service!.addLabels(request, principal)
        : service!.removeLabels(request, principal);
    }

    async function handle(msg: NodeMessageInFlow, send: Send): Promise<void> {
      const contact = contactProp!.async ? await contactProp!.evaluate(msg) : contactProp!.get(msg);
      const base = await requestFor(msg);
      if (!Array.isArray(contact)) {
        const outcome = await apply({ ...base, contact });
        putResult(msg, OWNED, changeView(kind, outcome));
        const count = outcome.changed.length;
        if (count > 0) status.ok(kind === 'add' ? 'status.added' : 'status.removed', { count });
        else status.ok(kind === 'add' ? 'status.alreadyPresent' : 'status.notPresent');
        send(msg);
        return;
      }
      const results: Record<string, unknown>[] = [];
      const failed: FailedItem[] = [];
      let changed = 0;
      for (const item of contact as unknown[]) {
        try {
          const outcome = await apply({ ...base, contact: item });
          if (outcome.changed.length > 0) changed += 1;
          results.push(changeView(kind, outcome));
        } catch (err) {
          const error = toCodedError(err);
          if (!isItemError(error)) {
            throw codedError(
              error.code,
              `${error.message} (after ${results.length} of ${contact.length} contacts were applied)`,
              err,
            );
          }
          failed.push({ item, error: { code: error.code, message: error.message } });
        }
      }
      putResult(msg, OWNED, {
        results,
        failed,
        summary: {
          total: contact.length,
          changed,
          unchanged: results.length - changed,
          failed: failed.length,
        },
      });
      if (failed.length > 0 && results.length === 0) status.error('DNC_INVALID_CONTACT');
      else status.ok(kind === 'add' ? 'status.added' : 'status.removed', { count: changed });
      send(msg);
    }

    handleInput(node, status, handle, { setupError, writes: link.binding, close: () => link.dispose() });
  };
}
