/**
 * Contact identity: turn what people and systems send (phone numbers in any common format, `tel:` and
 * `whatsapp:` URIs, email addresses, objects with several identifiers) into normalised index keys.
 *
 * Index keys (one per identifier, and the only form the store and the index know):
 * - a phone or WhatsApp number: its E.164 form, `+14155550123` (both channels share one key: it is one number)
 * - an email address: trimmed, lower-cased, domain in its ASCII (punycode) form: `ana@xn--bcher-kva.example`
 * - an external id: `id:` followed by the id as given (trimmed): `id:crm-42`
 * The kinds never collide: only numbers start with `+`, only emails contain `@` without an `id:` prefix.
 *
 * Phone numbers must be valid (not merely possible) for libphonenumber-js with its 'max' metadata. The key
 * of a number is exactly what libphonenumber-js gives (`parsePhoneNumber(text).number`), whichever path
 * computed it: input that is already E.164 takes a fast path (lib/phone/e164-validity.ts) that returns the
 * same answer without parsing.
 *
 * Extensions (`tel:+1-201-555-0123;ext=12`, `+1 201 555 0123 ext. 12`, `x12`) are stripped: the key is the
 * number that is dialled. Do-not-call rules and registries (FTC, TPS) list telephone numbers, not
 * extensions, and for a DNC list blocking the whole line is the safe side of the choice.
 */
import { domainToASCII } from 'node:url';
import parsePhoneNumberFromString, {
  isSupportedCountry,
  validatePhoneNumberLength,
  type CountryCode,
} from 'libphonenumber-js/max';
import { DncError } from './errors';
import { e164Answer, isE164Shaped } from './phone/e164-validity';
import { E164Answer, INVALID_REASONS, LENGTH_PROBLEM_ANSWERS } from './phone/pattern-automaton';

export interface ParsedContact {
  /** Distinct index keys, in input order: phone, whatsapp, email, id. Never empty. */
  readonly keys: readonly string[];
  /** E.164 phone number, when one was given. */
  readonly phone?: string;
  /** E.164 WhatsApp number, when one was given. */
  readonly whatsapp?: string;
  /** Normalised email address, when one was given. */
  readonly email?: string;
  /** External id (without the `id:` prefix), when one was given. */
  readonly id?: string;
  /** Where the contact is, when an object contact says so (absent otherwise: no allocation per number). */
  readonly hints?: ZoneHints;
  /**
   * The date consent was obtained (or the contact last confirmed the number), as an object contact gives it
   * in `consentDate`: text as given (trimmed), a Date as its ISO form. Read by the Reassigned Numbers
   * Database check, which judges whether it is a date (lib/registries/reassigned-numbers.ts).
   */
  readonly consentDate?: string;
}

/**
 * What an object contact says about where the callee is, read once by the parser for the calling
 * policy's zone resolution (lib/policy/zones.ts). Each field is the first of its names that holds a
 * non-blank string (own properties only), trimmed.
 */
export interface ZoneHints {
  /** An IANA zone: `timezone`, `timeZone` or `tz`. */
  readonly timezone?: string;
  /** A state, province or postal region: `region`, `state` or `province`. */
  readonly region?: string;
  /** `postalCode`, `postcode` or `zip`. */
  readonly postalCode?: string;
  /** The contact's own `country` (ISO 3166-1 alpha-2, upper case), not the parser's default country. */
  readonly country?: string;
}

export interface ContactParserOptions {
  /** ISO 3166-1 alpha-2 country for national-format numbers (`GB`, `US`...). Optional. */
  readonly defaultCountry?: string;
}

export { DncError };

/** Longest string accepted as a contact; anything longer is rejected before any parsing (320 = RFC 3696 email bound). */
export const MAX_CONTACT_TEXT_LENGTH = 320;

/** Every contact error names the `contact` field; the message says which part (`contact.email: ...`). */
function invalidContact(message: string): DncError {
  // Bad input is data, not a bug: its stack says nothing the message does not, and capturing one costs
  // more than the whole E.164 check, which matters when a batch holds many bad numbers.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new DncError('DNC_INVALID_CONTACT', message, { field: 'contact' });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

function normaliseCountry(value: string): CountryCode | undefined {
  const upper = value.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(upper) && isSupportedCountry(upper) ? upper : undefined;
}

/** Characters a written phone number may contain once URI prefixes are removed (NFKC already applied). */
const PHONE_TEXT = /^\+?[\d\s().\-/]*\d[\d\s().\-/]*(?:(?:\s*(?:ext\.?|extension|x|#)\s*|;ext=)\d{1,10})?$/i;

/** Strips `tel:`, `whatsapp:`, `sip:` wrappers; returns the number as written and whether it came from WhatsApp. */
function unwrapPhoneUri(text: string): { number: string; whatsapp: boolean } {
  const lower = text.slice(0, 9).toLowerCase();
  if (lower.startsWith('whatsapp:')) return { number: text.slice(9).trim(), whatsapp: true };
  if (lower.startsWith('tel:')) return { number: unwrapTel(text.slice(4)), whatsapp: false };
  if (lower.startsWith('sip:') || lower.startsWith('sips:')) {
    // sip:+14155550123@carrier.example;user=phone: the user part is the number.
    const rest = text.slice(lower.startsWith('sip:') ? 4 : 5);
    const at = rest.indexOf('@');
    const user = (at >= 0 ? rest.slice(0, at) : rest).split(';')[0];
    return { number: unwrapTel(user), whatsapp: false };
  }
  return { number: text, whatsapp: false };
}

/** RFC 3966 `tel:` body: drops parameters (`ext=` included), applies a numeric `phone-context`. */
function unwrapTel(body: string): string {
  const [number, ...parameters] = body.split(';');
  let context: string | undefined;
  for (const parameter of parameters) {
    const [name, value] = parameter.split('=');
    if (name?.trim().toLowerCase() === 'phone-context' && value !== undefined) context = value.trim();
  }
  const visual = decodeURIComponentSafe(number.trim());
  if (context !== undefined && !visual.startsWith('+')) {
    // A local number: its context is either a `+` prefix (use it) or a domain (not a routable number).
    return context.startsWith('+') ? `${context}${visual}` : `tel-context:${context}`;
  }
  return visual;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A phone number as people write it -> E.164, or a DncError saying why not. */
function parsePhone(raw: string, country: CountryCode | undefined): string | DncError {
  const text = raw.normalize('NFKC').trim();
  if (text.length === 0) return invalidContact('the phone number is empty');
  const { number: unwrapped } = unwrapPhoneUri(text);
  let number = unwrapped;
  if (!PHONE_TEXT.test(number)) {
    return invalidContact(`${quote(raw)} is not a phone number (unexpected characters)`);
  }
  const digits = number.replace(/[^\d+]/g, '');
  if (!digits.startsWith('+') && digits.startsWith('00') && country === undefined) {
    // `00` is the international prefix almost everywhere; without a default country it can only mean that.
    number = `+${number.replace(/^[^\d]*00/, '')}`;
  } else if (!number.startsWith('+') && country === undefined) {
    return invalidContact(`${quote(raw)} is a national number and no default country is configured`);
  }
  const parsed = parsePhoneNumberFromString(number.replace(/;ext=/i, ' ext '), {
    defaultCountry: country,
    extract: false,
  });
  if (parsed && parsed.isValid()) return parsed.number;
  const lengthProblem = validatePhoneNumberLength(number, { defaultCountry: country });
  const answer = lengthProblem ? LENGTH_PROBLEM_ANSWERS[lengthProblem] : E164Answer.InvalidNotInUse;
  return invalidPhone(raw, answer);
}

function invalidPhone(raw: string, answer: E164Answer): DncError {
  return invalidContact(`${quote(raw)} is not a valid phone number (${INVALID_REASONS[answer]})`);
}

/** Phone input: the E.164 fast path, then libphonenumber. */
function phoneKeyOrError(raw: string, country: CountryCode | undefined): string | DncError {
  if (isE164Shaped(raw)) {
    const answer = e164Answer(raw);
    if (answer === E164Answer.Valid) return raw;
    if (answer !== E164Answer.AskLibphonenumber) return invalidPhone(raw, answer);
  }
  return parsePhone(raw, country);
}

const EMAIL_LOCAL_PART = /^[^\s@<>()[\]\\,;:"\p{Cc}]+$/u;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function parseEmail(raw: string): string | DncError {
  let text = raw.normalize('NFC').trim();
  if (/^mailto:/i.test(text)) text = decodeURIComponentSafe(text.slice(7).split('?')[0].trim());
  const fail = (why: string) => invalidContact(`${quote(raw)} is not a valid email address (${why})`);
  if (/\s/.test(text)) return fail('contains spaces');
  const at = text.indexOf('@');
  if (at < 0 || at !== text.lastIndexOf('@')) return fail('it must contain exactly one @');
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (local.length === 0) return fail('nothing before the @');
  if (domain.length === 0) return fail('no domain after the @');
  if (local.length > 64) return fail('the part before the @ is longer than 64 characters');
  if (!EMAIL_LOCAL_PART.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return fail('invalid characters or dots before the @');
  }
  const asciiDomain = domainToASCII(domain.toLowerCase());
  const labels = asciiDomain.split('.');
  if (
    asciiDomain === '' ||
    asciiDomain.length > 253 ||
    labels.length < 2 ||
    !labels.every((label) => DOMAIN_LABEL.test(label)) ||
    /^\d+$/.test(labels[labels.length - 1])
  ) {
    return fail(`${quote(domain)} is not a valid domain`);
  }
  return `${local.toLowerCase()}@${asciiDomain}`;
}

function parseId(raw: string | number): string | DncError {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return invalidContact(`id ${String(raw)} is not a finite number`);
    return String(raw);
  }
  const id = raw.trim();
  if (id.length === 0) return invalidContact('the id is empty');
  return id;
}

const CONTACT_FIELDS = ['phone', 'whatsapp', 'email', 'id', 'country'] as const;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Builds a ParsedContact; keys follow the field order phone, whatsapp, email, id and are distinct. */
function contactOf(
  fields: {
    phone?: string;
    whatsapp?: string;
    email?: string;
    id?: string;
  },
  hints?: ZoneHints,
): ParsedContact {
  const keys: string[] = [];
  if (fields.phone !== undefined) keys.push(fields.phone);
  if (fields.whatsapp !== undefined && fields.whatsapp !== fields.phone) keys.push(fields.whatsapp);
  if (fields.email !== undefined) keys.push(fields.email);
  if (fields.id !== undefined) keys.push(`id:${fields.id}`);
  const contact: { -readonly [K in keyof ParsedContact]: ParsedContact[K] } = { keys };
  if (fields.phone !== undefined) contact.phone = fields.phone;
  if (fields.whatsapp !== undefined) contact.whatsapp = fields.whatsapp;
  if (fields.email !== undefined) contact.email = fields.email;
  if (fields.id !== undefined) contact.id = fields.id;
  if (hints !== undefined) contact.hints = hints;
  return contact;
}

const ZONE_FIELDS = ['timezone', 'timeZone', 'tz'] as const;
const REGION_FIELDS = ['region', 'state', 'province'] as const;
const POSTAL_FIELDS = ['postalCode', 'postcode', 'zip'] as const;

/** The first of `names` that is an own property holding a non-blank string, trimmed. */
function hintText(input: object, names: readonly string[]): string | undefined {
  for (const name of names) {
    if (!Object.prototype.hasOwnProperty.call(input, name)) continue;
    const value = (input as Record<string, unknown>)[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/**
 * An object contact's `consentDate` as text: a non-blank string trimmed (at most 64 characters kept), a valid
 * Date in ISO form, epoch ms as its ISO form; anything else (a blank, null) is no date at all. The text is
 * judged where it is used: a wrong one blocks the contact there with CONSENT_DATE_MISSING.
 */
function consentDateText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim().slice(0, 64);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'number') {
    return Number.isFinite(value) && Math.abs(value) < 8.64e15
      ? new Date(value).toISOString()
      : String(value);
  }
  if (value === undefined || value === null) return undefined;
  return `(${describe(value)})`;
}

/** The zone hints of an object contact whose country (if any) is already normalised; undefined when none. */
function zoneHintsOf(input: object, country: CountryCode | undefined): ZoneHints | undefined {
  const timezone = hintText(input, ZONE_FIELDS);
  const region = hintText(input, REGION_FIELDS);
  const postalCode = hintText(input, POSTAL_FIELDS);
  if (timezone === undefined && region === undefined && postalCode === undefined && country === undefined) {
    return undefined;
  }
  const hints: { -readonly [K in keyof ZoneHints]: ZoneHints[K] } = {};
  if (timezone !== undefined) hints.timezone = timezone;
  if (region !== undefined) hints.region = region;
  if (postalCode !== undefined) hints.postalCode = postalCode;
  if (country !== undefined) hints.country = country;
  return hints;
}

export class ContactParser {
  readonly defaultCountry: string | undefined;
  private readonly country: CountryCode | undefined;

  constructor(options: ContactParserOptions = {}) {
    const given = options.defaultCountry;
    if (given === undefined || given === '') {
      this.country = undefined;
    } else {
      const country = typeof given === 'string' ? normaliseCountry(given) : undefined;
      if (!country) {
        throw new DncError(
          'DNC_INVALID_INPUT',
          `defaultCountry ${JSON.stringify(given)} is not an ISO 3166-1 alpha-2 country code with a numbering plan`,
          { field: 'defaultCountry' },
        );
      }
      this.country = country;
    }
    this.defaultCountry = this.country;
  }

  /** Parses a contact (string or object) into its index keys; throws DncError DNC_INVALID_CONTACT. */
  parse(input: unknown): ParsedContact {
    // The E.164 fast path first: it is the input of nearly every check.
    if (typeof input === 'string' && isE164Shaped(input) && e164Answer(input) === E164Answer.Valid) {
      return { keys: [input], phone: input };
    }
    const result = this.parseAny(input);
    if (result instanceof DncError) throw result;
    return result;
  }

  /** Like parse(), but returns the DncError instead of throwing (batch checks). */
  tryParse(input: unknown): ParsedContact | DncError {
    if (typeof input === 'string' && isE164Shaped(input) && e164Answer(input) === E164Answer.Valid) {
      return { keys: [input], phone: input };
    }
    try {
      return this.parseAny(input);
    } catch (error) {
      // Only a bug could land here; keep the never-throws promise.
      return error instanceof DncError
        ? error
        : new DncError('DNC_INVALID_CONTACT', `the contact could not be parsed: ${String(error)}`, {
            field: 'contact',
            cause: error,
          });
    }
  }

  /** A phone number (any accepted form) -> E.164; throws DNC_INVALID_CONTACT. */
  phoneKey(text: string, country?: string): string {
    if (typeof text !== 'string')
      throw invalidContact(`a phone number must be a string, got ${describe(text)}`);
    if (text.length > MAX_CONTACT_TEXT_LENGTH)
      throw invalidContact(`the phone number is longer than ${MAX_CONTACT_TEXT_LENGTH} characters`);
    let countryCode = this.country;
    if (country !== undefined) {
      countryCode = normaliseCountry(country);
      if (!countryCode)
        throw invalidContact(`country ${JSON.stringify(country)} is not an ISO 3166-1 alpha-2 country code`);
    }
    const key = phoneKeyOrError(text, countryCode);
    if (key instanceof DncError) throw key;
    return key;
  }

  private parseAny(input: unknown): ParsedContact | DncError {
    if (typeof input === 'string') return this.parseString(input);
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) return this.parseObject(input);
    return invalidContact(
      `a contact must be a phone number, an email address or an object with phone, whatsapp, email or id; got ${describe(input)}`,
    );
  }

  private parseString(input: string): ParsedContact | DncError {
    if (input.length > MAX_CONTACT_TEXT_LENGTH) {
      return invalidContact(`the contact is longer than ${MAX_CONTACT_TEXT_LENGTH} characters`);
    }
    const text = input.trim();
    if (text.length === 0) return invalidContact('the contact is empty');
    if (/^id:/i.test(text)) {
      // The key form of an external id parses to itself, so keys can be fed back in.
      const id = parseId(text.slice(3));
      return id instanceof DncError ? id : contactOf({ id });
    }
    const lower = text.slice(0, 9).toLowerCase();
    const isSip = lower.startsWith('sip:') || lower.startsWith('sips:');
    if (lower.startsWith('mailto:') || (!isSip && text.includes('@'))) {
      const email = parseEmail(text);
      return email instanceof DncError ? email : contactOf({ email });
    }
    const whatsapp = lower.startsWith('whatsapp:');
    const phone = phoneKeyOrError(whatsapp ? text.slice(9).trim() : text, this.country);
    if (phone instanceof DncError) return phone;
    return whatsapp ? contactOf({ whatsapp: phone }) : contactOf({ phone });
  }

  private parseObject(input: object): ParsedContact | DncError {
    // Own properties only: `__proto__` or inherited keys must never turn into identifiers.
    const own = (name: string): unknown =>
      Object.prototype.hasOwnProperty.call(input, name)
        ? (input as Record<string, unknown>)[name]
        : undefined;
    const values: Partial<Record<(typeof CONTACT_FIELDS)[number], unknown>> = {};
    for (const field of CONTACT_FIELDS) {
      const value = own(field);
      // null and blank strings are "no value": CRM rows carry them for missing data.
      if (value === undefined || value === null || (typeof value === 'string' && value.trim() === ''))
        continue;
      if (
        field === 'id' ? typeof value !== 'string' && typeof value !== 'number' : typeof value !== 'string'
      ) {
        return invalidContact(
          `contact.${field} must be a ${field === 'id' ? 'string or number' : 'string'}, got ${describe(value)}`,
        );
      }
      if (typeof value === 'string' && value.length > MAX_CONTACT_TEXT_LENGTH) {
        return invalidContact(`contact.${field} is longer than ${MAX_CONTACT_TEXT_LENGTH} characters`);
      }
      values[field] = value;
    }
    let country = this.country;
    let ownCountry: CountryCode | undefined;
    if (values.country !== undefined) {
      ownCountry = normaliseCountry(values.country as string);
      if (!ownCountry) {
        return invalidContact(
          `contact.country: ${JSON.stringify(values.country)} is not an ISO 3166-1 alpha-2 country code`,
        );
      }
      country = ownCountry;
    }
    const fields: { phone?: string; whatsapp?: string; email?: string; id?: string } = {};
    for (const field of ['phone', 'whatsapp'] as const) {
      const value = values[field] as string | undefined;
      if (value === undefined) continue;
      const text = value.trim();
      const number = /^whatsapp:/i.test(text) ? text.slice(9).trim() : text;
      const key = phoneKeyOrError(number, country);
      if (key instanceof DncError) return invalidContact(`contact.${field}: ${key.message}`);
      fields[field] = key;
    }
    if (values.email !== undefined) {
      const email = parseEmail(values.email as string);
      if (email instanceof DncError) return invalidContact(`contact.email: ${email.message}`);
      fields.email = email;
    }
    if (values.id !== undefined) {
      const id = parseId(values.id as string | number);
      if (id instanceof DncError) return invalidContact(`contact.id: ${id.message}`);
      fields.id = id;
    }
    if (Object.keys(fields).length === 0) {
      return invalidContact('the contact object has none of phone, whatsapp, email or id');
    }
    const contact = contactOf(fields, zoneHintsOf(input, ownCountry));
    const consent = consentDateText(own('consentDate'));
    return consent === undefined ? contact : { ...contact, consentDate: consent };
  }
}

/** A short display form: the first key (phone, whatsapp, email, else the id without its `id:` prefix). */
export function contactLabel(contact: ParsedContact): string {
  const first = contact.keys[0] ?? '';
  return first.startsWith('id:') ? first.slice(3) : first;
}
