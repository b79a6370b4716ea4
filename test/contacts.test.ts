import assert from 'node:assert/strict';
import parsePhoneNumberFromString, {
  getCountryCallingCode,
  isValidPhoneNumber,
  type CountryCode,
} from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/examples.mobile.json';
import maxMetadata from 'libphonenumber-js/max/metadata';
import { ContactParser, contactLabel, type ParsedContact } from '../lib/contacts';
import { isValidE164, phoneMemoStats, phoneNumberTypeOf } from '../lib/phone/e164-validity';
import { DncError } from '../lib/errors';
import { seededRandom } from '../bench/harness';

function assertInvalidContact(action: () => unknown, messagePattern: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof DncError, `expected a DncError, got ${String(error)}`);
    assert.equal(error.code, 'DNC_INVALID_CONTACT');
    assert.equal(error.field, 'contact');
    assert.match(error.message, messagePattern);
    return true;
  });
}

describe('contacts: phone numbers', () => {
  const parser = new ContactParser();
  const us = new ContactParser({ defaultCountry: 'US' });
  const gb = new ContactParser({ defaultCountry: 'gb' });

  it('keeps valid E.164 numbers of several countries as they are', () => {
    for (const e164 of [
      '+12015550123', // US
      '+14165550123', // CA (Toronto)
      '+442079460000', // UK London
      '+447400123456', // UK mobile
      '+919876543210', // IN mobile
      '+61412345678', // AU mobile
      '+61212345678', // AU Sydney
      '+4915123456789', // DE mobile
      '+493012345678', // DE Berlin
    ]) {
      assert.deepEqual(parser.parse(e164), { keys: [e164], phone: e164 }, e164);
    }
  });

  it('gives the same key for the same number written in the forms people and systems send', () => {
    const forms = [
      '+1 201-555-0123',
      '+1 (201) 555-0123',
      '+1.201.555.0123',
      '  +12015550123  ',
      'tel:+1-201-555-0123',
      'TEL:+12015550123',
      'tel:+1-201-555-0123;ext=456',
      '+1 201 555 0123 ext. 456',
      '+12015550123x456',
      'sip:+12015550123@carrier.example;user=phone',
      '001 201 555 0123',
      '\uff0b\uff11\uff12\uff10\uff11\uff15\uff15\uff15\uff10\uff11\uff12\uff13', // full-width
    ];
    for (const form of forms) assert.deepEqual(parser.parse(form).keys, ['+12015550123'], form);
    for (const form of [
      '(201) 555-0123',
      '201.555.0123',
      '201-555-0123',
      '1 201 555 0123',
      '011 1 201 555 0123',
    ]) {
      assert.deepEqual(us.parse(form).keys, ['+12015550123'], form);
    }
  });

  it('reads national numbers with the default country, and international ones whatever the default', () => {
    assert.equal(gb.parse('020 7946 0000').phone, '+442079460000');
    assert.equal(gb.parse('07400 123456').phone, '+447400123456');
    assert.equal(gb.parse('00 1 201 555 0123').phone, '+12015550123');
    assert.equal(gb.parse('+61 412 345 678').phone, '+61412345678');
    assert.equal(new ContactParser({ defaultCountry: 'IN' }).parse('098765 43210').phone, '+919876543210');
    assert.equal(new ContactParser({ defaultCountry: 'AU' }).parse('0412 345 678').phone, '+61412345678');
    assert.equal(new ContactParser({ defaultCountry: 'DE' }).parse('030 12345678').phone, '+493012345678');
    assert.equal(new ContactParser({ defaultCountry: 'CA' }).parse('416-555-0123').phone, '+14165550123');
    assert.equal(gb.defaultCountry, 'GB');
  });

  it('uses the key libphonenumber gives when an international number carries a national prefix', () => {
    assert.equal(parser.parse('+44 (0)20 7946 0000').phone, '+442079460000');
    assert.equal(parser.parse('+4402079460000').phone, '+442079460000');
  });

  it('marks whatsapp: numbers as WhatsApp, with the same key as the phone number', () => {
    assert.deepEqual(parser.parse('whatsapp:+44 7400 123456'), {
      keys: ['+447400123456'],
      whatsapp: '+447400123456',
    });
  });

  it('rejects numbers that are possible but not valid, saying why', () => {
    assertInvalidContact(
      () => parser.parse('+15555550123'),
      /"\+15555550123" is not a valid phone number \(not a number in use/,
    );
    assertInvalidContact(() => parser.parse('+1 555'), /"\+1 555" is not a valid phone number \(too short\)/);
    assertInvalidContact(() => parser.parse('+1 201 555 01234'), /not a valid phone number \(too long\)/);
    assertInvalidContact(() => parser.parse('+9991234567'), /unknown country calling code/);
    assertInvalidContact(() => us.parse('555-0123'), /not a valid phone number/);
  });

  it('rejects a national number when no default country is configured', () => {
    assertInvalidContact(
      () => parser.parse('0207 946 0000'),
      /"0207 946 0000" is a national number and no default country is configured/,
    );
  });

  it('rejects text that is not a phone number at all', () => {
    assertInvalidContact(
      () => parser.parse('+1-800-FLOWERS'),
      /not a phone number \(unexpected characters\)/,
    );
    assertInvalidContact(() => parser.parse('call me on +12015550123'), /not a phone number/);
    assertInvalidContact(() => parser.parse('tel:5550123;phone-context=example.com'), /not a phone number/);
    assertInvalidContact(() => parser.parse('whatsapp:'), /empty|not a phone number/);
  });

  it('phoneKey() returns E.164 and honours a per-call country', () => {
    assert.equal(parser.phoneKey('+1 201 555 0123'), '+12015550123');
    assert.equal(parser.phoneKey('020 7946 0000', 'gb'), '+442079460000');
    assert.equal(gb.phoneKey('(201) 555-0123', 'US'), '+12015550123');
    assertInvalidContact(() => parser.phoneKey('020 7946 0000'), /no default country/);
    assertInvalidContact(() => parser.phoneKey('+12015550123', 'ZZ'), /country "ZZ"/);
  });
});

describe('contacts: email addresses', () => {
  const parser = new ContactParser();

  it('trims and lower-cases, so the same address written two ways is one key', () => {
    assert.deepEqual(parser.parse('  Ana.Silva@Example.COM '), {
      keys: ['ana.silva@example.com'],
      email: 'ana.silva@example.com',
    });
    assert.equal(
      parser.parse('ana.silva@example.com').keys[0],
      parser.parse('ANA.SILVA@example.com').keys[0],
    );
  });

  it('accepts mailto: and converts international domains to punycode', () => {
    assert.equal(parser.parse('mailto:Ana@Example.com').email, 'ana@example.com');
    assert.equal(parser.parse('mailto:ana@example.com?subject=hi').email, 'ana@example.com');
    assert.equal(parser.parse('user@bücher.example').email, 'user@xn--bcher-kva.example');
    assert.equal(parser.parse('user@xn--bcher-kva.example').email, 'user@xn--bcher-kva.example');
    // NFC: a composed and a decomposed "é" in the local part are one address.
    assert.equal(parser.parse('ren\u00e9@example.com').email, parser.parse('rene\u0301@example.com').email);
  });

  it('rejects malformed addresses, saying what is wrong', () => {
    assertInvalidContact(() => parser.parse('ana silva@example.com'), /contains spaces/);
    assertInvalidContact(() => parser.parse('ana@@example.com'), /exactly one @/);
    assertInvalidContact(() => parser.parse('a@b@example.com'), /exactly one @/);
    assertInvalidContact(() => parser.parse('@example.com'), /nothing before the @/);
    assertInvalidContact(() => parser.parse('ana@'), /no domain after the @/);
    assertInvalidContact(() => parser.parse('ana@localhost'), /not a valid domain/);
    assertInvalidContact(() => parser.parse('ana@exa_mple.com'), /not a valid domain/);
    assertInvalidContact(() => parser.parse('ana..silva@example.com'), /dots before the @/);
    assertInvalidContact(() => parser.parse('<ana>@example.com'), /invalid characters/);
  });
});

describe('contacts: objects and ids', () => {
  const parser = new ContactParser({ defaultCountry: 'US' });

  it('collects every identifier in the order phone, whatsapp, email, id', () => {
    const contact = parser.parse({
      id: 'crm-42',
      email: 'Ana@Example.com',
      whatsapp: '+44 7400 123456',
      phone: '(201) 555-0123',
      name: 'Ana Silva', // CRM rows carry other columns: ignored
    });
    assert.deepEqual(contact, {
      keys: ['+12015550123', '+447400123456', 'ana@example.com', 'id:crm-42'],
      phone: '+12015550123',
      whatsapp: '+447400123456',
      email: 'ana@example.com',
      id: 'crm-42',
    });
  });

  it('gives one key when phone and WhatsApp are the same number', () => {
    assert.deepEqual(parser.parse({ phone: '+12015550123', whatsapp: 'whatsapp:+1 201 555 0123' }).keys, [
      '+12015550123',
    ]);
  });

  it('reads national numbers with the object country before the default country', () => {
    assert.equal(parser.parse({ phone: '020 7946 0000', country: 'gb' }).phone, '+442079460000');
    assert.equal(parser.parse({ phone: '(201) 555-0123' }).phone, '+12015550123');
  });

  it('accepts numeric and trimmed ids, and id: strings (keys parse to themselves)', () => {
    assert.deepEqual(parser.parse({ id: 42 }), { keys: ['id:42'], id: '42' });
    assert.deepEqual(parser.parse({ id: '  crm-42 ' }), { keys: ['id:crm-42'], id: 'crm-42' });
    assert.deepEqual(parser.parse('id:crm-42'), { keys: ['id:crm-42'], id: 'crm-42' });
  });

  it('treats null and blank fields as missing (CRM exports)', () => {
    assert.deepEqual(parser.parse({ phone: null, email: '', id: 'crm-7' }).keys, ['id:crm-7']);
  });

  it('rejects objects with no identifier, wrong types or a field that does not parse, naming the field', () => {
    assertInvalidContact(() => parser.parse({}), /none of phone, whatsapp, email or id/);
    assertInvalidContact(() => parser.parse({ name: 'Ana' }), /none of phone, whatsapp, email or id/);
    assertInvalidContact(
      () => parser.parse({ phone: 2015550123 }),
      /contact\.phone must be a string, got a number/,
    );
    assertInvalidContact(
      () => parser.parse({ email: ['a@b.co'] }),
      /contact\.email must be a string, got an array/,
    );
    assertInvalidContact(() => parser.parse({ id: { x: 1 } }), /contact\.id must be a string or number/);
    assertInvalidContact(() => parser.parse({ id: NaN }), /contact\.id: /);
    assertInvalidContact(
      () => parser.parse({ phone: '+12015550123', email: 'nope' }),
      /^contact\.email: "nope"/,
    );
    assertInvalidContact(() => parser.parse({ phone: '+1 555' }), /^contact\.phone: .*too short/);
    assertInvalidContact(
      () => parser.parse({ phone: '020 7946 0000', country: 'XX' }),
      /contact\.country: "XX"/,
    );
  });

  it('reads own properties only: prototype keys never become identifiers', () => {
    const polluted = JSON.parse(
      '{"__proto__": {"phone": "+12015550123"}, "email": "ana@example.com"}',
    ) as object;
    assert.deepEqual(parser.parse(polluted).keys, ['ana@example.com']);
    const inherited = Object.create({ phone: '+12015550123' }) as object;
    assertInvalidContact(() => parser.parse(inherited), /none of phone/);
    assert.equal(({} as { phone?: unknown }).phone, undefined);
  });

  it("carries an object contact's zone hints (first non-blank of each field's names, trimmed)", () => {
    assert.deepEqual(
      parser.parse({
        phone: '+12015550123',
        timezone: ' ',
        timeZone: 5,
        tz: ' America/Chicago ',
        state: 'TX',
        province: 'ON',
        postcode: '75001',
        zip: '10001',
        country: ' us ',
      }).hints,
      { timezone: 'America/Chicago', region: 'TX', postalCode: '75001', country: 'US' },
    );
    assert.deepEqual(parser.parse({ id: 'crm-1', region: 'NY', postalCode: 'SW1A 1AA' }).hints, {
      region: 'NY',
      postalCode: 'SW1A 1AA',
    });
    assert.deepEqual(parser.parse({ id: 'crm-1', province: 'QC' }).hints, { region: 'QC' });
    assert.deepEqual(parser.parse({ id: 'crm-1', timeZone: 'Europe/Paris' }).hints, {
      timezone: 'Europe/Paris',
    });
    // The parser's default country is not the contact's: only a country the contact gives is a hint.
    assert.equal(parser.parse({ phone: '(201) 555-0123' }).hints, undefined);
    assert.equal(parser.parse('+12015550123').hints, undefined);
    assert.equal(parser.parse('ana@example.com').hints, undefined);
    const inherited = Object.assign(Object.create({ timezone: 'Asia/Tokyo' }) as object, { id: 'x' });
    assert.equal(parser.parse(inherited).hints, undefined);
  });
});

describe('contacts: bad input and options', () => {
  const parser = new ContactParser();

  it('rejects every non-contact value with a clear message', () => {
    for (const [value, pattern] of [
      [null, /got null/],
      [undefined, /got a undefined/],
      [42, /got a number/],
      [true, /got a boolean/],
      [['+12015550123'], /got an array/],
      ['', /empty/],
      ['   ', /empty/],
      ['x'.repeat(321), /longer than 320 characters/],
      ['+1'.padEnd(400, '0'), /longer than 320 characters/],
    ] as const) {
      assertInvalidContact(() => parser.parse(value), pattern);
    }
  });

  it('tryParse() returns the error instead of throwing', () => {
    const result = parser.tryParse({ email: 'nope' });
    assert.ok(result instanceof DncError);
    assert.equal(result.code, 'DNC_INVALID_CONTACT');
    assert.deepEqual((parser.tryParse('+12015550123') as ParsedContact).keys, ['+12015550123']);
    assert.ok(parser.tryParse(null) instanceof DncError);
  });

  it('validates defaultCountry (ISO alpha-2, any case)', () => {
    assert.equal(new ContactParser({ defaultCountry: 'de' }).defaultCountry, 'DE');
    assert.equal(new ContactParser().defaultCountry, undefined);
    for (const bad of ['GBR', 'ZZ', '1', 'U S']) {
      assert.throws(
        () => new ContactParser({ defaultCountry: bad }),
        (error: unknown) =>
          error instanceof DncError && error.code === 'DNC_INVALID_INPUT' && error.field === 'defaultCountry',
        bad,
      );
    }
  });

  it('contactLabel() shows the first identifier', () => {
    assert.equal(contactLabel(parser.parse({ email: 'a@b.co', phone: '+14155550123' })), '+14155550123');
    assert.equal(contactLabel(parser.parse('A@B.co')), 'a@b.co');
    assert.equal(contactLabel(parser.parse({ id: 'crm-42' })), 'crm-42');
  });
});

describe('contacts: isValidE164 agrees exactly with libphonenumber-js', function () {
  this.timeout(120_000);
  const parser = new ContactParser();

  /** Compares validity and the key with libphonenumber's own parse of the same string. */
  function disagreements(numbers: readonly string[]): string[] {
    const found: string[] = [];
    for (const e164 of numbers) {
      const expectedValid = isValidPhoneNumber(e164);
      const parsed = parsePhoneNumberFromString(e164, { extract: false });
      const expectedKey = parsed && parsed.isValid() ? parsed.number : null;
      const result = parser.tryParse(e164);
      const key = result instanceof DncError ? null : result.keys[0];
      if (isValidE164(e164) !== expectedValid || key !== expectedKey) {
        found.push(
          `${e164}: isValidE164=${isValidE164(e164)} key=${key} libphonenumber=${expectedValid}/${expectedKey}`,
        );
      }
    }
    return found;
  }

  const metadata = maxMetadata as unknown as { country_calling_codes: object; nonGeographic: object };
  const callingCodes = [
    ...Object.keys(metadata.country_calling_codes),
    ...Object.keys(metadata.nonGeographic),
  ];

  it('on 220,000 random numbers over every calling code and lengths 7-15', () => {
    const random = seededRandom(20240611);
    const numbers: string[] = [];
    for (let i = 0; i < 220_000; i++) {
      const callingCode = callingCodes[i % callingCodes.length];
      const digitCount = 7 + Math.floor(random() * 9);
      let number = `+${callingCode}`;
      while (number.length - 1 < digitCount) number += Math.floor(random() * 10);
      numbers.push(number);
    }
    assert.deepEqual(disagreements(numbers).slice(0, 10), []);
  });

  it('on every example number and 160 variants of each with its last 1-8 digits randomised', () => {
    const random = seededRandom(7);
    const numbers: string[] = [];
    // The examples are national numbers: one valid mobile number per country.
    for (const [country, national] of Object.entries(examples as Record<string, string>)) {
      const example = `+${getCountryCallingCode(country as CountryCode)}${national}`;
      numbers.push(example);
      for (let keep = example.length - 1; keep >= example.length - 8; keep--) {
        for (let i = 0; i < 20; i++) {
          let number = example.slice(0, keep);
          while (number.length < example.length) number += Math.floor(random() * 10);
          numbers.push(number);
        }
      }
    }
    const valid = numbers.filter((number) => isValidPhoneNumber(number)).length;
    assert.ok(valid > numbers.length / 4, `the sample should contain many valid numbers (${valid})`);
    assert.deepEqual(disagreements(numbers).slice(0, 10), []);
  });

  it('keeps the memo bounded', () => {
    assert.ok(phoneMemoStats().bytes <= 4 * 1024 * 1024 + 512 * 1024, JSON.stringify(phoneMemoStats()));
  });

  it('returns false for anything that is not + and 7-15 digits', () => {
    for (const text of [
      '12015550123',
      '+1 201 555 0123',
      '+1201555012a',
      '+0123456789',
      '+1234567890123456',
      '',
    ]) {
      assert.equal(isValidE164(text), false, text);
    }
  });
});

describe('contacts: phoneNumberTypeOf agrees exactly with libphonenumber-js getType()', () => {
  // The calling policy takes a number's place from its type (toll-free, shared-cost... have none), so
  // the memoised type must be libphonenumber's, for every kind of number.
  const metadata = maxMetadata as unknown as {
    country_calling_codes: Record<string, string[]>;
    nonGeographic: object;
  };
  const callingCodes = [
    ...Object.keys(metadata.country_calling_codes),
    ...Object.keys(metadata.nonGeographic),
  ];

  it('on 3,000 random numbers over every calling code, and numbers of every type', () => {
    const random = seededRandom(20261204);
    const numbers: string[] = [];
    for (let i = 0; i < 3_000; i++) {
      const callingCode = callingCodes[i % callingCodes.length];
      const digitCount = 7 + Math.floor(random() * 9);
      let number = `+${callingCode}`;
      while (number.length - 1 < digitCount) number += Math.floor(random() * 10);
      numbers.push(number);
    }
    // toll-free, premium-rate, personal, shared-cost, VoIP, mobile, fixed, pager, UAN
    numbers.push('+18005550123', '+19002345678', '+15002345678', '+611300123456', '+61131234');
    numbers.push('+611800123456', '+61412345678', '+442079460000', '+447911123456', '+445612345678');
    numbers.push('+448001234567', '+449012345678', '+447011234567', '+33800123456', '+78001234567');
    const types = new Set<string>();
    const found: string[] = [];
    for (const e164 of numbers) {
      const expected = parsePhoneNumberFromString(e164, { extract: false })?.getType();
      // twice: the first answer fills the memo, the second reads it
      if (phoneNumberTypeOf(e164) !== expected || phoneNumberTypeOf(e164) !== expected)
        found.push(`${e164}: ${phoneNumberTypeOf(e164)} libphonenumber=${expected}`);
      if (expected !== undefined) types.add(expected);
    }
    assert.deepEqual(found.slice(0, 10), []);
    for (const type of [
      'FIXED_LINE',
      'MOBILE',
      'FIXED_LINE_OR_MOBILE',
      'TOLL_FREE',
      'PREMIUM_RATE',
      'SHARED_COST',
    ])
      assert.ok(types.has(type), `the sample holds ${type} numbers`);
    assert.equal(phoneNumberTypeOf('+1 800 555 0123'), undefined);
  });
});
