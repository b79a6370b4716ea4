import assert from 'node:assert/strict';
import { DncError } from '../lib/errors';
import { LabelCatalog } from '../lib/labels';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DncError, `expected a DncError, got ${String(err)}`);
    return err.code;
  }
  return undefined;
}

describe('label definitions', () => {
  const catalog = new LabelCatalog(
    [
      { name: 'DNC_Global', global: true },
      { name: 'DNC_Sales', description: 'No sales calls', expiresAfterDays: 365 },
      { name: 'DNC_SMS', channels: ['SMS', 'sms'] },
      { name: 'DNC_Robocall', channels: ['voice', 'ivr-outbound'] },
    ],
    ['IVR-Outbound '],
  );

  it('accepts names of letters, digits, _ and -, and lists the global ones', () => {
    assert.deepEqual(catalog.names, ['DNC_Global', 'DNC_Sales', 'DNC_SMS', 'DNC_Robocall']);
    assert.deepEqual(catalog.globalNames, ['DNC_Global']);
  });

  it('normalises channels to lower case without duplicates, custom channels included', () => {
    assert.deepEqual(catalog.find('DNC_SMS')?.channels, ['sms']);
    assert.deepEqual(catalog.find('DNC_Robocall')?.channels, ['voice', 'ivr-outbound']);
    assert.equal(catalog.find('DNC_Sales')?.channelSet, null, 'no channels = every channel');
  });

  it('computes expiry from expiresAfterDays, and never for labels without it', () => {
    const at = Date.UTC(2026, 0, 1);
    assert.equal(catalog.expiryFor('DNC_Sales', at), Date.UTC(2027, 0, 1));
    assert.equal(catalog.expiryFor('DNC_Global', at), null);
  });

  it('rejects bad names, duplicates and names differing only in case with DNC_INVALID_LABEL', () => {
    for (const bad of ['', 'DNC Sales', 'DNC.Sales', 'x'.repeat(65), 'DNC/Sales']) {
      assert.equal(
        codeOf(() => new LabelCatalog([{ name: bad }])),
        'DNC_INVALID_LABEL',
        bad,
      );
    }
    assert.equal(
      codeOf(() => new LabelCatalog([{ name: 'A' }, { name: 'A' }])),
      'DNC_INVALID_LABEL',
    );
    assert.equal(
      codeOf(() => new LabelCatalog([{ name: 'DNC_Sales' }, { name: 'dnc_sales' }])),
      'DNC_INVALID_LABEL',
    );
  });

  it('rejects bad channels, expiry and flags, naming the field', () => {
    const cases: unknown[] = [
      { name: 'A', channels: 'sms' },
      { name: 'A', channels: ['sms text'] },
      { name: 'A', expiresAfterDays: -1 },
      { name: 'A', expiresAfterDays: 'soon' },
      { name: 'A', expiresAfterDays: 100000 },
      { name: 'A', global: 'yes' },
      null,
      'DNC_Sales',
    ];
    for (const bad of cases) {
      try {
        new LabelCatalog([bad]);
        assert.fail(`accepted ${JSON.stringify(bad)}`);
      } catch (err) {
        assert.ok(err instanceof DncError);
        assert.equal(err.code, 'DNC_INVALID_LABEL');
        assert.match(err.field ?? '', /^labels\[0\]/);
      }
    }
  });

  it('treats an empty, zero or null expiry as never (as the editor sends it)', () => {
    const c = new LabelCatalog([
      { name: 'A', expiresAfterDays: '' },
      { name: 'B', expiresAfterDays: 0 },
      { name: 'C', expiresAfterDays: null },
      { name: 'D', expiresAfterDays: '30' },
    ]);
    assert.equal(c.find('A')?.expiresAfterDays, null);
    assert.equal(c.find('B')?.expiresAfterDays, null);
    assert.equal(c.find('C')?.expiresAfterDays, null);
    assert.equal(c.find('D')?.expiresAfterDays, 30);
  });

  it('resolves label names from a list or a comma-separated string, and names every unknown label', () => {
    assert.deepEqual(catalog.resolveNames(['DNC_Sales', 'DNC_SMS', 'DNC_Sales']), ['DNC_Sales', 'DNC_SMS']);
    assert.deepEqual(catalog.resolveNames(' DNC_Sales , DNC_SMS '), ['DNC_Sales', 'DNC_SMS']);
    try {
      catalog.resolveNames(['DNC_Sales', 'DNC_Nope', 'dnc_sales']);
      assert.fail('accepted unknown labels');
    } catch (err) {
      assert.ok(err instanceof DncError);
      assert.equal(err.code, 'DNC_UNKNOWN_LABEL');
      assert.match(err.message, /"DNC_Nope", "dnc_sales"/);
      assert.match(err.message, /defined labels: DNC_Global, DNC_Sales/);
    }
    assert.equal(
      codeOf(() => catalog.resolveNames(42)),
      'DNC_INVALID_INPUT',
    );
    assert.equal(
      codeOf(() => catalog.resolveNames([{ name: 'DNC_Sales' }])),
      'DNC_INVALID_INPUT',
    );
  });

  describe('channels', () => {
    it('knows the built-in channels and the declared custom ones, case- and space-insensitively', () => {
      const c = new LabelCatalog([], [' Fax', 'ivr-outbound', 'SMS', '']);
      assert.deepEqual(c.customChannels, ['fax', 'ivr-outbound'], 'built-in names and blanks are dropped');
      assert.deepEqual(c.channels, ['voice', 'sms', 'whatsapp', 'email', 'fax', 'ivr-outbound']);
      assert.equal(c.channelOf(' SMS '), 'sms');
      assert.equal(c.channelOf('FAX'), 'fax');
      assert.deepEqual(new LabelCatalog([], 'fax, ivr').customChannels, ['fax', 'ivr'], 'text as typed');
      assert.deepEqual(new LabelCatalog([]).customChannels, [], 'none declared: a 0.1.0 configuration');
    });

    it('refuses a typo or a synonym of a channel that is not declared, naming the field', () => {
      const c = new LabelCatalog([], ['fax']);
      for (const unknown of ['smss', 'text', 'phone', 'call', 'e-mail', 'ivr']) {
        try {
          c.channelOf(unknown, 'channel');
          assert.fail(`accepted ${unknown}`);
        } catch (err) {
          assert.ok(err instanceof DncError);
          assert.equal(err.code, 'DNC_INVALID_INPUT');
          assert.equal(err.field, 'channel');
          assert.match(err.message, new RegExp(`"${unknown}" is not a known channel`));
          assert.match(err.message, /voice, sms, whatsapp, email and the declared fax/);
        }
      }
    });

    it('refuses a label scope naming an undeclared channel, naming the label and the channel', () => {
      // 0.1.0 took any word as a custom channel: such a configuration now gets this message.
      try {
        new LabelCatalog([
          { name: 'DNC_SMS', channels: ['sms'] },
          { name: 'DNC_Text', channels: ['voice', 'smss'] },
        ]);
        assert.fail('accepted a scope on an undeclared channel');
      } catch (err) {
        assert.ok(err instanceof DncError);
        assert.equal(err.code, 'DNC_INVALID_LABEL');
        assert.equal(err.field, 'labels[1].channels[1]');
        assert.match(err.message, /label DNC_Text: channel "smss" is not declared/);
        assert.match(err.message, /custom channels/);
      }
      const declared = new LabelCatalog([{ name: 'DNC_Fax', channels: ['FAX'] }], ['fax']);
      assert.deepEqual(declared.find('DNC_Fax')?.channels, ['fax']);
    });

    it('refuses a custom channel list that is not a list of channel names', () => {
      for (const bad of [42, { fax: true }, ['fax machine'], [7]]) {
        try {
          new LabelCatalog([], bad);
          assert.fail(`accepted ${JSON.stringify(bad)}`);
        } catch (err) {
          assert.ok(err instanceof DncError);
          assert.equal(err.code, 'DNC_INVALID_INPUT');
          assert.match(err.field ?? '', /^channels/);
        }
      }
    });
  });
});
