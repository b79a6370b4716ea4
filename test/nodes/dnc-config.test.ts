import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { AuditKey, computeKeyedRecordHash } from '../../lib/store/audit-hash';
import type { AuditRecord } from '../../lib/store/types';
import { join } from 'node:path';
import {
  ANA,
  allModules,
  caughtError,
  config,
  configModule,
  helper,
  nextMessage,
  storeReady,
  testFlow,
  useNodeRed,
} from './support';

type Props = Record<string, unknown>;

function withCheck(configOverrides: Props = {}): Props[] {
  return testFlow(
    [
      config('c1', configOverrides),
      { id: 'n1', type: 'dnc-check', z: 't1', config: 'c1', wires: [['allowed'], ['blocked']] },
    ],
    ['allowed', 'blocked'],
  );
}

describe('dnc-config node', function () {
  const userDir = useNodeRed();

  it('loads with its properties and keeps the store in dnc-store.json in the user directory by default', async function () {
    await helper.load([configModule], [config('c1', { name: 'Contact centre' })]);
    const c1 = helper.getNode('c1');
    assert.equal(c1.name, 'Contact centre');
    assert.equal(c1.dnc.storePath, join(userDir.dir, 'dnc-store.json'));
    assert.deepEqual(c1.dnc.service.catalog.names, ['DNC_Sales', 'DNC_Marketing', 'DNC_Global', 'Hold']);
    await storeReady();
    assert.equal(c1.dnc.state, 'ready');
    await c1.dnc.service.addLabels({ contact: ANA, labels: ['Hold'], source: 'test' });
    assert.ok(existsSync(join(userDir.dir, 'dnc-store.events.ndjson')));
  });

  it('creates the folder of its store path 0700 and the store files 0600, whatever the umask', async function () {
    const saved = process.umask(0);
    try {
      await helper.load([configModule], [config('c1', { storePath: 'private/dnc/main.json' })]);
      await storeReady();
      await helper.getNode('c1').dnc.service.addLabels({ contact: ANA, labels: ['Hold'], source: 'test' });
    } finally {
      process.umask(saved);
    }
    assert.equal(statSync(join(userDir.dir, 'private')).mode & 0o777, 0o700);
    assert.equal(statSync(join(userDir.dir, 'private', 'dnc')).mode & 0o777, 0o700);
    assert.equal(statSync(join(userDir.dir, 'private', 'dnc', 'main.events.ndjson')).mode & 0o777, 0o600);
  });

  it('keys the audit trail with the audit key credential (no key file), or with the key file when blank', async function () {
    const key = AuditKey.generate();
    await helper.load([configModule], [config('c1')], { c1: { auditKey: key.export() } });
    await storeReady();
    await helper.getNode('c1').dnc.service.addLabels({ contact: ANA, labels: ['Hold'], source: 'test' });
    const line = readFileSync(join(userDir.dir, 'dnc-store.events.ndjson'), 'utf8').trim();
    const record = JSON.parse(line) as AuditRecord;
    assert.equal(record.keyId, key.id);
    assert.equal(record.hash, computeKeyedRecordHash(key, record));
    assert.ok(!existsSync(join(userDir.dir, 'dnc-store.key')));
    await helper.unload();

    await helper.load([configModule], [config('c1', { storePath: 'other.json' })]);
    await storeReady();
    const fileKey = AuditKey.parse(readFileSync(join(userDir.dir, 'other.key'), 'utf8'));
    assert.ok(fileKey);
  });

  it('refuses a store whose audit key file was lost, and opens it with the labels when settings.js accepts the old key', async function () {
    await helper.load([configModule], [config('c1')]);
    await storeReady();
    await helper
      .getNode('c1')
      .dnc.service.addLabels({ contact: ANA, labels: ['DNC_Global'], source: 'test' });
    await helper.unload();
    const keyPath = join(userDir.dir, 'dnc-store.key');
    const oldId = AuditKey.parse(readFileSync(keyPath, 'utf8'))?.id;
    assert.ok(oldId);
    rmSync(keyPath);

    await helper.load([configModule], [config('c1')]);
    await storeReady().catch(() => undefined);
    assert.equal(helper.getNode('c1').dnc.state, 'unavailable');
    assert.ok(!existsSync(keyPath), 'no silent new key');
    await helper.unload();

    helper.settings({ userDir: userDir.dir, dncAcceptAuditKeyChange: oldId });
    await helper.load([configModule], [config('c1')]);
    await storeReady();
    const c1 = helper.getNode('c1');
    assert.equal(c1.dnc.state, 'ready');
    assert.equal(c1.dnc.service.check(ANA, { channel: 'voice' }).allowed, false, 'the opt-out is kept');
    assert.notEqual(AuditKey.parse(readFileSync(keyPath, 'utf8'))?.id, oldId);
  });

  it('resolves a relative store path against the user directory, creating its folder', async function () {
    await helper.load([configModule], [config('c1', { storePath: 'dnc/main.json' })]);
    assert.equal(helper.getNode('c1').dnc.storePath, join(userDir.dir, 'dnc', 'main.json'));
    await storeReady();
    assert.equal(helper.getNode('c1').dnc.state, 'ready');
  });

  it('reads national numbers with the default country', async function () {
    await helper.load(allModules, withCheck({ defaultCountry: 'gb' }));
    await storeReady();
    await helper
      .getNode('c1')
      .dnc.service.addLabels({ contact: '07911 123456', labels: ['Hold'], source: 'test' });
    const out = nextMessage(helper.getNode('blocked'));
    helper.getNode('n1').receive({ payload: ANA });
    assert.deepEqual((await out).dnc.matched, ['Hold']);
  });

  for (const [what, overrides, field] of [
    ['a bad label name', { labels: [{ name: 'has space' }] }, 'labels[0].name'],
    ['a duplicate label name', { labels: [{ name: 'A' }, { name: 'a' }] }, 'labels[1].name'],
    ['a bad channel', { labels: [{ name: 'A', channels: ['S M S'] }] }, 'labels[0].channels[0]'],
    ['a bad expiry', { labels: [{ name: 'A', expiresAfterDays: -3 }] }, 'labels[0].expiresAfterDays'],
    ['a bad default country', { defaultCountry: 'Britain' }, 'defaultCountry'],
  ] as const) {
    it(`reports ${what} without crashing, takes no store, and fails the nodes using it`, async function () {
      const errors: string[] = [];
      const flow = withCheck(overrides);
      await helper.load(allModules, flow);
      const c1 = helper.getNode('c1');
      c1.on('call:error', (call: { args: unknown[] }) => errors.push(String(call.args[0])));
      assert.equal(c1.dnc.service, null);
      assert.equal(c1.dnc.error.field, field);
      assert.equal(c1.dnc.storePath, null);
      const caught = nextMessage(helper.getNode('caught'));
      helper.getNode('n1').receive({ payload: ANA });
      const msg = await caught;
      assert.match(caughtError(msg).code, /^DNC_INVALID_(LABEL|INPUT)$/);
      assert.equal(existsSync(join(userDir.dir, 'dnc-store.events.ndjson')), false);
    });
  }

  it('reports an invalid configuration through node.error and stays deployable', async function () {
    await helper.load([configModule], [config('c1', { labels: 'not json' })]);
    const c1 = helper.getNode('c1');
    assert.equal(c1.dnc.error.code, 'DNC_INVALID_LABEL');
    assert.equal(c1.dnc.state, 'invalid');
    const logged = (helper.log().args as [{ level: number; msg: unknown; id?: string }][])
      .map((a) => a[0])
      .filter((m) => m.level === helper.log().ERROR && m.id === 'c1');
    assert.equal(logged.length, 1);
    assert.match(String(logged[0]?.msg), /invalid DNC labels configuration/);
  });

  it('releases the store on close, and a new deploy opens it again with the labels written before', async function () {
    await helper.load([configModule], [config('c1')]);
    await storeReady();
    const first = helper.getNode('c1').dnc.service;
    await first.addLabels({ contact: ANA, labels: ['DNC_Sales'], source: 'test' });
    await helper.unload();
    assert.equal(first.store.status().state, 'closed');
    await helper.load([configModule], [config('c1')]);
    await storeReady();
    const second = helper.getNode('c1').dnc.service;
    assert.notEqual(second.store, first.store);
    assert.equal(second.check(ANA, { channel: 'sms' }).allowed, false);
  });

  it('shares one store between config nodes naming the same file, and closes it after the last one', async function () {
    await helper.load(
      [configModule],
      [config('c1'), config('c2', { storePath: 'dnc-store.json', labels: [] })],
    );
    await storeReady('c1');
    const a = helper.getNode('c1').dnc.service;
    const b = helper.getNode('c2').dnc.service;
    assert.equal(a.store, b.store);
    await helper.unload();
    assert.equal(a.store.status().state, 'closed');
  });

  it('takes a 0.1.0 configuration (no channel list) with the custom channels its labels are scoped to, with a warning', async function () {
    const labels = [{ name: 'DNC_Fax', channels: ['voice', 'Fax'] }];
    const flow = withCheck({ labels });
    assert.equal('channels' in flow[1], false, 'saved by 0.1.0: no channel list');
    await helper.load(allModules, flow);
    const c1 = helper.getNode('c1');
    assert.equal(c1.dnc.error, null);
    assert.deepEqual(c1.dnc.service.catalog.customChannels, ['fax']);
    await storeReady();
    // Its flows keep recording opt-outs after the upgrade, and checks on fax see the label.
    await c1.dnc.service.addLabels({ contact: ANA, labels: ['DNC_Fax'], source: 'test' });
    assert.equal(c1.dnc.service.check(ANA, { channel: 'fax' }).allowed, false);
    assert.equal(c1.dnc.service.check(ANA, { channel: 'faxx' }).reasons[0].code, 'UNKNOWN_CHANNEL');
  });

  it('refuses a label scoped to a channel that its channel list does not declare, naming label and channel', async function () {
    const labels = [{ name: 'DNC_Fax', channels: ['voice', 'Fax'] }];
    await helper.load(allModules, withCheck({ labels, channels: ['ivr-outbound'] }));
    const c1 = helper.getNode('c1');
    assert.equal(c1.dnc.service, null);
    assert.equal(c1.dnc.error.code, 'DNC_INVALID_LABEL');
    assert.equal(c1.dnc.error.field, 'labels[0].channels[1]');
    assert.match(c1.dnc.error.message, /label DNC_Fax: channel "fax" is not declared/);
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('n1').receive({ payload: ANA });
    assert.equal(caughtError(await caught).code, 'DNC_INVALID_LABEL');
  });

  it('takes the custom channels it declares, and the same labels then deploy', async function () {
    const labels = [{ name: 'DNC_Fax', channels: ['voice', 'Fax'] }];
    await helper.load(allModules, withCheck({ labels, channels: [' FAX', 'ivr-outbound'] }));
    const c1 = helper.getNode('c1');
    assert.equal(c1.dnc.error, null);
    assert.deepEqual(c1.dnc.service.catalog.customChannels, ['fax', 'ivr-outbound']);
    assert.deepEqual(c1.dnc.service.catalog.find('DNC_Fax').channels, ['voice', 'fax']);
  });
});
