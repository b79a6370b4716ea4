/**
 * `dnc-remove-label` ("remove label"): removes the named labels (or every label) from a contact,
 * audited with source, reason and actor; `msg.dnc` = the change outcome plus `removed` / `notPresent`.
 */
import type { NodeAPI } from 'node-red';
import { labelChangeNode } from './shared/label-change';

export = function (RED: NodeAPI) {
  RED.nodes.registerType('dnc-remove-label', labelChangeNode(RED, 'dnc-remove-label', 'remove'));
};
