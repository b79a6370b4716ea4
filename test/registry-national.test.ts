import assert from 'node:assert/strict';
import fc from 'fast-check';
import parsePhoneNumberFromString, { type CountryCode } from 'libphonenumber-js/max';
import { nationalNumberReader, nationalPrefixOf } from '../lib/registries/national';
import { keyToE164 } from '../lib/registries/number-keys';
import { LineScanner, type LayoutOptions } from '../lib/registries/parsers';
import { DEFAULT_LAYOUTS } from '../lib/registries/known-registries';

/** Parses lines in a layout and gives the E.164 numbers (and how many lines did not parse). */
function parse(layout: LayoutOptions, lines: readonly string[]): { numbers: string[]; malformed: number } {
  const keys: number[] = [];
  const scanner = new LineScanner('test', layout, { add: (key) => keys.push(key) });
  scanner.push(Buffer.from(lines.join('\n') + '\n'));
  const report = scanner.end();
  return { numbers: keys.map(keyToE164), malformed: report.malformedLines };
}

/** What libphonenumber-js itself makes of a national number written in `country`. */
function e164Of(national: string, country: CountryCode): string {
  const parsed = parsePhoneNumberFromString(national, country);
  assert.ok(parsed?.isValid(), `${national} is a valid ${country} number`);
  return parsed!.number;
}

describe('national numbers in registry files: the national prefix per calling code, from libphonenumber-js', () => {
  // One case per country the package ships a layout for, plus Italy (where the leading 0 is part of the number).
  it('US (nanp): 201,5550123 and 2015550123', () => {
    const { numbers } = parse(DEFAULT_LAYOUTS.US_NDNC, ['201,5550123', '2125553003']);
    assert.deepEqual(numbers, [e164Of('2015550123', 'US'), e164Of('2125553003', 'US')]);
  });

  it('Canada (nanp): 416,5550123', () => {
    const { numbers } = parse(DEFAULT_LAYOUTS.CA_DNCL, ['416,5550123']);
    assert.deepEqual(numbers, [e164Of('4165550123', 'CA')]);
  });

  it('UK TPS / CTPS (uk-fixed): the leading 0 is the national prefix', () => {
    assert.equal(nationalPrefixOf('44'), '0');
    const { numbers } = parse(DEFAULT_LAYOUTS.UK_TPS, ['0207 3787244', '02073787244 ', '07911123456 ']);
    assert.deepEqual(numbers, [
      e164Of('02073787244', 'GB'),
      e164Of('02073787244', 'GB'),
      e164Of('07911123456', 'GB'),
    ]);
  });

  it('Australia (lines, +61): 0412 345 678 drops its 0', () => {
    assert.equal(nationalPrefixOf('61'), '0');
    const lines = ['0412 345 678', '(02) 9876 5432', '+61 3 9876 5432'];
    const expected = [e164Of('0412345678', 'AU'), e164Of('0298765432', 'AU'), '+61398765432'];
    assert.deepEqual(parse(DEFAULT_LAYOUTS.AU_DNCR, lines).numbers, expected);
    // The same with a custom registry that only names the calling code.
    assert.deepEqual(parse({ layout: 'lines', callingCode: '61' }, lines).numbers, expected);
  });

  it('Singapore (lines, +65): no national prefix', () => {
    assert.equal(nationalPrefixOf('65'), '');
    const { numbers } = parse(DEFAULT_LAYOUTS.SG_DNC, ['6123 4567', '9123 4567']);
    assert.deepEqual(numbers, [e164Of('61234567', 'SG'), e164Of('91234567', 'SG')]);
  });

  it('Italy (lines or csv, +39): 0612345678 keeps its 0 (+390612345678)', () => {
    assert.equal(nationalPrefixOf('39'), '');
    const { numbers } = parse({ layout: 'lines', callingCode: '39' }, ['06 1234 5678', '312 345 6789']);
    assert.deepEqual(numbers, ['+390612345678', '+393123456789']);
    assert.deepEqual(numbers, [e164Of('0612345678', 'IT'), e164Of('3123456789', 'IT')]);
  });

  it('an explicit trunkPrefix is still a fixed rule; an unknown calling code is refused', () => {
    assert.deepEqual(parse({ layout: 'lines', callingCode: '39', trunkPrefix: '' }, ['0612345678']).numbers, [
      '+390612345678',
    ]);
    assert.deepEqual(
      parse({ layout: 'lines', callingCode: '61', trunkPrefix: '0' }, ['0412345678']).numbers,
      ['+61412345678'],
    );
    assert.throws(() => parse({ layout: 'lines', callingCode: '999' }, ['123']), /not assigned/);
  });

  it('agrees with libphonenumber-js on generated national numbers (seeded, 30 calling codes)', () => {
    const codes = [
      '1',
      '7',
      '20',
      '27',
      '31',
      '33',
      '34',
      '39',
      '44',
      '49',
      '52',
      '54',
      '55',
      '57',
      '61',
      '62',
      '64',
      '65',
      '81',
      '82',
      '86',
      '90',
      '91',
      '234',
      '353',
      '358',
      '380',
      '852',
      '971',
      '998',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...codes),
        fc.constantFrom('', '0', '00', '1', '8', '9', '15', '180020', '1831', '90'),
        fc.stringMatching(/^[0-9]{4,12}$/),
        (code, prefix, rest) => {
          const digits = prefix + rest;
          // libphonenumber also reads "calling code without +" (8230000 as +82 30000); registry files
          // write national numbers, so that reading is not ours to copy.
          if (digits.startsWith(code)) return;
          const parsed = parsePhoneNumberFromString(digits, { defaultCallingCode: code });
          if (parsed === undefined || parsed.countryCallingCode !== code) return;
          assert.equal(nationalNumberReader(code)(digits), parsed.nationalNumber, `+${code} ${digits}`);
        },
      ),
      { seed: 20261204, numRuns: 6000 },
    );
  });
});
