/**
 * `dnc-policy` ("calling policy"): calling windows in the callee's local time, holidays, frequency
 * caps and cooling-off periods, from a region preset or a custom definition (lib/policy). Check DNC
 * nodes select one. The node compiles the definition at deploy and never throws: an invalid definition
 * is reported with node.error, and every Check DNC using it fails closed with the error's code.
 *
 * Admin route (registered once per admin app): GET dnc-policy/presets, the presets for the editor,
 * guarded by the permission dnc-policy.read.
 */
import type { NodeAPI, NodeDef } from 'node-red';
import { DncError } from '../lib/errors';
import { PRESETS, createPolicy, preset, type PolicyDefinition } from '../lib/policy';
import { toCodedError } from './shared/errors';
import type { DncPolicyNode } from './shared/policy-link';

interface DncPolicyDef extends NodeDef {
  preset?: string;
  /** The definition as JSON text (or an object); blank: the preset as shipped. */
  policy?: unknown;
}

/** Admin apps the presets route is registered on: once per app, not per node or deploy. */
const mounted = new WeakSet<object>();

function definitionOf(def: DncPolicyDef): PolicyDefinition {
  const text = def.policy;
  if (text !== undefined && text !== null && !(typeof text === 'string' && text.trim() === '')) {
    if (typeof text !== 'string') return text;
    try {
      return JSON.parse(text) as PolicyDefinition;
    } catch (err) {
      throw new DncError('DNC_INVALID_INPUT', `the policy is not valid JSON: ${(err as Error).message}`, {
        field: 'policy',
      });
    }
  }
  const name = typeof def.preset === 'string' ? def.preset : '';
  const found = name === '' ? undefined : preset(name);
  if (found === undefined) {
    throw new DncError(
      'DNC_INVALID_INPUT',
      name === '' ? 'choose a preset or write a policy' : `no preset named "${name}"`,
      { field: 'preset' },
    );
  }
  return found;
}

export = function (RED: NodeAPI) {
  if (RED.httpAdmin && !mounted.has(RED.httpAdmin)) {
    mounted.add(RED.httpAdmin);
    RED.httpAdmin.get('/dnc-policy/presets', RED.auth.needsPermission('dnc-policy.read'), (_req, res) => {
      res.json(PRESETS);
    });
  }

  function DncPolicy(this: DncPolicyNode, def: DncPolicyDef) {
    RED.nodes.createNode(this, def);
    this.name = def.name;
    try {
      this.dncPolicy = { policy: createPolicy(definitionOf(def)), error: null };
    } catch (err) {
      const error = toCodedError(err, 'DNC_INVALID_INPUT');
      this.dncPolicy = { policy: null, error };
      this.error(`invalid calling policy: ${error.message}`);
    }
  }

  RED.nodes.registerType('dnc-policy', DncPolicy);
};
