/**
 * The link between Check DNC and a `dnc-policy` config node: the compiled calling policy, or the
 * error that makes every check of that node fail closed.
 */
import type { Node, NodeAPI } from 'node-red';
import type { CheckPolicy } from '../../lib/policy';
import { codedError, type CodedError } from './errors';

export interface PolicyBinding {
  readonly policy: CheckPolicy | null;
  readonly error: CodedError | null;
}

export interface DncPolicyNode extends Node {
  dncPolicy?: PolicyBinding;
}

/** No id: no policy (null). An id whose node is missing or invalid: the error (checks fail closed). */
export function linkPolicy(RED: NodeAPI, policyId: unknown): PolicyBinding | null {
  if (typeof policyId !== 'string' || policyId === '' || policyId === '_ADD_') return null;
  const node = RED.nodes.getNode(policyId) as DncPolicyNode | null;
  if (node === null || node.dncPolicy === undefined) {
    return {
      policy: null,
      error: codedError(
        'DNC_NOT_CONFIGURED',
        'the calling policy this node names is missing: open the node and select a calling policy, or none',
      ),
    };
  }
  return node.dncPolicy;
}
