/**
 * The DNC changes node on a PostgreSQL store shared with another instance: by default it sends the
 * changes made through its own Node-RED, with "every instance" the others' too (payload.origin says
 * which), so that a flow deployed on every instance handles each change once.
 */
import assert from 'node:assert/strict';
import { AuditKey } from '../../lib/store/audit-hash';
import { PostgresStore } from '../../lib/store/postgres/store';
import { addChange } from '../store-contract';
import { freshDatabase, requirePostgres } from '../support/postgres';
import { ANA, BEN, allModules, config, helper, storeReady, testFlow, useNodeRed } from './support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const eventsModule = require('../../nodes/dnc-events') as unknown;

describe('DNC changes node on a PostgreSQL store shared by two instances', function () {
  this.timeout(30_000);
  requirePostgres();
  useNodeRed();

  it('sends its own instance changes by default, every instance changes when asked, each with its origin', async function () {
    const url = await freshDatabase();
    const key = AuditKey.generate().export();
    await helper.load(
      [...allModules, eventsModule],
      testFlow(
        [
          config('c1', { storeType: 'postgres' }),
          { id: 'mine', type: 'dnc-events', z: 't1', config: 'c1', wires: [['ownOut']] },
          { id: 'every', type: 'dnc-events', z: 't1', config: 'c1', instances: 'all', wires: [['allOut']] },
        ],
        ['ownOut', 'allOut'],
      ),
      { c1: { postgresUrl: url, auditKey: key } },
    );
    await storeReady();
    const received: Record<string, { contact: string; origin: string }[]> = { ownOut: [], allOut: [] };
    for (const id of ['ownOut', 'allOut']) {
      helper.getNode(id).on('input', (msg: { payload: { contact: string; origin: string } }) => {
        received[id].push({ contact: msg.payload.contact, origin: msg.payload.origin });
      });
    }
    // Another instance on the same database.
    const other = new PostgresStore({
      connectionString: url,
      auditKey: key,
      logger: { warn: () => undefined },
    });
    await other.open();
    try {
      await other.apply(addChange([BEN], ['DNC_Sales']));
      await helper
        .getNode('c1')
        .dnc.service.addLabels({ contact: ANA, labels: ['DNC_Sales'], source: 'ivr' });
      const start = Date.now();
      while (received.allOut.length < 2 && Date.now() - start < 3000)
        await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(received.ownOut, [{ contact: ANA, origin: 'local' }]);
      assert.deepEqual(
        [...received.allOut].sort((x, y) => x.contact.localeCompare(y.contact)),
        [
          { contact: ANA, origin: 'local' },
          { contact: BEN, origin: 'remote' },
        ].sort((x, y) => x.contact.localeCompare(y.contact)),
      );
    } finally {
      await other.close();
    }
  });
});
