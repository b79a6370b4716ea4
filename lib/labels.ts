/**
 * Label definitions: what a label is called, which channels it covers, whether every check enforces it,
 * and how long it lasts once applied. The catalog validates a list of definitions once and then answers
 * the questions a check and a write ask, without re-validating.
 */
import { DncError } from './errors';

export interface LabelDefinition {
  /** Letters, digits, `_` and `-`: `DNC_Sales`. Unique (case-insensitively, so `dnc_sales` cannot shadow it). */
  readonly name: string;
  readonly description?: string;
  /** Channels the label blocks; empty or absent = every channel. */
  readonly channels?: readonly string[];
  /** Enforced by every check, whatever labels the check selects (for `DNC_Global`). */
  readonly global?: boolean;
  /** Days until an applied label expires; absent, null or 0 = never. */
  readonly expiresAfterDays?: number | null;
}

/**
 * The channels the package knows by name. Any other channel must be declared in the label
 * configuration (`channels`, the custom channels): a name that is neither (a typo such as `smss`, or a
 * synonym such as `text` or `call`) is unknown, and a check on an unknown channel is blocked
 * (UNKNOWN_CHANNEL), because a label scoped to `sms` cannot be shown not to apply to it.
 */
export const KNOWN_CHANNELS = ['voice', 'sms', 'whatsapp', 'email'] as const;

export const LABEL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const DAY_MS = 86_400_000;
/** Expiry longer than 100 years is a typo, not a policy. */
const MAX_EXPIRY_DAYS = 36_500;

/** A validated definition, with the channel set ready for the check's hot path. */
export interface CompiledLabel {
  readonly name: string;
  readonly description: string;
  readonly channels: readonly string[];
  /** null: every channel. */
  readonly channelSet: ReadonlySet<string> | null;
  readonly global: boolean;
  readonly expiresAfterDays: number | null;
}

/** Lower-cases and validates a channel name; throws DNC_INVALID_INPUT naming `field`. */
export function normaliseChannel(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new DncError(
      'DNC_INVALID_INPUT',
      `${field} must be a channel name (voice, sms, whatsapp, email or a custom name)`,
      {
        field,
      },
    );
  }
  const channel = value.trim().toLowerCase();
  if (!CHANNEL_PATTERN.test(channel)) {
    throw new DncError(
      'DNC_INVALID_INPUT',
      `${field} "${value}" is not a channel name: use letters, digits, "_" or "-" (voice, sms, whatsapp, email or a custom name)`,
      { field },
    );
  }
  return channel;
}

/**
 * The custom channels a label configuration declares: a list of names (or one comma-separated text,
 * as typed in the editor); absent or blank = none. Throws DNC_INVALID_INPUT naming `channels[i]`.
 * Built-in names are accepted and dropped (declaring `sms` changes nothing).
 */
export function customChannelsOf(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  const list: unknown[] | null =
    typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : null;
  if (list === null) {
    throw new DncError('DNC_INVALID_INPUT', 'channels must be a list of custom channel names', {
      field: 'channels',
    });
  }
  const out: string[] = [];
  list.forEach((item, i) => {
    if (typeof item === 'string' && item.trim() === '') return;
    const channel = normaliseChannel(item, `channels[${i}]`);
    if (!(KNOWN_CHANNELS as readonly string[]).includes(channel) && !out.includes(channel)) out.push(channel);
  });
  return out;
}

/** `voice, sms, whatsapp, email` plus the declared ones, for messages. */
function channelHint(custom: readonly string[]): string {
  return custom.length === 0
    ? `the built-in channels are ${KNOWN_CHANNELS.join(', ')}; declare any other channel in the DNC labels configuration's custom channels`
    : `the known channels are ${KNOWN_CHANNELS.join(', ')} and the declared ${custom.join(', ')}`;
}

function validateDefinition(
  raw: unknown,
  index: number,
  known: ReadonlySet<string>,
  custom: readonly string[],
): CompiledLabel {
  const field = `labels[${index}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DncError('DNC_INVALID_LABEL', `${field} must be an object with a name`, { field });
  }
  const def = raw as Record<string, unknown>;
  const name = def.name;
  if (typeof name !== 'string' || !LABEL_NAME_PATTERN.test(name)) {
    throw new DncError(
      'DNC_INVALID_LABEL',
      `${field}.name ${JSON.stringify(name)} is not a valid label name: use 1 to 64 letters, digits, "_" or "-" (for example DNC_Sales)`,
      { field: `${field}.name` },
    );
  }
  const description = def.description ?? '';
  if (typeof description !== 'string') {
    throw new DncError('DNC_INVALID_LABEL', `label ${name}: description must be text`, {
      field: `${field}.description`,
    });
  }
  const channelsRaw = def.channels ?? [];
  if (!Array.isArray(channelsRaw)) {
    throw new DncError('DNC_INVALID_LABEL', `label ${name}: channels must be a list of channel names`, {
      field: `${field}.channels`,
    });
  }
  const channels: string[] = [];
  channelsRaw.forEach((raw, i) => {
    const channelField = `${field}.channels[${i}]`;
    let channel: string;
    try {
      channel = normaliseChannel(raw, channelField);
    } catch (err) {
      const e = err as DncError;
      throw new DncError('DNC_INVALID_LABEL', `label ${name}: ${e.message}`, { field: e.field });
    }
    // A scope naming an undeclared channel (a typo: `smss`) would block nothing real: refuse it. A
    // 0.1.0 configuration with custom channels in its scopes lands here with this message, never silently.
    if (!known.has(channel)) {
      throw new DncError(
        'DNC_INVALID_LABEL',
        `label ${name}: channel "${channel}" is not declared: add it to the custom channels of this DNC labels configuration, or correct it (${channelHint(custom)})`,
        { field: channelField },
      );
    }
    if (!channels.includes(channel)) channels.push(channel);
  });
  const global = def.global ?? false;
  if (typeof global !== 'boolean') {
    throw new DncError('DNC_INVALID_LABEL', `label ${name}: global must be true or false`, {
      field: `${field}.global`,
    });
  }
  let expiresAfterDays: number | null = null;
  const expiry = def.expiresAfterDays;
  if (expiry !== undefined && expiry !== null && expiry !== '' && expiry !== 0) {
    const days = typeof expiry === 'string' ? Number(expiry) : expiry;
    if (typeof days !== 'number' || !Number.isFinite(days) || days <= 0 || days > MAX_EXPIRY_DAYS) {
      throw new DncError(
        'DNC_INVALID_LABEL',
        `label ${name}: expiresAfterDays must be a number of days from 1 to ${MAX_EXPIRY_DAYS}, or empty for never`,
        { field: `${field}.expiresAfterDays` },
      );
    }
    expiresAfterDays = days;
  }
  return {
    name,
    description,
    channels,
    channelSet: channels.length === 0 ? null : new Set(channels),
    global,
    expiresAfterDays,
  };
}

export class LabelCatalog {
  private readonly byName = new Map<string, CompiledLabel>();
  /** Names of the global labels, enforced by every check. */
  readonly globalNames: readonly string[];
  readonly names: readonly string[];
  /** The declared custom channels (normalised, built-in names dropped). */
  readonly customChannels: readonly string[];
  /** Every channel a check, an attempt or a scope may name: the built-in ones and the declared ones. */
  readonly channels: readonly string[];
  private readonly knownChannels: ReadonlySet<string>;

  /**
   * Validates the custom channels (DNC_INVALID_INPUT) and every definition (DNC_INVALID_LABEL for a bad
   * or duplicate one, or a scope naming a channel that is neither built in nor declared).
   */
  constructor(definitions: readonly unknown[], customChannels: unknown = []) {
    this.customChannels = customChannelsOf(customChannels);
    this.channels = [...KNOWN_CHANNELS, ...this.customChannels];
    this.knownChannels = new Set(this.channels);
    if (!Array.isArray(definitions)) {
      throw new DncError('DNC_INVALID_LABEL', 'labels must be a list of label definitions', {
        field: 'labels',
      });
    }
    const seen = new Map<string, string>();
    definitions.forEach((raw, index) => {
      const label = validateDefinition(raw, index, this.knownChannels, this.customChannels);
      const folded = label.name.toLowerCase();
      const clash = seen.get(folded);
      if (clash !== undefined) {
        throw new DncError(
          'DNC_INVALID_LABEL',
          clash === label.name
            ? `label ${label.name} is defined twice`
            : `label ${label.name} differs from label ${clash} only in case; label names must be unique`,
          { field: `labels[${index}].name` },
        );
      }
      seen.set(folded, label.name);
      this.byName.set(label.name, label);
    });
    this.names = [...this.byName.keys()];
    this.globalNames = [...this.byName.values()].filter((l) => l.global).map((l) => l.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Is this normalised channel name built in or declared? */
  isChannel(channel: string): boolean {
    return this.knownChannels.has(channel);
  }

  /**
   * Normalises a channel (case and surrounding spaces ignored) and requires it to be built in or
   * declared; throws DNC_INVALID_INPUT naming `field` otherwise. For writes and configuration: a check
   * on an unknown channel is a blocked decision instead (DncDecider.plan).
   */
  channelOf(value: unknown, field = 'channel'): string {
    const channel = normaliseChannel(value, field);
    if (!this.knownChannels.has(channel)) {
      throw new DncError(
        'DNC_INVALID_INPUT',
        `${field} "${channel}" is not a known channel: ${channelHint(this.customChannels)}`,
        { field },
      );
    }
    return channel;
  }

  /** The definition, or undefined for a name the configuration does not (or no longer) define. */
  find(name: string): CompiledLabel | undefined {
    return this.byName.get(name);
  }

  /**
   * Validates a list of label names given to a write or a check (node config, msg.labels, an API body).
   * Accepts one name or a list (a comma-separated string too, as typed in the editor); throws
   * DNC_UNKNOWN_LABEL naming every unknown label, DNC_INVALID_INPUT for a wrong type.
   */
  resolveNames(value: unknown, field = 'labels'): string[] {
    let list: unknown[];
    if (typeof value === 'string') list = value.split(',');
    else if (Array.isArray(value)) list = value;
    else {
      throw new DncError('DNC_INVALID_INPUT', `${field} must be a label name or a list of label names`, {
        field,
      });
    }
    const names: string[] = [];
    const unknown: string[] = [];
    for (const item of list) {
      if (typeof item !== 'string') {
        throw new DncError(
          'DNC_INVALID_INPUT',
          `${field} must contain label names (text), not ${typeof item}`,
          {
            field,
          },
        );
      }
      const name = item.trim();
      if (name === '') continue;
      if (!this.byName.has(name)) unknown.push(name);
      else if (!names.includes(name)) names.push(name);
    }
    if (unknown.length > 0) {
      const known =
        this.names.length > 0 ? `; defined labels: ${this.names.join(', ')}` : '; no labels are defined';
      throw new DncError(
        'DNC_UNKNOWN_LABEL',
        `unknown label${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}${known}`,
        { field },
      );
    }
    return names;
  }

  /** When a label applied at `appliedAt` expires (epoch ms), or null for never. */
  expiryFor(name: string, appliedAt: number): number | null {
    const days = this.byName.get(name)?.expiresAfterDays ?? null;
    return days === null ? null : appliedAt + days * DAY_MS;
  }
}

/**
 * The channels label definitions are scoped to that are not built in (well-formed names only): what a
 * configuration saved by 0.1.0 (no channel list) declares, so that its flows keep working after the
 * upgrade (nodes/dnc-config.ts).
 */
export function channelsOfScopes(labels: readonly unknown[]): string[] {
  const found = new Set<string>();
  for (const label of labels) {
    const scope = (label as { channels?: unknown } | null)?.channels;
    if (!Array.isArray(scope)) continue;
    for (const name of scope) {
      if (typeof name !== 'string') continue;
      const channel = name.trim().toLowerCase();
      if (CHANNEL_PATTERN.test(channel) && !(KNOWN_CHANNELS as readonly string[]).includes(channel)) {
        found.add(channel);
      }
    }
  }
  return [...found];
}
