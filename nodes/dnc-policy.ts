/**
 * `dnc-policy` ("calling policy"): calling windows in the callee's local time, holidays, frequency
 * caps and cooling-off periods, from a region preset or a custom definition (lib/policy). Check DNC
 * nodes select one. The node compiles the definition at deploy and never throws: an invalid definition
 * is reported with node.error, and every Check DNC using it fails closed with the error's code.
 *
 * Admin routes (registered once per admin app), guarded by the permission dnc-policy.read: GET
 * dnc-policy/presets, the presets for the editor; POST dnc-policy/check and GET dnc-policy/holidays
 * (shared/policy-routes.ts), the dialog's validation, live preview and holiday pickers.
 */
import type { NodeAPI, NodeDef } from 'node-red';
import { PRESETS, createPolicy } from '../lib/policy';
import { definitionFrom } from '../lib/policy-preview';
import { mountPolicyRoutes } from './shared/policy-routes';
import { toCodedError } from './shared/errors';
import type { DncPolicyNode } from './shared/policy-link';

interface DncPolicyDef extends NodeDef {
  preset?: string;
  /** The definition as JSON text (or an object); blank: the preset as shipped. */
  policy?: unknown;
}

/** Admin apps the routes are registered on: once per app, not per node or deploy. */
const mounted = new WeakSet<object>();

export = function (RED: NodeAPI) {
  if (RED.httpAdmin && !mounted.has(RED.httpAdmin)) {
    mounted.add(RED.httpAdmin);
    RED.httpAdmin.get('/dnc-policy/presets', RED.auth.needsPermission('dnc-policy.read'), (_req, res) => {
      res.json(PRESETS);
    });
    mountPolicyRoutes(RED);
  }

  function DncPolicy(this: DncPolicyNode, def: DncPolicyDef) {
    RED.nodes.createNode(this, def);
    this.name = def.name;
    try {
      this.dncPolicy = { policy: createPolicy(definitionFrom(def.policy, def.preset)), error: null };
    } catch (err) {
      const error = toCodedError(err, 'DNC_INVALID_INPUT');
      this.dncPolicy = { policy: null, error };
      this.error(`invalid calling policy: ${error.message}`);
    }
  }

  RED.nodes.registerType('dnc-policy', DncPolicy);
};
