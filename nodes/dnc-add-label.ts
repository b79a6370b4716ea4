/**
 * `dnc-add-label` ("add contact label"): applies labels to a contact and sends the msg on, with
 * `msg.dnc` = the change outcome plus `added` / `alreadyPresent`, once the change is on disk.
 */
import type { NodeAPI } from 'node-red';
import { labelChangeNode } from './shared/label-change';

export = function (RED: NodeAPI) {
  RED.nodes.registerType('dnc-add-label', labelChangeNode(RED, 'dnc-add-label', 'add'));
};
