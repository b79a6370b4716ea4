import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRegistry, type FileRegistryOptions } from '../lib/registries/registry';
import { ServiceRegistrySource } from '../lib/registries/service-source';
import { DncService } from '../lib/service';
import { EmbeddedStore } from '../lib/store/embedded';

const MARCH_1 = Date.UTC(2026, 2, 1);
const MARCH_8 = Date.UTC(2026, 2, 8);

/** `count` US numbers in the registry's layout: 201,5550000 ... */
function usLines(count: number, from = 0): string {
  let text = '';
  for (let i = from; i < from + count; i++) text += `201,555${String(i).padStart(4, '0')}\n`;
  return text;
}
const US_FIRST = '+12015550000';

describe('registry data integrity: empty or shrunken data, as-of dates, validity', function () {
  let dir: string;
  const open: FileRegistry[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'registry-integrity-'))));
  afterEach(async () => {
    for (const registry of open.splice(0)) await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });
  function registry(options: Partial<FileRegistryOptions> & { source: string }): FileRegistry {
    const created = new FileRegistry({
      id: 'US_NDNC',
      watch: false,
      pollIntervalMs: 0,
      now: () => MARCH_8,
      ...options,
    });
    open.push(created);
    return created;
  }
  function file(name: string, text: string, mtime?: number): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    if (mtime !== undefined) utimesSync(path, mtime / 1000, mtime / 1000);
    return path;
  }

  describe('a load that yields no numbers, or far fewer than before, is refused', () => {
    for (const [what, text, options] of [
      ['a 0-byte file', '', {}],
      ['a blank file', '\n   \n\r\n\n', {}],
      ['a file of only unparseable lines', 'hello\nworld\n<html>\n', { maxMalformedRatio: 1 }],
    ] as const) {
      it(`${what}: not ready, every lookup "could not check", Check DNC blocks`, async () => {
        const source = file('us-ndnc-2026-03-01.txt', text);
        const us = registry({ source, ...options });
        const outcome = await us.start();
        assert.equal(outcome.ok, false);
        assert.match(outcome.error!.message, /no numbers/);
        const status = us.status();
        assert.equal(status.state, 'not-loaded');
        assert.equal(status.refused, 'empty');
        const lookup = us.lookup(US_FIRST);
        assert.equal(lookup.result, 'unavailable');
        assert.equal(lookup.reason, 'REGISTRY_NOT_LOADED');
        assert.match(lookup.detail!, /no numbers/);

        const store = new EmbeddedStore({ path: join(dir, 'dnc-store.json') });
        await store.open();
        try {
          const dnc = new DncService({ labels: [{ name: 'DNC_Sales' }], store, now: () => MARCH_8 });
          const decision = dnc.check('+14155550199', { registries: [us] });
          assert.equal(decision.allowed, false);
          assert.equal(decision.reasons[0].code, 'REGISTRY_UNAVAILABLE');
        } finally {
          await store.close();
        }
      });
    }

    it('overwriting loaded data with an empty file keeps the previous data with its own age', async () => {
      const source = file('us-ndnc.txt', usLines(10), MARCH_1);
      const us = registry({ source });
      assert.equal((await us.start()).ok, true);
      writeFileSync(source, '');
      utimesSync(source, MARCH_8 / 1000, MARCH_8 / 1000);
      const outcome = await us.reload();
      assert.equal(outcome.ok, false);
      assert.match(
        outcome.error!.message,
        /no numbers.*previous data \(10 numbers as of 2026-03-01\) is kept/,
      );
      const status = us.status();
      assert.equal(status.state, 'ready');
      assert.equal(status.count, 10);
      assert.equal(status.asOf, new Date(MARCH_1).toISOString());
      assert.equal(status.refused, 'empty');
      assert.equal(us.lookup(US_FIRST).result, 'listed');
      // A good file afterwards is taken and clears the refusal.
      file('us-ndnc.txt', usLines(12), MARCH_8);
      assert.equal((await us.reload()).ok, true);
      assert.equal(us.status().refused, null);
      assert.equal(us.status().count, 12);
    });

    it('a full list with fewer than half the numbers it replaces is refused; the share is configurable', async () => {
      const source = file('us-ndnc.txt', usLines(10), MARCH_1);
      const us = registry({ source });
      await us.start();
      file('us-ndnc.txt', usLines(4), MARCH_8);
      const refused = await us.reload();
      assert.equal(refused.ok, false);
      assert.match(refused.error!.message, /4 numbers, fewer than 50% of the 10/);
      assert.equal(us.status().refused, 'shrunk');
      assert.equal(us.status().count, 10);
      file('us-ndnc.txt', usLines(5), MARCH_8);
      assert.equal((await us.reload()).ok, true, 'half is not below half');
      assert.equal(us.status().count, 5);

      const strict = registry({ source: file('strict.txt', usLines(10), MARCH_1), minRetainedRatio: 0.9 });
      await strict.start();
      file('strict.txt', usLines(8), MARCH_8);
      assert.match((await strict.reload({ force: true })).error!.message, /8 numbers, fewer than 90%/);
      const off = registry({ source: file('off.txt', usLines(10), MARCH_1), minRetainedRatio: 0 });
      await off.start();
      file('off.txt', usLines(1), MARCH_8);
      assert.equal((await off.reload({ force: true })).ok, true);
      file('off.txt', '', MARCH_8);
      assert.match(
        (await off.reload({ force: true })).error!.message,
        /no numbers/,
        'no numbers is refused whatever the share',
      );
      assert.throws(() => registry({ source, minRetainedRatio: 1.5 }), /minRetainedRatio/);
    });

    it('change lists: a few numbers are normal; the rule applies to the resulting full data set', async () => {
      const folder = join(dir, 'ndnc');
      mkdirSync(folder);
      writeFileSync(join(folder, 'full-2026-03-01.txt'), usLines(10));
      const us = registry({ source: folder });
      assert.equal((await us.start()).ok, true);
      writeFileSync(join(folder, 'additions-2026-03-02.txt'), usLines(1, 100));
      const added = await us.reload();
      assert.equal(added.ok, true, added.error?.message);
      assert.equal(added.via, 'change-lists');
      assert.equal(us.status().count, 11);
      // Deletions that would take away most of the list.
      writeFileSync(join(folder, 'deletions-2026-03-03.txt'), usLines(8));
      const deleted = await us.reload();
      assert.equal(deleted.ok, false);
      assert.equal(us.status().refused, 'shrunk');
      assert.equal(us.status().count, 11);
      assert.equal(us.lookup(US_FIRST).result, 'listed');
    });

    it('a refused load does not replace the binary index: a restart still refuses it', async () => {
      const source = file('us-ndnc-2026-03-01.txt', '');
      const first = registry({ source });
      assert.equal((await first.start()).ok, false);
      await first.close();
      const again = registry({ source });
      const outcome = await again.start();
      assert.equal(outcome.ok, false);
      assert.equal(again.lookup(US_FIRST).result, 'unavailable');
    });

    it("after a restart, data far smaller than the previous run's binary index is refused and the index kept", async () => {
      const source = file('us-ndnc-2026-03-01.txt', usLines(1000));
      const first = registry({ source });
      assert.equal((await first.start()).count, 1000);
      await first.close();
      // A truncated download lands while Node-RED is stopped (or before a redeploy).
      writeFileSync(source, usLines(10));
      const DROPPED = '+12015550500';
      for (let run = 0; run < 2; run++) {
        const restarted = registry({ source });
        const outcome = await restarted.start();
        assert.equal(outcome.ok, false, `run ${run}: the truncated data was accepted`);
        assert.match(outcome.error!.message, /10 numbers, fewer than 50% of the 1000/);
        assert.equal(restarted.status().refused, 'shrunk');
        assert.equal(restarted.lookup(DROPPED).result, 'unavailable');
        assert.equal(restarted.lookup(US_FIRST).result, 'unavailable');
        await restarted.close();
      }
      // The whole list back: accepted; a deliberate shrink needs the share lowered, as at runtime.
      writeFileSync(source, usLines(1000));
      const restored = registry({ source });
      assert.equal((await restored.start()).ok, true);
      assert.equal(restored.lookup(DROPPED).result, 'listed');
      await restored.close();
      writeFileSync(source, usLines(10));
      const lowered = registry({ source, minRetainedRatio: 0 });
      assert.equal((await lowered.start()).count, 10);
    });
  });

  describe('the as-of date can be given explicitly, and is shown with its source', () => {
    it('a sidecar <file>.asof dates the data ahead of the file name and mtime (cp without -p)', async () => {
      // Copied today (fresh mtime), but the data is of January.
      const source = file('us-ndnc.txt', usLines(3), MARCH_8);
      file('us-ndnc.txt.asof', '2026-01-20\n');
      const us = registry({ source });
      assert.equal((await us.start()).ok, true);
      const status = us.status();
      assert.equal(status.asOf, '2026-01-20T00:00:00.000Z');
      assert.equal(status.asOfSource, 'sidecar');
      assert.equal(status.state, 'stale');
      assert.equal(us.lookup('+12015559999').result, 'stale');
    });

    it('a sidecar in a folder dates its file and is not read as data', async () => {
      const folder = join(dir, 'ndnc');
      mkdirSync(folder);
      writeFileSync(join(folder, 'full.txt'), usLines(3));
      writeFileSync(join(folder, 'full.txt.asof'), '2026-03-02');
      const us = registry({ source: folder });
      const outcome = await us.start();
      assert.equal(outcome.ok, true, outcome.error?.message);
      assert.equal(outcome.malformedLines, 0);
      assert.equal(us.status().asOfSource, 'sidecar');
      assert.equal(us.status().asOf, '2026-03-02T00:00:00.000Z');
    });

    for (const [what, text] of [
      ['blank', '  \n'],
      ['unparseable', 'last Tuesday'],
      ['impossible', '2026-02-30'],
      ['in the future', '2026-03-10'],
    ] as const) {
      it(`a sidecar that is ${what} refuses the load (fail closed), keeping the previous data`, async () => {
        const source = file('us-ndnc-2026-03-01.txt', usLines(3));
        const us = registry({ source });
        assert.equal((await us.start()).ok, true);
        file('us-ndnc-2026-03-01.txt.asof', text);
        const outcome = await us.reload({ force: true });
        assert.equal(outcome.ok, false);
        assert.match(outcome.error!.message, /as-of date/);
        assert.equal(us.status().refused, 'as-of');
        assert.equal(us.status().asOf, new Date(MARCH_1).toISOString());
        const fresh = registry({ source });
        assert.equal((await fresh.start()).ok, false);
        assert.equal(fresh.lookup(US_FIRST).result, 'unavailable');
      });
    }

    it('a future date in a file name refuses the load, unless a sidecar gives the date', async () => {
      const source = file('us-ndnc-2026-04-01.txt', usLines(3));
      const us = registry({ source });
      const outcome = await us.start();
      assert.equal(outcome.ok, false);
      assert.match(outcome.error!.message, /in the future/);
      assert.equal(us.lookup(US_FIRST).result, 'unavailable');
      file('us-ndnc-2026-04-01.txt.asof', '2026-03-03');
      assert.equal((await us.reload()).ok, true);
      assert.equal(us.status().asOfSource, 'sidecar');
    });

    it('a file modification time in the future refuses the load; an explicit date still wins', async () => {
      const YEAR_AHEAD = MARCH_8 + 365 * 86_400_000;
      const source = file('us-ndnc.txt', usLines(3), YEAR_AHEAD);
      const us = registry({ source });
      const outcome = await us.start();
      assert.equal(outcome.ok, false, 'data dated next year by its mtime was accepted');
      assert.match(outcome.error!.message, /modification time .* is in the future/);
      assert.equal(us.status().refused, 'as-of');
      assert.equal(us.lookup('+12015559999').result, 'unavailable');
      // A few minutes of clock skew between machines is allowed.
      const skewed = registry({ source: file('skewed.txt', usLines(3), MARCH_8 + 2 * 60_000) });
      assert.equal((await skewed.start()).ok, true);
      assert.equal(skewed.status().asOfSource, 'mtime');
      // Loaded data stays when its file is touched into the future.
      const loaded = registry({ source: file('loaded.txt', usLines(3), MARCH_1) });
      assert.equal((await loaded.start()).ok, true);
      writeFileSync(join(dir, 'loaded.txt'), usLines(4));
      utimesSync(join(dir, 'loaded.txt'), YEAR_AHEAD / 1000, YEAR_AHEAD / 1000);
      assert.equal((await loaded.reload()).ok, false);
      assert.equal(loaded.status().asOf, new Date(MARCH_1).toISOString());
      assert.equal(loaded.status().count, 3);
      // The setting, a flow's date or a sidecar dates the data instead of the mtime.
      const set = registry({ source, asOf: '2026-03-02', indexPath: null });
      assert.equal((await set.start()).ok, true);
      assert.equal(set.status().asOfSource, 'setting');
      assert.equal((await us.reload({ asOf: '2026-03-03' })).ok, true);
      assert.equal(us.status().asOfSource, 'msg');
      file('us-ndnc.txt.asof', '2026-03-04');
      const dated = registry({ source, indexPath: null });
      assert.equal((await dated.start()).ok, true);
      assert.equal(dated.status().asOfSource, 'sidecar');
    });

    it("a flow's date given while a load with an earlier date runs is the one the next load uses", async () => {
      const source = file('us-ndnc-2026-03-01.txt', usLines(3));
      let onWrite: (() => void) | null = null;
      const us = registry({
        source,
        onProgress: (progress) => {
          if (progress.phase !== 'writing-index' || !onWrite) return;
          const then = onWrite;
          onWrite = null;
          then();
        },
      });
      assert.equal((await us.start()).ok, true);
      const later: Promise<unknown>[] = [];
      onWrite = () => {
        later.push(us.reload({ asOf: '2026-03-05' }));
      };
      await us.reload({ asOf: '2026-03-02' });
      assert.equal(later.length, 1, 'the second date arrived during the first load');
      await later[0];
      assert.equal(us.status().asOfSource, 'msg');
      assert.equal(us.status().asOf, '2026-03-05T00:00:00.000Z');
    });

    it('the registry setting dates the data; bad settings are refused', async () => {
      const source = file('us-ndnc-2026-03-05.txt', usLines(3));
      const us = registry({ source, asOf: '2026-02-20' });
      await us.start();
      assert.equal(us.status().asOf, '2026-02-20T00:00:00.000Z');
      assert.equal(us.status().asOfSource, 'setting');
      for (const bad of ['', ' ', 'soon', '2026-13-01', '2026-03-09', '2026-03-08T12:00:00Z', '20260301']) {
        assert.throws(() => registry({ source, asOf: bad }), RangeError, bad);
      }
      // Without a setting, the name's date is used and said so.
      const named = registry({ source });
      await named.start();
      assert.equal(named.status().asOfSource, 'file-name');
      const timed = registry({ source: file('plain.txt', usLines(3), MARCH_1) });
      await timed.start();
      assert.equal(timed.status().asOfSource, 'mtime');
    });

    it('a flow gives the as-of date with a load; it wins, survives a restart, and ends when the files change', async () => {
      const source = file('us-ndnc.txt', usLines(3), MARCH_8);
      file('us-ndnc.txt.asof', '2026-03-07');
      const us = registry({ source, asOf: '2026-03-06' });
      await us.start();
      assert.equal(us.status().asOfSource, 'setting');
      assert.throws(() => us.reload({ asOf: '' }), RangeError);
      assert.throws(() => us.reload({ asOf: '2026-04-01' }), /future/);
      assert.equal(us.status().asOfSource, 'setting', 'a refused date changes nothing');
      const outcome = await us.reload({ asOf: '2026-03-02' });
      assert.equal(outcome.ok, true);
      assert.equal(outcome.via, 'as-of');
      assert.equal(us.status().asOf, '2026-03-02T00:00:00.000Z');
      assert.equal(us.status().asOfSource, 'msg');
      await us.close();

      const restarted = registry({ source, asOf: '2026-03-06' });
      assert.equal((await restarted.start()).via, 'binary-index');
      assert.equal(restarted.status().asOfSource, 'msg');
      assert.equal(restarted.status().asOf, '2026-03-02T00:00:00.000Z');
      // New data: the date the flow gave was for the old files.
      writeFileSync(source, usLines(4));
      await restarted.reload();
      assert.equal(restarted.status().asOfSource, 'setting');
    });
  });

  describe('"valid for" may not exceed a known registry rule', () => {
    it('refuses a longer validity for known registries, naming the rule; custom registries are free', () => {
      const source = file('x.txt', usLines(1));
      assert.throws(
        () => new FileRegistry({ id: 'US_NDNC', source, maxAgeDays: 45, watch: false }),
        /45 days is more than the rule allows \(31 days; FTC/,
      );
      assert.throws(
        () => new FileRegistry({ id: 'UK_TPS', source, maxAgeDays: 29, watch: false }),
        /28 days; TPS: screen at least every 28 days/,
      );
      assert.throws(
        () =>
          new ServiceRegistrySource({
            id: 'AU_DNCR',
            url: 'http://127.0.0.1:9/wash',
            mapResponse: () => ({}),
            maxAgeDays: 60,
          }),
        /30 days; ACMA/,
      );
      assert.equal(new FileRegistry({ id: 'US_NDNC', source, maxAgeDays: 7, watch: false }).maxAgeDays, 7);
      assert.equal(
        new FileRegistry({ id: 'MY_LIST', source, maxAgeDays: 400, layout: { layout: 'nanp' }, watch: false })
          .maxAgeDays,
        400,
      );
    });
  });
});
