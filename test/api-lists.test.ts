/**
 * The list routes the DNC sidebar reads: each label with how many contacts carry it (active, expired), the
 * contacts on one list paged and filtered, and the deployed registries in the health route.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- responses are untyped JSON */
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useNodeRed } from './nodes/support';
import { apiModules, config, deploy, get, helper } from './api-support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const registryModule = require('../nodes/dnc-registry') as unknown;

describe('DNC API: lists and the registries in health', function () {
  this.timeout(20000);
  const userDir = useNodeRed();

  it('counts the contacts on each list, active and expired, and pages and filters one list', async () => {
    await deploy();
    const service = helper.getNode('c1').dnc.service;
    for (let i = 0; i < 7; i++) {
      await service.addLabels({
        contact: `+4420718387${60 + i}`,
        labels: ['DNC_Sales'],
        source: 'test',
        reason: `r${i}`,
      });
    }
    await service.addLabels({
      contact: 'ana@example.com',
      labels: ['DNC_Sales', 'DNC_Global'],
      source: 'test',
    });
    const lists = await get('/dnc/lists');
    assert.equal(lists.status, 200, lists.text);
    const byName = Object.fromEntries(lists.body.lists.map((l: any) => [l.name, [l.active, l.expired]]));
    assert.deepEqual(byName.DNC_Sales, [8, 0]);
    assert.deepEqual(byName.DNC_Global, [1, 0]);
    assert.equal(lists.body.contacts, 8);

    const first = await get('/dnc/lists/DNC_Sales/contacts?limit=3');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.total, 8);
    assert.equal(first.body.contacts.length, 3);
    const second = await get('/dnc/lists/DNC_Sales/contacts?limit=3&offset=3');
    const third = await get('/dnc/lists/DNC_Sales/contacts?limit=3&offset=6');
    const all = [...first.body.contacts, ...second.body.contacts, ...third.body.contacts].map(
      (c: any) => c.contact,
    );
    assert.equal(new Set(all).size, 8, 'pages do not overlap and miss nothing');
    assert.equal(third.body.contacts.length, 2);

    // Typed the way people write numbers: spaces and dashes ignored.
    const filtered = await get(`/dnc/lists/DNC_Sales/contacts?q=${encodeURIComponent('7183-8762')}`);
    assert.deepEqual(
      filtered.body.contacts.map((c: any) => [c.contact, c.label.reason, c.label.active]),
      [['+442071838762', 'r2', true]],
    );
    assert.equal(filtered.body.total, 1);
    const email = await get('/dnc/lists/DNC_Global/contacts?q=ANA@');
    assert.deepEqual(
      email.body.contacts.map((c: any) => c.contact),
      ['ana@example.com'],
    );
  });

  it('refuses an unknown list with 404 and bad paging with 400', async () => {
    await deploy();
    const unknown = await get('/dnc/lists/DNC_Nope/contacts');
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.body.code, 'DNC_NOT_FOUND');
    assert.equal((await get('/dnc/lists/DNC_Sales/contacts?limit=0')).status, 400);
    assert.equal((await get('/dnc/lists/DNC_Sales/contacts?limit=501')).status, 400);
    assert.equal((await get('/dnc/lists/DNC_Sales/contacts?offset=-1')).status, 400);
  });

  it('describes each deployed registry in the health route: as-of date, validity, numbers', async () => {
    const file = join(userDir.dir, 'us-ndnc.txt');
    writeFileSync(file, '415,5550199\n212,5553003\n');
    const asOf = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    writeFileSync(`${file}.asof`, asOf);
    await helper.load(
      [...apiModules, registryModule],
      [
        config(),
        {
          id: 'r1',
          type: 'dnc-registry',
          name: 'US list',
          kind: 'file',
          registry: 'US_NDNC',
          path: 'us-ndnc.txt',
          watch: false,
        },
      ],
    );
    let registries: any[] = [];
    for (let i = 0; i < 100; i++) {
      const health = await get('/dnc/health');
      registries = health.body.registries ?? [];
      if (registries[0]?.state === 'ready') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(registries.length, 1);
    const [r] = registries;
    assert.deepEqual(
      [r.node, r.registry, r.name, r.kind, r.state, r.asOf.slice(0, 10), r.maxAgeDays, r.count],
      ['r1', 'US_NDNC', 'US list', 'file', 'ready', asOf, 31, 2],
    );
  });
});
