import assert from 'node:assert/strict';
import { DncError } from '../lib/errors';
import {
  commonRegistryOptions,
  DEFAULT_MAPPING,
  fileRegistryOptions,
  registryIdOf,
  serviceMappingOf,
  serviceRegistryOptions,
} from '../lib/registries/options';

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DncError);
    assert.equal(err.code, 'DNC_INVALID_INPUT');
    assert.match(err.message, message);
    return true;
  });
}

describe('registry definitions (the dnc-registry node fields) as registry options', () => {
  it('names the registry: a known id, a custom id, CUSTOM when left blank, US_NDNC by default', () => {
    assert.equal(registryIdOf({}), 'US_NDNC');
    assert.equal(registryIdOf({ registry: 'UK_TPS' }), 'UK_TPS');
    assert.equal(registryIdOf({ registry: 'custom', customId: ' MY_LIST ' }), 'MY_LIST');
    assert.equal(registryIdOf({ registry: 'custom', customId: '' }), 'CUSTOM');
  });

  it('checks what file and service registries share', () => {
    assert.deepEqual(
      commonRegistryOptions({ registry: 'AU_DNCR', maxAgeDays: '10', callingCodes: '+61, 64' }),
      {
        id: 'AU_DNCR',
        maxAgeDays: 10,
        callingCodes: ['61', '64'],
      },
    );
    assert.deepEqual(commonRegistryOptions({}), {
      id: 'US_NDNC',
      maxAgeDays: undefined,
      callingCodes: undefined,
    });
    refused(() => commonRegistryOptions({ registry: 'XX_DNC' }), /unknown registry "XX_DNC"/);
    refused(() => commonRegistryOptions({ maxAgeDays: '0' }), /maxAgeDays must be a number >= 0.001/);
    refused(() => commonRegistryOptions({ callingCodes: '1234' }), /calling codes are 1-3 digits/);
  });

  it('turns file fields into FileRegistry options', () => {
    const common = commonRegistryOptions({ registry: 'custom', customId: 'IT_RPO' });
    assert.deepEqual(
      fileRegistryOptions(
        {
          path: ' registries/it.csv ',
          layout: 'csv',
          layoutCallingCode: '+39',
          layoutColumn: '2',
          reloadHours: '12',
          minRetainedPercent: '80',
          asOf: ' 2026-03-01 ',
          watch: false,
        },
        common,
      ),
      {
        id: 'IT_RPO',
        source: 'registries/it.csv',
        layout: { layout: 'csv', callingCode: '39', column: 2 },
        maxAgeDays: undefined,
        callingCodes: undefined,
        watch: false,
        reloadIntervalMs: 12 * 3_600_000,
        asOf: '2026-03-01',
        minRetainedRatio: 0.8,
      },
    );
    const us = commonRegistryOptions({});
    assert.equal(fileRegistryOptions({ path: 'us.txt' }, us).layout, undefined);
    refused(() => fileRegistryOptions({ path: ' ' }, us), /a file or folder path is needed/);
    refused(() => fileRegistryOptions({ path: 'x', layout: 'xml' }, us), /unknown layout "xml"/);
    refused(() => fileRegistryOptions({ path: 'x', minRetainedPercent: 101 }, us), /from 0 to 100/);
    refused(
      () => fileRegistryOptions({ path: 'x', reloadHours: -1 }, us),
      /reloadHours must be a number >= 0/,
    );
  });

  it('turns service fields into ServiceRegistrySource options', () => {
    const common = commonRegistryOptions({ registry: 'AU_DNCR' });
    assert.equal(serviceMappingOf({}), DEFAULT_MAPPING);
    assert.equal(serviceMappingOf({ mapping: ' payload ' }), 'payload');
    assert.deepEqual(
      serviceRegistryOptions(
        {
          url: 'https://wash.example/x',
          method: 'get',
          headers: '{"x-key":"{apiKey}"}',
          timeout: '2',
          batchSize: 50,
        },
        common,
      ),
      {
        id: 'AU_DNCR',
        url: 'https://wash.example/x',
        method: 'GET',
        headers: { 'x-key': '{apiKey}' },
        body: undefined,
        batchSize: 50,
        numberFormat: 'e164',
        maxAgeDays: undefined,
        callingCodes: undefined,
        timeoutMs: 2000,
        retries: undefined,
        concurrency: undefined,
      },
    );
    refused(() => serviceRegistryOptions({ method: 'DELETE' }, common), /method must be GET, POST or PUT/);
    refused(() => serviceRegistryOptions({ headers: { a: 1 } as never }, common), /header a must be text/);
    refused(() => serviceRegistryOptions({ timeout: '0' }, common), /timeout must be a number >= 0.1/);
  });
});
