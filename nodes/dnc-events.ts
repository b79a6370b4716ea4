/**
 * `dnc-events` ("DNC changes"): no input; sends a message for every label change of its configuration,
 * whatever made it (a node, the HTTP API, an import) and when a label expires, so a flow can sync a CRM
 * or send the opt-out confirmation. msg.topic = `dnc/<add|remove|expire>`, msg.payload = the change (its
 * audit record and the contact after it; lib/events.ts).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { changeFeed, type ChangeEvent, type ChangeKind } from '../lib/events';
import { linkConfig } from './shared/config';
import { handleClose, setupFailed, startNode } from './shared/lifecycle';
import { labelNames } from './shared/label-change';

interface EventsDef extends NodeDef {
  config?: string;
  events?: unknown;
  labels?: unknown;
  /** `this` (blank: flows saved before the setting) or `all`: whose changes, on a shared store. */
  instances?: unknown;
}

const KINDS: readonly ChangeKind[] = ['add', 'remove', 'expire'];

export = function (RED: NodeAPI) {
  function DncEvents(this: Node, def: EventsDef) {
    const { node, status } = startNode(RED, this, def, 'dnc-events', 'status.listening');
    const link = linkConfig(RED, node, def.config, status);
    let unsubscribe: (() => void) | null = null;

    if (link.service !== null) {
      try {
        const wanted = Array.isArray(def.events)
          ? KINDS.filter((k) => (def.events as unknown[]).includes(k))
          : [...KINDS];
        const labels = new Set(link.service.catalog.resolveNames(labelNames(def.labels), 'labels'));
        const everyInstance = def.instances === 'all';
        const feed = changeFeed(link.service, (err) =>
          node.error(`a change event could not be delivered: ${(err as Error).message ?? String(err)}`),
        );
        unsubscribe = feed.subscribe((event: ChangeEvent) => {
          if (!wanted.includes(event.event)) return;
          if (event.origin === 'remote' && !everyInstance) return;
          if (labels.size > 0 && !event.labels.some((l) => labels.has(l))) return;
          node.send({ topic: `dnc/${event.event}`, payload: event });
          status.ok(`status.${event.event}`, { labels: event.labels.join(', ') });
        });
      } catch (err) {
        setupFailed(node, status, err);
      }
    }

    handleClose(node, status, () => {
      unsubscribe?.();
      unsubscribe = null;
      link.dispose();
    });
  }

  RED.nodes.registerType('dnc-events', DncEvents);
};
