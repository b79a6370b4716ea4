/**
 * The DNC labels node on the PostgreSQL store, in the real Node-RED runtime (test helper) against the
 * throwaway server: storeType `postgres` with the URL as a credential or from DNC_POSTGRES_URL, an
 * opt-out written through one flow enforced by a check reading through a second store on the same
 * database (what a second instance sees), and settings that cannot be used failing closed.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditKey } from '../../lib/store/audit-hash';
import { PostgresStore } from '../../lib/store/postgres/store';
import { freshDatabase, requirePostgres, testPostgres } from '../support/postgres';
import {
  ANA,
  allModules,
  caughtError,
  config,
  helper,
  nextMessage,
  statusMatching,
  storeReady,
  testFlow,
  useNodeRed,
} from './support';

type Props = Record<string, unknown>;

function flow(configOverrides: Props): Props[] {
  return testFlow(
    [
      config('c1', { storeType: 'postgres', ...configOverrides }),
      {
        id: 'add',
        type: 'dnc-add-label',
        z: 't1',
        config: 'c1',
        labels: ['DNC_Sales'],
        contact: 'payload',
        contactType: 'msg',
        source: 'ivr',
        wires: [['added']],
      },
      { id: 'n1', type: 'dnc-check', z: 't1', config: 'c1', labels: [], wires: [['allowed'], ['blocked']] },
    ],
    ['added', 'allowed', 'blocked'],
  );
}

describe('DNC labels node on PostgreSQL', function () {
  this.timeout(30_000);
  requirePostgres();
  const userDir = useNodeRed();
  const saved = process.env.DNC_POSTGRES_URL;
  afterEach(function () {
    if (saved === undefined) delete process.env.DNC_POSTGRES_URL;
    else process.env.DNC_POSTGRES_URL = saved;
  });

  it('writes an opt-out that another instance on the database enforces, and keys the trail with the shared key file', async function () {
    const url = await freshDatabase();
    await helper.load(allModules, flow({ postgresSchema: 'dnc' }), { c1: { postgresUrl: url } });
    await storeReady();
    const added = nextMessage(helper.getNode('added'));
    helper.getNode('add').receive({ payload: ANA });
    assert.equal((await added).dnc.changed[0], 'DNC_Sales');

    // The key file every instance without a configured key reads, 0600 in the user directory.
    const keyPath = join(userDir.dir, 'dnc-postgres-dnc.key');
    assert.ok(existsSync(keyPath));
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    const other = new PostgresStore({ connectionString: url, keyPath, logger: { warn: () => undefined } });
    await other.open();
    try {
      assert.equal(other.lookup(ANA)?.labels[0].label, 'DNC_Sales');
      assert.deepEqual(await other.verify(), { ok: true, records: 1 });
    } finally {
      await other.close();
    }
    const blocked = nextMessage(helper.getNode('blocked'));
    helper.getNode('n1').receive({ payload: ANA });
    assert.equal((await blocked).dnc.reasons[0].code, 'LABEL');
  });

  it("the nodes' status shows the shared store and its lag, turns red without the database, and recovers", async function () {
    this.timeout(60_000);
    const server = await testPostgres();
    const url = await freshDatabase();
    await helper.load(allModules, flow({ maxStaleness: '1' }), { c1: { postgresUrl: url } });
    await storeReady();
    const check = helper.getNode('n1');
    await statusMatching(check, (s) => s.text === 'ready, lag < 2 s', 5000);
    const red = statusMatching(check, (s) => s.text === 'store unavailable' && s.fill === 'red', 15_000);
    server.stop('immediate');
    try {
      await red;
      // A check now fails closed.
      const blocked = nextMessage(helper.getNode('blocked'));
      check.receive({ payload: ANA });
      assert.equal((await blocked).dnc.reasons[0].code, 'STORE_UNAVAILABLE');
    } finally {
      server.start();
    }
    await statusMatching(check, (s) => s.text === 'ready, lag < 2 s', 20_000);
  });

  it('takes the connection from DNC_POSTGRES_URL when the credential is blank', async function () {
    process.env.DNC_POSTGRES_URL = await freshDatabase();
    await helper.load(allModules, flow({}), { c1: { auditKey: AuditKey.generate().export() } });
    await storeReady();
    assert.equal(helper.getNode('c1').dnc.state, 'ready');
    assert.equal(helper.getNode('c1').dnc.service.store.status().type, 'postgres');
  });

  // A URL nothing listens on: the settings are refused before any connection is tried.
  const unused = 'postgres://dnc@127.0.0.1:9/dnc';
  for (const [what, overrides, envUrl, field] of [
    ['no connection at all', {}, undefined, 'postgresUrl'],
    ['a connection that is not a URL', {}, 'host=db user=dnc', 'postgresUrl'],
    ['a misspelt store type', { storeType: 'postgress' }, unused, 'storeType'],
    ['a schema name that is not a plain SQL name', { postgresSchema: 'DNC; drop' }, unused, 'postgresSchema'],
    ['a pool size of 0', { postgresPoolSize: '0' }, unused, 'postgresPoolSize'],
  ] as const) {
    it(`fails closed with ${what}: the check blocks with a Catch-able DNC_INVALID_INPUT`, async function () {
      if (envUrl === undefined) delete process.env.DNC_POSTGRES_URL;
      else process.env.DNC_POSTGRES_URL = envUrl;
      await helper.load(allModules, flow(overrides));
      const binding = helper.getNode('c1').dnc;
      assert.equal(binding.state, 'invalid');
      assert.equal(binding.error.code, 'DNC_INVALID_INPUT');
      assert.equal(binding.error.field, field);
      const caught = nextMessage(helper.getNode('caught'));
      helper.getNode('n1').receive({ payload: ANA });
      assert.equal(caughtError(await caught).code, 'DNC_INVALID_INPUT');
    });
  }
});
