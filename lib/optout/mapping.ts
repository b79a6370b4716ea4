/**
 * What an opt-out means for a flow: which labels it applies. A mapping is a default label list plus
 * ordered rules `{ topic, channel, labels }`:
 * - `channel` (blank = any) is a channel the opt-out is about: the channels the person names ("stop
 *   calling me" = voice, "no more texts" = sms), or, when they name none, the channel the message
 *   arrived on (msg.channel or the node's channel);
 * - `topic` (blank = any) is a built-in topic (`marketing`, `sales`, `surveys`, recognised in every
 *   language) or a comma-separated list of the flow's own words ("warranty, extended warranty").
 * For each channel the opt-out is about, the first rule that matches gives its labels (the default
 * list when none does); the result is the union, in order. So, with rules [topic marketing ->
 * DNC_Sales, channel sms -> DNC_SMS] and default [DNC_Global]: "stop calling me about offers" ->
 * DNC_Sales, STOP by SMS -> DNC_SMS, "stop" in an IVR -> DNC_Global, "stop texting and calling me"
 * by SMS -> DNC_SMS + DNC_Global.
 */
import { DncError } from '../errors';
import { LABEL_NAME_PATTERN, normaliseChannel } from '../labels';
import { TOPICS } from './classifier';
import { phraseTokens } from './normalise';

export interface LabelRuleInput {
  readonly topic?: unknown;
  readonly channel?: unknown;
  readonly labels?: unknown;
}

export interface LabelMappingInput {
  readonly defaultLabels?: unknown;
  readonly rules?: unknown;
}

/** Validates label names (e.g. against a dnc-config's catalog); throws a DncError naming the field. */
export type LabelValidator = (names: string[], field: string) => string[];

interface CompiledRule {
  readonly topic: string | null;
  readonly words: readonly string[] | null;
  readonly channel: string | null;
  readonly labels: readonly string[];
}

export interface MappingInput {
  readonly topics: readonly string[];
  readonly channels: readonly string[];
  /** The message's normalised words, space-separated. */
  readonly words: string;
}

function names(value: unknown, field: string): string[] {
  const list = Array.isArray(value)
    ? value
    : typeof value === 'string'
      ? value.split(',')
      : value == null
        ? []
        : null;
  if (list === null)
    throw new DncError('DNC_INVALID_INPUT', `${field} must be a list of label names`, { field });
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string')
      throw new DncError('DNC_INVALID_INPUT', `${field} must contain label names (text)`, { field });
    const name = item.trim();
    if (name === '') continue;
    if (!LABEL_NAME_PATTERN.test(name)) {
      throw new DncError(
        'DNC_INVALID_LABEL',
        `${field}: "${name}" is not a valid label name: use 1 to 64 letters, digits, "_" or "-"`,
        { field },
      );
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

export class LabelMapping {
  readonly defaultLabels: readonly string[];
  private readonly rules: readonly CompiledRule[];

  constructor(input: LabelMappingInput = {}, validate?: LabelValidator) {
    const check = (list: string[], field: string) => (validate ? validate(list, field) : list);
    this.defaultLabels = check(names(input.defaultLabels, 'defaultLabels'), 'defaultLabels');
    const rulesRaw = input.rules ?? [];
    if (!Array.isArray(rulesRaw))
      throw new DncError('DNC_INVALID_INPUT', 'rules must be a list', { field: 'rules' });
    this.rules = rulesRaw.map((raw: unknown, i): CompiledRule => {
      const field = `rules[${i}]`;
      if (raw === null || typeof raw !== 'object')
        throw new DncError('DNC_INVALID_INPUT', `${field} must be an object`, { field });
      const rule = raw as LabelRuleInput;
      const topicText = typeof rule.topic === 'string' ? rule.topic.trim() : '';
      const channelText = typeof rule.channel === 'string' ? rule.channel.trim() : '';
      const labels = check(names(rule.labels, `${field}.labels`), `${field}.labels`);
      if (labels.length === 0)
        throw new DncError('DNC_INVALID_INPUT', `${field} has no labels`, { field: `${field}.labels` });
      const builtIn = (TOPICS as readonly string[]).includes(topicText.toLowerCase());
      const words =
        topicText === '' || builtIn
          ? null
          : topicText
              .split(',')
              .map((w) => phraseTokens(w).join(' '))
              .filter((w) => w !== '');
      return {
        topic: builtIn ? topicText.toLowerCase() : null,
        words: words !== null && words.length > 0 ? words : null,
        channel: channelText === '' ? null : normaliseChannel(channelText, `${field}.channel`),
        labels,
      };
    });
  }

  get ruleCount(): number {
    return this.rules.length;
  }

  /** Every label name the mapping can apply. */
  get allLabels(): string[] {
    return [...new Set([...this.defaultLabels, ...this.rules.flatMap((r) => r.labels)])];
  }

  /** The labels for an opt-out (or an opt-in: the labels it lifts) arriving on `arrival`. */
  labelsFor(intent: MappingInput, arrival: string | null): string[] {
    const concerned =
      intent.channels.length > 0 ? intent.channels : arrival !== null && arrival !== '' ? [arrival] : [null];
    const padded = ` ${intent.words} `;
    const out: string[] = [];
    for (const channel of concerned) {
      const rule = this.rules.find(
        (r) =>
          (r.channel === null || r.channel === channel) &&
          (r.topic === null || intent.topics.includes(r.topic)) &&
          (r.words === null || r.words.some((w) => padded.includes(` ${w} `))),
      );
      for (const label of rule ? rule.labels : this.defaultLabels) if (!out.includes(label)) out.push(label);
    }
    return out;
  }
}
