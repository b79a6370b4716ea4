/**
 * typedInput properties (msg, flow, global, env, jsonata, str), prepared once at deploy.
 * Every type but JSONata is read synchronously, so a node's per-message path stays synchronous; a
 * JSONata expression is compiled once and evaluated through a promise wrapper around
 * RED.util.evaluateJSONataExpression.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import { DncError } from '../../lib/errors';

export const PROPERTY_TYPES = ['msg', 'flow', 'global', 'env', 'jsonata', 'str'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

export interface PreparedProperty {
  /** True for JSONata: use `evaluate`. Otherwise `get` answers synchronously. */
  readonly async: boolean;
  get(msg: NodeMessage): unknown;
  evaluate(msg: NodeMessage): Promise<unknown>;
}

const SIMPLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

type JsonataExpression = ReturnType<NodeAPI['util']['prepareJSONataExpression']>;

/** Promise wrapper around RED.util.evaluateJSONataExpression. */
export function evaluateJsonata(RED: NodeAPI, expr: JsonataExpression, msg: NodeMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    RED.util.evaluateJSONataExpression(expr, msg, (err, value) => {
      if (err) reject(err);
      else resolve(value);
    });
  });
}

function syncProperty(get: (msg: NodeMessage) => unknown): PreparedProperty {
  return {
    async: false,
    get,
    evaluate: (msg) => {
      try {
        return Promise.resolve(get(msg));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
  };
}

/**
 * Prepares a typedInput value. Throws DNC_INVALID_INPUT (naming `field`) for an unknown type, a bad
 * property expression or a JSONata syntax error, so the node can report it at deploy.
 */
export function prepareProperty(
  RED: NodeAPI,
  node: Node,
  value: unknown,
  type: unknown,
  field: string,
  defaults: { value: string; type: PropertyType },
): PreparedProperty {
  const kind = (typeof type === 'string' && type !== '' ? type : defaults.type) as PropertyType;
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : '';
  const expression = text === '' && kind === defaults.type ? defaults.value : text;
  try {
    switch (kind) {
      case 'msg': {
        const path = expression.trim() === '' ? 'payload' : expression.trim();
        if (SIMPLE_KEY.test(path)) return syncProperty((msg) => msg[path]);
        RED.util.normalisePropertyExpression(path);
        return syncProperty((msg) => RED.util.getMessageProperty(msg, path) as unknown);
      }
      case 'flow':
      case 'global':
        return syncProperty((msg) => RED.util.evaluateNodeProperty(expression, kind, node, msg) as unknown);
      case 'env': {
        const resolved = RED.util.evaluateNodeProperty(expression, 'env', node, {}) as unknown;
        return syncProperty(() => resolved);
      }
      case 'str':
        return syncProperty(() => expression);
      case 'jsonata': {
        const expr = RED.util.prepareJSONataExpression(expression, node);
        return {
          async: true,
          get: () => {
            throw new DncError(
              'DNC_INVALID_INPUT',
              `${field} is a JSONata expression and must be evaluated asynchronously`,
              {
                field,
              },
            );
          },
          evaluate: (msg) =>
            evaluateJsonata(RED, expr, msg).catch((err: unknown) => {
              throw new DncError(
                'DNC_INVALID_INPUT',
                `${field}: the JSONata expression failed: ${err instanceof Error ? err.message : String(err)}`,
                { field, cause: err },
              );
            }),
        };
      }
      default:
        throw new DncError('DNC_INVALID_INPUT', `${field}: unsupported input type "${String(kind)}"`, {
          field,
        });
    }
  } catch (err) {
    if (err instanceof DncError) throw err;
    throw new DncError('DNC_INVALID_INPUT', `${field}: ${err instanceof Error ? err.message : String(err)}`, {
      field,
      cause: err,
    });
  }
}

/** The node's Contact typedInput (`contact`, `contactType`); blank: msg.payload. */
export function prepareContact(
  RED: NodeAPI,
  node: Node,
  def: { readonly contact?: unknown; readonly contactType?: unknown },
): PreparedProperty {
  return prepareProperty(RED, node, def.contact, def.contactType, 'contact', {
    value: 'payload',
    type: 'msg',
  });
}

/** Evaluates several prepared properties: synchronously when none needs JSONata. */
export function anyAsync(...props: readonly PreparedProperty[]): boolean {
  return props.some((p) => p.async);
}

/** A msg property left blank (absent, null or empty text): the node takes its own setting or none. */
export function blank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/**
 * A text field read from a flow (actor, reason, campaign, source, outcome), as 0.1.0 took it: a finite
 * number becomes its decimal text and text is trimmed. Flows carry ids as numbers (`msg.agentId`, a CRM's
 * campaign id, JSONata arithmetic) and text with stray spaces or a final newline (an SMS body, an ASR
 * transcript); an opt-out or an attempt must not be refused for that. The service and the HTTP API stay
 * strict about types and forms (their document says what they take).
 */
export function flowText(value: unknown): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' ? value.trim() : value;
}

/** Label names read from a flow (msg.labels): blank items of a list are skipped, as 0.1.0 did. */
export function flowLabels(value: unknown): unknown {
  return Array.isArray(value)
    ? value.filter((item: unknown) => !(typeof item === 'string' && item.trim() === ''))
    : value;
}
