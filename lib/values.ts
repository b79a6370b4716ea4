/**
 * The rules for the values a request carries (source, actor, reason, channel, outcome, label names,
 * times...), written once as JSON Schema fragments. The validators below interpret these fragments, and
 * the OpenAPI document (lib/api/openapi.ts) embeds the very same objects, so what the document allows is
 * what the service accepts, both ways. Every caller goes through them: the HTTP API, the nodes (through
 * DncService) and import rows.
 *
 * Only the subset of JSON Schema used here is interpreted: type (with 'null'), pattern, minLength,
 * maxLength, enum, minimum, maximum, minItems, maxItems, items, oneOf (first fitting branch) and
 * format date-time (lib/time parseInstant). Lengths count UTF-16 code units in the validator and code
 * points in JSON Schema; the patterns that bound a length use ASCII classes, and free text limits are
 * checked on code points here too, so both agree.
 */
import { DncError } from './errors';
import { INSTANT_PATTERN, parseInstant } from './time';

export interface ValueRule {
  readonly type?: string | readonly string[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly items?: ValueRule;
  readonly properties?: Readonly<Record<string, ValueRule>>;
  readonly additionalProperties?: false;
  readonly oneOf?: readonly ValueRule[];
  readonly format?: 'date-time';
  readonly description?: string;
  readonly default?: unknown;
  readonly examples?: readonly unknown[];
}

const LABEL_NAME = '[A-Za-z0-9_-]{1,64}';

/** The value rules, by the field they govern. The OpenAPI document embeds these objects as they are. */
export const RULES = {
  /** Where a change comes from; empty or null means the caller's default (api, import, ivr...). */
  source: {
    type: ['string', 'null'],
    pattern: '^(?:[A-Za-z0-9_.:-]{1,32})?$',
    description: 'Where the change comes from: api, agent, crm, keyword... (letters, digits, _ . : -).',
  },
  actor: { type: ['string', 'null'], maxLength: 200, description: 'Who acted, as the caller says.' },
  reason: { type: ['string', 'null'], maxLength: 1000 },
  campaign: { type: ['string', 'null'], maxLength: 200 },
  /**
   * A channel name, case- and space-insensitive (` SMS ` is `sms`); empty or null means none. Whether
   * the name is a channel this configuration knows is decided by the label catalog, not by this rule.
   */
  channel: {
    type: ['string', 'null'],
    pattern: '^(?:\\s*[A-Za-z0-9][A-Za-z0-9_-]{0,31}\\s*)?$',
    description: 'voice, sms, whatsapp, email or a custom channel (case and surrounding spaces ignored).',
  },
  outcome: {
    type: 'string',
    pattern: '^[a-z][a-z0-9_-]{0,31}$',
    examples: ['conversation', 'refusal', 'optout'],
  },
  /** An RFC 3339 date-time with an offset, a real calendar date, year 1970..9999. */
  instant: { type: 'string', format: 'date-time', pattern: INSTANT_PATTERN },
  labelName: { type: 'string', pattern: `^${LABEL_NAME}$` },
  /** Label names for a check: a comma-separated list (blank items ignored) or a list; may be empty. */
  labels: {
    description: 'One label name, a comma-separated list, or a list.',
    oneOf: [
      { type: 'string', pattern: `^\\s*(?:${LABEL_NAME}\\s*)?(?:,\\s*(?:${LABEL_NAME}\\s*)?)*$` },
      { type: 'array', maxItems: 1000, items: { type: 'string', pattern: `^\\s*${LABEL_NAME}\\s*$` } },
    ],
  },
  /** Label names for a change: as `labels`, with at least one name. */
  someLabels: {
    description: 'One label name, a comma-separated list, or a list: at least one name.',
    oneOf: [
      {
        type: 'string',
        pattern: `^[\\s,]*${LABEL_NAME}\\s*(?:,\\s*(?:${LABEL_NAME}\\s*)?)*$`,
      },
      {
        type: 'array',
        minItems: 1,
        maxItems: 1000,
        items: { type: 'string', pattern: `^\\s*${LABEL_NAME}\\s*$` },
      },
    ],
  },
  /** A contact as text (phone number, email, id:...): whether it is a valid one is the parser's call. */
  contactText: { type: 'string', minLength: 1, maxLength: 320 },
  /**
   * A contact: text, or an object with several identifiers (null or blank = no value). The shape is
   * checked here (400); whether the values make a contact is the parser's call (DNC_INVALID_CONTACT).
   */
  contact: {
    description: 'A phone number, an email address, id:<external id>, or an object with several.',
    oneOf: [
      { type: 'string', minLength: 1, maxLength: 320 },
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          phone: { type: ['string', 'null'], maxLength: 320 },
          whatsapp: { type: ['string', 'null'], maxLength: 320 },
          email: { type: ['string', 'null'], maxLength: 320 },
          id: { type: ['string', 'number', 'null'], maxLength: 320 },
          country: { type: ['string', 'null'], maxLength: 320 },
          // Where the callee is, for calling policies (ZoneHints in lib/contacts.ts: the first of each
          // group's names that holds text), and when consent was given (the Reassigned Numbers Database).
          timezone: { type: ['string', 'null'], maxLength: 64 },
          timeZone: { type: ['string', 'null'], maxLength: 64 },
          tz: { type: ['string', 'null'], maxLength: 64 },
          region: { type: ['string', 'null'], maxLength: 64 },
          state: { type: ['string', 'null'], maxLength: 64 },
          province: { type: ['string', 'null'], maxLength: 64 },
          postalCode: { type: ['string', 'null'], maxLength: 32 },
          postcode: { type: ['string', 'null'], maxLength: 32 },
          zip: { type: ['string', 'null'], maxLength: 32 },
          consentDate: { type: ['string', 'null'], maxLength: 64 },
        },
      },
    ],
  },
} as const satisfies Record<string, ValueRule>;

/**
 * What a value should look like, said when it breaks a rule's pattern (assertValue's hint): one
 * sentence per field, whoever validates it (the service, import rows).
 */
export const HINTS = {
  source:
    'source must be a short name such as ivr, bot, agent, api, import or keyword (letters, digits, "_", "-", ".", ":")',
  channel:
    'channel must be a channel name: letters, digits, "_" or "-" (voice, sms, whatsapp, email or a custom name)',
  outcome: 'outcome must be a short lower-case word: conversation, refusal, optout, no-answer...',
  someLabels: 'labels must be label names (letters, digits, "_", "-"), separated by commas or in a list',
} as const;

const compiled = new Map<string, RegExp>();
function regex(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (re === undefined) {
    // 'u', as JSON Schema validators compile patterns (ECMA-262 with Unicode).
    re = new RegExp(pattern, 'u');
    compiled.set(pattern, re);
  }
  return re;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeFits(expected: string, actual: string): boolean {
  return expected === actual || (expected === 'number' && actual === 'integer');
}

function describeType(type: string | readonly string[]): string {
  const names = (typeof type === 'string' ? [type] : type).filter((t) => t !== 'null');
  const words: Record<string, string> = {
    string: 'text',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
    array: 'a list',
    object: 'an object',
  };
  return names.map((n) => words[n] ?? n).join(' or ');
}

/** Why `value` breaks `rule` (a sentence after the field name), or null when it fits. */
export function ruleProblem(rule: ValueRule, value: unknown): string | null {
  if (rule.oneOf !== undefined) {
    const problems = rule.oneOf.map((branch) => ruleProblem(branch, value));
    if (problems.some((p) => p === null)) return null;
    // The branch of the value's own type explains best (text that breaks the pattern, not "a list").
    const actual = typeOf(value);
    const own = rule.oneOf.findIndex(
      (b) => b.type !== undefined && (typeof b.type === 'string' ? [b.type] : b.type).includes(actual),
    );
    return own === -1 ? problems[0] : problems[own];
  }
  if (rule.type !== undefined) {
    const types = typeof rule.type === 'string' ? [rule.type] : rule.type;
    const actual = typeOf(value);
    if (!types.some((t) => typeFits(t, actual))) return `must be ${describeType(rule.type)}`;
  }
  if (rule.enum !== undefined && !rule.enum.includes(value)) {
    return `must be one of ${rule.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (typeof value === 'string') {
    const length = rule.minLength !== undefined || rule.maxLength !== undefined ? [...value].length : 0;
    if (rule.minLength !== undefined && length < rule.minLength) {
      return rule.minLength === 1 ? 'must not be empty' : `must be at least ${rule.minLength} characters`;
    }
    if (rule.maxLength !== undefined && length > rule.maxLength) {
      return `is longer than ${rule.maxLength} characters`;
    }
    if (rule.pattern !== undefined && !regex(rule.pattern).test(value))
      return 'has a form that is not accepted';
    if (rule.format === 'date-time') {
      try {
        parseInstant(value);
      } catch (err) {
        return (err as Error).message.replace(/^at /, '');
      }
    }
  }
  if (typeof value === 'number') {
    if (rule.minimum !== undefined && value < rule.minimum) return `must be at least ${rule.minimum}`;
    if (rule.maximum !== undefined && value > rule.maximum) return `must be at most ${rule.maximum}`;
  }
  if (Array.isArray(value)) {
    if (rule.minItems !== undefined && value.length < rule.minItems) {
      return `needs at least ${rule.minItems} item${rule.minItems === 1 ? '' : 's'}`;
    }
    if (rule.maxItems !== undefined && value.length > rule.maxItems) {
      return `has more than ${rule.maxItems} items`;
    }
    if (rule.items !== undefined) {
      for (let i = 0; i < value.length; i++) {
        const problem = ruleProblem(rule.items, value[i]);
        if (problem !== null) return `item ${i + 1} ${problem}`;
      }
    }
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const sub = rule.properties?.[key];
      if (sub === undefined) {
        if (rule.additionalProperties === false) return `has an unknown field "${key}"`;
        continue;
      }
      const problem = ruleProblem(sub, record[key]);
      if (problem !== null) return `.${key} ${problem}`;
    }
  }
  return null;
}

/**
 * Throws DNC_INVALID_INPUT naming `field` when `value` (not undefined) breaks `rule`. `hint` replaces the generic
 * sentence for a pattern (say what the value should look like).
 */
export function assertValue(
  rule: ValueRule,
  value: unknown,
  field: string,
  hint?: string,
  code: 'DNC_INVALID_INPUT' | 'DNC_INVALID_CONTACT' = 'DNC_INVALID_INPUT',
): void {
  // Absent is not a value: whether a field is required is the caller's rule.
  if (value === undefined) return;
  const problem = ruleProblem(rule, value);
  if (problem === null) return;
  const message =
    hint !== undefined && problem === 'has a form that is not accepted'
      ? hint
      : `${field}${problem.startsWith('.') ? '' : ' '}${problem}`;
  throw new DncError(code, message, { field });
}

/** A contact's shape (RULES.contact); a wrong one is DNC_INVALID_CONTACT, as the parser would say. */
export function assertContactShape(value: unknown, field = 'contact'): void {
  assertValue(RULES.contact, value, field, undefined, 'DNC_INVALID_CONTACT');
}

/** Free text under `rule` (actor, reason, campaign): trimmed, blank or null is null. */
export function textValue(rule: ValueRule, value: unknown, field: string): string | null {
  if (value === undefined) return null;
  assertValue(rule, value, field);
  if (value === null) return null;
  const text = (value as string).trim();
  return text === '' ? null : text;
}
