/**
 * National numbers in registry files: which leading digits are a national (trunk) prefix to drop, per
 * calling code, from libphonenumber-js's own metadata rather than a fixed "strip a leading 0" rule, which
 * is wrong where the 0 belongs to the number (Italy: `0612345678` is +390612345678).
 *
 * libphonenumber-js (extractNationalNumber) strips the national prefix for parsing (a pattern: `0` for
 * the UK, `(183[12])|0` for Australia, none for Italy or Singapore, with a transform rule for Brazil and
 * Argentina) unless the number matched the national-number pattern before and does not after, or the
 * result is too short / of an impossible length for the country the rest of the number selects. Running
 * libphonenumber's whole parse per line costs ~14 us (70,000 lines/s); this module applies the same steps
 * with the same patterns (~0.3 us) and asks libphonenumber itself only where the country choice could
 * change the length check (a length possible in some countries of the calling code but not in others).
 */
import { Metadata } from 'libphonenumber-js/core';
import parsePhoneNumberFromString from 'libphonenumber-js/max';
import maxMetadata from 'libphonenumber-js/max/metadata';

/** The parts of libphonenumber-js's numbering plan we read (its typings only declare the constructor). */
interface PlanView {
  nationalPrefix(): string | undefined;
  nationalPrefixForParsing(): string | undefined;
  nationalPrefixTransformRule(): string | undefined;
  nationalNumberPattern(): string;
  possibleLengths(): number[] | undefined;
}
interface MetadataView {
  selectNumberingPlan(countryOrCallingCode: string): void;
  numberingPlan?: PlanView;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
  hasCallingCode(callingCode: string): boolean;
}

/** National digits (no calling code) -> the national significant number (what follows `+<code>`). */
export type NationalNumberReader = (digits: string) => string;

const MAX_LENGTH = 20;
const METADATA = maxMetadata as unknown as ConstructorParameters<typeof Metadata>[0];

function metadataFor(callingCode: string): MetadataView & { numberingPlan: PlanView } {
  const metadata = new Metadata(METADATA) as unknown as MetadataView;
  if (!/^[1-9]\d{0,2}$/.test(callingCode) || !metadata.hasCallingCode(callingCode)) {
    throw new RangeError(`calling code ${callingCode} is not assigned to any country`);
  }
  metadata.selectNumberingPlan(callingCode);
  return metadata as MetadataView & { numberingPlan: PlanView };
}

/** The national prefix a national number is written with (`0` for AU/UK, none for IT/SG), or ''. */
export function nationalPrefixOf(callingCode: string): string {
  // The compressed metadata holds 0 (a number) where a country has no national prefix.
  const prefix = metadataFor(callingCode).numberingPlan.nationalPrefix();
  return typeof prefix === 'string' ? prefix : '';
}

/** For each length, whether libphonenumber's length check (not too short, not an impossible length) passes. */
function lengthsPassing(lengths: number[] | undefined): boolean[] {
  const passing: boolean[] = [];
  for (let length = 0; length <= MAX_LENGTH; length++) {
    if (!lengths || lengths.length === 0) passing.push(true);
    else {
      const min = lengths[0];
      const max = lengths[lengths.length - 1];
      passing.push(length === min || (length > min && (length > max || lengths.includes(length))));
    }
  }
  return passing;
}

const readers = new Map<string, NationalNumberReader>();

/** The reader for one calling code (cached: the patterns are compiled once). Unknown codes throw. */
export function nationalNumberReader(callingCode: string): NationalNumberReader {
  const cached = readers.get(callingCode);
  if (cached) return cached;
  const metadata = metadataFor(callingCode);
  const plan = metadata.numberingPlan;
  const forParsing = plan.nationalPrefixForParsing();
  let reader: NationalNumberReader;
  if (typeof forParsing !== 'string' || forParsing === '') {
    // Italy, Singapore, Mexico...: every digit written belongs to the number.
    reader = (digits) => digits;
  } else {
    const prefix = new RegExp(`^(?:${forParsing})`);
    const rule = plan.nationalPrefixTransformRule();
    const transform = typeof rule === 'string' ? rule : '';
    const wholePattern = new RegExp(`^(?:${plan.nationalNumberPattern()})$`);
    const checkLengths = plan.possibleLengths() !== undefined;
    // The length check is made for the country the number selects among those sharing the calling code:
    // a length that passes for all of them (or for none) needs no choice.
    const perCountry = (metadata.getCountryCodesForCallingCode(callingCode) ?? []).map((country) => {
      const one = new Metadata(METADATA) as unknown as MetadataView & { numberingPlan: PlanView };
      one.selectNumberingPlan(country);
      return lengthsPassing(one.numberingPlan.possibleLengths());
    });
    const mainPlan = lengthsPassing(plan.possibleLengths());
    const passAll = mainPlan.map((ok, length) => ok && perCountry.every((c) => c[length]));
    const passAny = mainPlan.map((ok, length) => ok || perCountry.some((c) => c[length]));
    reader = (digits) => {
      const match = prefix.exec(digits);
      if (!match) return digits;
      const groups = match.length - 1;
      const captured = groups > 0 && match[groups];
      const national =
        transform && captured ? digits.replace(prefix, transform) : digits.slice(match[0].length);
      if (national === digits) return digits;
      if (wholePattern.test(digits) && !wholePattern.test(national)) return digits;
      if (!checkLengths) return national;
      const length = Math.min(national.length, MAX_LENGTH);
      if (passAll[length]) return national;
      if (!passAny[length]) return digits;
      return (
        parsePhoneNumberFromString(digits, { defaultCallingCode: callingCode })?.nationalNumber ?? digits
      );
    };
  }
  readers.set(callingCode, reader);
  return reader;
}
