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
 * IMPLEMENTATION PENDING (see the contract below).
 */
import { DncError } from './errors';

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
}

export interface ContactParserOptions {
  /** ISO 3166-1 alpha-2 country for national-format numbers (`GB`, `US`...). Optional. */
  readonly defaultCountry?: string;
}

export { DncError };
