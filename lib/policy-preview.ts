/**
 * A calling policy tried on one contact, for the editor's policy dialog and its live preview: the
 * definition compiled (an error is answered with its code, message and field), then, when a contact is
 * given, evaluated the way Check DNC evaluates it (ContactParser, then the compiled policy's own
 * evaluateFor) at one instant.
 *
 * Caps and cooling-off need the contact's attempt history, which a preview does not have: they are
 * evaluated with no attempt on record, and the answer says how many such rules were not checked
 * (`history`). Nothing is invented: a contact that cannot be parsed is blocked INVALID_CONTACT, a callee
 * whose zone cannot be found is blocked TIMEZONE_UNKNOWN (the engine's own reasons, fail closed).
 */
import { ContactParser } from './contacts';
import { DncError } from './errors';
import { normaliseChannel } from './labels';
import { createPolicy, preset, type CheckPolicy, type PolicyDefinition } from './policy';
import { resolveZones } from './policy/zones';
import { checkInstantOf, isoTime } from './time';

export interface PreviewRequest {
  /** The definition (an object, or JSON text); blank or absent: the preset. */
  readonly policy?: unknown;
  /** A preset name, used when `policy` is blank. */
  readonly preset?: unknown;
  /** A contact as Check DNC takes it (a number, an email, an object with zone hints); absent: compile only. */
  readonly contact?: unknown;
  /** The channel of the check; absent or blank: unknown (every policy governs it, fail closed). */
  readonly channel?: unknown;
  /** The instant (ISO 8601 or epoch ms, as a check's `at`); absent: now. */
  readonly at?: unknown;
  /** The country of national-format numbers (the DNC labels node's default country). */
  readonly defaultCountry?: string;
}

export interface PreviewReason {
  readonly code: string;
  readonly message: string;
  readonly rule?: string;
  readonly nextAllowedAt: string | null;
}

export interface PreviewHistory {
  /** Caps and cooling-off periods in the policy: evaluated with no attempt on record. */
  readonly rules: number;
  /** Whether the answer took the contact's attempt history into account (never, in a preview). */
  readonly checked: false;
}

export interface PreviewResultOk {
  readonly ok: true;
  /** The policy's name. */
  readonly name: string;
  readonly history: PreviewHistory;
  /** With a contact: */
  readonly contact?: string;
  readonly channel?: string | null;
  readonly at?: string;
  readonly allowed?: boolean;
  readonly reasons?: readonly PreviewReason[];
  /** The callee's zone shown (the first of `zones`), or null when none was found. */
  readonly zone?: string | null;
  readonly zones?: readonly string[];
  /** `at` in the callee's zone: `YYYY-MM-DD HH:MM Ddd`. */
  readonly localTime?: string | null;
  /** When every window and holiday reason has cleared (ISO 8601), or null (allowed, or none in sight). */
  readonly nextAllowedAt?: string | null;
  /** nextAllowedAt in the callee's zone. */
  readonly nextAllowedLocal?: string | null;
}

export interface PreviewResultError {
  readonly ok: false;
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

export type PreviewResult = PreviewResultOk | PreviewResultError;

/**
 * The definition a dnc-policy node (or a request) names: `policy` (an object or JSON text) when it is
 * not blank, else the preset as shipped. Throws DncError DNC_INVALID_INPUT naming `policy` or `preset`.
 */
export function definitionFrom(policy: unknown, presetName: unknown): PolicyDefinition {
  if (policy !== undefined && policy !== null && !(typeof policy === 'string' && policy.trim() === '')) {
    if (typeof policy !== 'string') {
      if (typeof policy !== 'object' || Array.isArray(policy))
        throw new DncError('DNC_INVALID_INPUT', 'the policy must be an object or JSON text', {
          field: 'policy',
        });
      return policy;
    }
    try {
      return JSON.parse(policy) as PolicyDefinition;
    } catch (err) {
      throw new DncError('DNC_INVALID_INPUT', `the policy is not valid JSON: ${(err as Error).message}`, {
        field: 'policy',
      });
    }
  }
  const name = typeof presetName === 'string' ? presetName : '';
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

const parsers = new Map<string, ContactParser>();

function parserFor(country: string | undefined): ContactParser {
  const key = country ?? '';
  let parser = parsers.get(key);
  if (parser === undefined) {
    parser = new ContactParser({ defaultCountry: country });
    if (parsers.size < 300) parsers.set(key, parser);
  }
  return parser;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** An instant in a zone as `YYYY-MM-DD HH:MM Ddd`. */
export function localText(ms: number, zone: string): string {
  const parts: Record<string, string> = {};
  for (const part of new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(ms))
    parts[part.type] = part.value;
  const day = new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day))).getUTCDay();
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${WEEKDAYS[day]}`;
}

function historyOf(policy: CheckPolicy): PreviewHistory {
  let rules = 0;
  for (const member of policy.members)
    rules += (member.definition.caps?.length ?? 0) + (member.definition.coolingOff?.length ?? 0);
  return { rules, checked: false };
}

function errorOf(err: unknown, fallbackField: string): PreviewResultError {
  if (err instanceof DncError) {
    const { code, message, field } = err;
    return { ok: false, error: field === undefined ? { code, message } : { code, message, field } };
  }
  return {
    ok: false,
    error: { code: 'DNC_INVALID_INPUT', message: (err as Error).message, field: fallbackField },
  };
}

/** Never throws: a definition or request that cannot be used is answered `{ ok: false, error }`. */
export function previewPolicy(request: PreviewRequest, now: () => number = Date.now): PreviewResult {
  let policy: CheckPolicy;
  try {
    policy = createPolicy(definitionFrom(request.policy, request.preset));
  } catch (err) {
    return errorOf(err, 'policy');
  }
  const base = { ok: true as const, name: policy.name, history: historyOf(policy) };
  const contact = request.contact;
  if (contact === undefined || contact === null || (typeof contact === 'string' && contact.trim() === ''))
    return base;
  let channel: string | null;
  let at: number;
  try {
    channel =
      request.channel === undefined || request.channel === null || request.channel === ''
        ? null
        : normaliseChannel(request.channel, 'channel');
    if (request.at !== undefined && typeof request.at !== 'string' && typeof request.at !== 'number')
      throw new DncError('DNC_INVALID_INPUT', 'at must be ISO 8601 text or epoch milliseconds', {
        field: 'at',
      });
    at = checkInstantOf(request.at, now);
  } catch (err) {
    return errorOf(err, 'channel');
  }
  const asked = { ...base, channel, at: isoTime(at) };
  let parser: ReturnType<typeof parserFor>;
  try {
    parser = parserFor(request.defaultCountry);
  } catch (err) {
    return errorOf(err, 'defaultCountry');
  }
  const parsed = parser.tryParse(typeof contact === 'string' ? contact.trim() : contact);
  if (parsed instanceof DncError)
    return {
      ...asked,
      contact: typeof contact === 'string' ? contact.trim() : '',
      allowed: false,
      reasons: [{ code: 'INVALID_CONTACT', message: parsed.message, nextAllowedAt: null }],
      zone: null,
      zones: [],
      localTime: null,
      nextAllowedAt: null,
      nextAllowedLocal: null,
    };
  const phone = parsed.keys.find((key) => key.startsWith('+'));
  const label = parsed.keys[0];
  try {
    return evaluated(policy, parsed, phone, label, asked, channel, at);
  } catch (err) {
    // As Check DNC: a policy that cannot be applied blocks, saying why.
    return {
      ...asked,
      contact: label,
      allowed: false,
      reasons: [
        {
          code: 'CHECK_FAILED',
          message: `the calling policy "${policy.name}" could not be applied, so the contact is blocked: ${(err as Error).message}`,
          nextAllowedAt: null,
        },
      ],
      zone: null,
      zones: [],
      localTime: null,
      nextAllowedAt: null,
      nextAllowedLocal: null,
    };
  }
}

/** The engine's own evaluation of a parsed contact, with no attempt on record (history.checked is false). */
function evaluated(
  policy: CheckPolicy,
  parsed: Exclude<ReturnType<ReturnType<typeof parserFor>['tryParse']>, DncError>,
  phone: string | undefined,
  label: string,
  asked: PreviewResultOk,
  channel: string | null,
  at: number,
): PreviewResultOk {
  const verdict = policy.evaluateFor(
    parsed.hints,
    phone,
    parsed.keys,
    { channel, campaign: null },
    at,
    () => [],
  );
  const zones = verdict?.zones ?? resolveZones(parsed.hints, phone)?.zones ?? fallbackZones(policy);
  const zone = zones.length > 0 ? zones[0] : null;
  const next = verdict === null ? null : verdict.nextAllowedAt;
  return {
    ...asked,
    contact: label,
    allowed: verdict === null,
    reasons: (verdict?.reasons ?? []).map((r) => ({
      code: r.code,
      message: r.message,
      rule: r.rule,
      nextAllowedAt: r.nextAllowedAt,
    })),
    zone,
    zones,
    localTime: zone === null ? null : localText(at, zone),
    nextAllowedAt: next === null ? null : isoTime(next),
    nextAllowedLocal: next === null || zone === null ? null : localText(next, zone),
  };
}

/** The policy's fallback zone, when the callee's is unknown and the policy names one. */
function fallbackZones(policy: CheckPolicy): readonly string[] {
  for (const member of policy.members) {
    const fallback = member.definition.timezoneFallback;
    if (typeof fallback === 'string' && fallback !== '' && fallback !== 'block') return [fallback];
  }
  return [];
}
