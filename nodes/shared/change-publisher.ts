/**
 * Tells the editors that a configuration's data changed, through Node-RED's comms (the websocket the editor
 * keeps open), so that the DNC sidebar shows changes made anywhere (flows, the API, imports, another
 * instance on PostgreSQL) without polling.
 *
 * What goes out is deliberately no personal data: the configuration, how many changes, which labels and the
 * last seq. Every editor connected to the runtime receives comms messages, whatever its user's permissions;
 * the sidebar then reads what changed through the admin API, which asks for `dnc.read`.
 *
 * Changes are gathered for PUBLISH_MS before one message goes out: an import of a million rows sends a few
 * messages a second, not a million.
 */
import type { NodeAPI } from 'node-red';
import { changeFeed, type ChangeEvent } from '../../lib/events';
import type { DncService } from '../../lib/service';

export const CHANGES_TOPIC = 'dnc/changes';
const PUBLISH_MS = 250;

/** What the editor receives on `dnc/changes`. */
export interface ChangesNotice {
  readonly config: string;
  readonly changes: number;
  readonly labels: readonly string[];
  readonly seq: number;
  readonly at: string;
}

/** Publishes the service's changes for config node `configId`; returns the function that stops it. */
export function publishChanges(
  RED: NodeAPI,
  configId: string,
  service: DncService,
  onError: (err: unknown) => void,
): () => void {
  const comms = (
    RED as unknown as { comms?: { publish(topic: string, data: unknown, retain?: boolean): void } }
  ).comms;
  if (comms === undefined || typeof comms.publish !== 'function') return () => undefined;
  let count = 0;
  const labels = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    const notice: ChangesNotice = {
      config: configId,
      changes: count,
      labels: [...labels].sort(),
      seq: service.storeStatus().seq,
      at: new Date().toISOString(),
    };
    count = 0;
    labels.clear();
    try {
      comms.publish(CHANGES_TOPIC, notice, false);
    } catch (err) {
      onError(err);
    }
  };
  const unsubscribe = changeFeed(service, onError).subscribe((event: ChangeEvent) => {
    count += 1;
    for (const label of event.labels) labels.add(label);
    if (timer === null) {
      timer = setTimeout(flush, PUBLISH_MS);
      timer.unref();
    }
  });
  return () => {
    unsubscribe();
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
}
