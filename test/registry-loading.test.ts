import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readIndexFileHeader } from '../lib/registries/index-file';
import { FileRegistry, type RegistryLoadOutcome } from '../lib/registries/registry';
import type { RegistryLoadProgress } from '../lib/registries/registry-loader';

const FIXTURES = [
  resolve(__dirname, '..', '..', 'test', 'fixtures', 'registries'),
  resolve(process.cwd(), 'test', 'fixtures', 'registries'),
].find((dir) => existsSync(join(dir, 'us-ndnc-full-2026-03-01.txt')))!;

const DAY = 86_400_000;
const MARCH_1 = Date.UTC(2026, 2, 1);
const MARCH_8 = Date.UTC(2026, 2, 8);

function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const tick = (): void => {
      if (condition()) resolvePromise();
      else if (Date.now() - started > timeoutMs) reject(new Error('timed out waiting'));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

describe('file registries', () => {
  let dir: string;
  const open: FileRegistry[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'registry-load-'))));
  afterEach(async () => {
    for (const registry of open.splice(0)) await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });
  function registry(
    options: Omit<ConstructorParameters<typeof FileRegistry>[0], 'now'> & { now?: () => number },
  ) {
    const created = new FileRegistry({ watch: false, pollIntervalMs: 0, now: () => MARCH_8, ...options });
    open.push(created);
    return created;
  }
  function copyFixture(name: string, to = dir): string {
    copyFileSync(join(FIXTURES, name), join(to, name));
    return join(to, name);
  }

  it('loads a US full list, answers with the as-of date from the file name, reports malformed lines', async () => {
    const source = copyFixture('us-ndnc-full-2026-03-01.txt');
    const us = registry({ id: 'US_NDNC', source, maxMalformedRatio: 1 });
    const outcome = await us.start();
    assert.equal(outcome.ok, true, outcome.error?.message);
    assert.equal(outcome.via, 'parsed');
    assert.equal(outcome.count, 3);
    assert.equal(outcome.malformedLines, 6);
    assert.deepEqual(
      outcome.malformed?.map((m) => m.line),
      [5, 6, 7, 8, 9, 10],
    );
    assert.deepEqual(us.lookup('+12015552001'), {
      registry: 'US_NDNC',
      result: 'listed',
      asOf: '2026-03-01T00:00:00.000Z',
      reason: 'LISTED',
    });
    assert.equal(us.lookup('+12015552009').result, 'not-listed');
    assert.equal(us.lookup('+442073787244').reason, 'OUTSIDE_REGISTRY');
    assert.equal(us.lookup('2015552001').reason, 'INVALID_NUMBER');
    assert.equal(us.lookup('2015552001').result, 'unavailable');
    assert.equal(us.status().state, 'ready');
    assert.equal(us.maxAgeDays, 31);
  });

  it('fails a load where too many lines do not parse (wrong layout), keeping lookups unavailable', async () => {
    const source = copyFixture('uk-tps-2026-03-01.txt');
    const wrong = registry({ id: 'US_NDNC', source });
    const outcome = await wrong.start();
    assert.equal(outcome.ok, false);
    assert.match(outcome.error!.message, /do not parse as nanp/);
    const result = wrong.lookup('+12015552001');
    assert.equal(result.result, 'unavailable');
    assert.equal(result.reason, 'REGISTRY_NOT_LOADED');
    assert.match(result.detail!, /load failed/);
  });

  it('UK TPS defaults: 28 days, uk-fixed layout', async () => {
    const source = copyFixture('uk-tps-2026-03-01.txt');
    const tps = registry({ id: 'UK_TPS', source, maxMalformedRatio: 0.5 });
    assert.equal((await tps.start()).ok, true);
    assert.equal(tps.lookup('+442073787244').result, 'listed');
    assert.equal(tps.lookup('+44161496000').result, 'listed');
    assert.equal(tps.lookup('+12015552001').reason, 'OUTSIDE_REGISTRY');
    assert.equal(tps.maxAgeDays, 28);
  });

  it('is stale strictly after maxAgeDays, and stale is never not-listed', async () => {
    const source = copyFixture('us-ndnc-full-2026-03-01.txt');
    let now = MARCH_1 + 31 * DAY;
    const us = registry({ id: 'US_NDNC', source, maxMalformedRatio: 1, now: () => now });
    await us.start();
    assert.equal(us.lookup('+12015552009').result, 'not-listed', 'exactly 31 days old: still usable');
    assert.equal(us.status().staleAt, new Date(MARCH_1 + 31 * DAY).toISOString());
    now += 1;
    const notOnIt = us.lookup('+12015552009');
    assert.equal(notOnIt.result, 'stale');
    assert.equal(notOnIt.reason, 'REGISTRY_STALE');
    assert.equal(notOnIt.asOf, '2026-03-01T00:00:00.000Z');
    // A number the old data lists is still listed (flagged stale): a listing is never relaxed.
    const onIt = us.lookup('+12015552001');
    assert.equal(onIt.result, 'listed');
    assert.equal(onIt.reason, 'LISTED');
    assert.equal(onIt.stale, true);
    assert.equal(onIt.asOf, '2026-03-01T00:00:00.000Z');
    assert.equal(us.status().state, 'stale');
    const view = us.view();
    assert.equal(view.usable, false);
    // An explicit check time works the same way.
    assert.equal(us.lookup('+12015552009', MARCH_1 + 30 * DAY).result, 'not-listed');
    // Custom registries need their own maxAgeDays.
    assert.throws(
      () => new FileRegistry({ id: 'MY_LIST', source, layout: { layout: 'nanp' } }),
      /maxAgeDays/,
    );
  });

  it('takes the file mtime as as-of when the name has no date', async () => {
    const source = join(dir, '201.txt');
    writeFileSync(source, '201,5552001\n');
    const mtime = new Date(Date.UTC(2026, 1, 20, 12));
    utimesSync(source, mtime, mtime);
    const us = registry({ id: 'US_NDNC', source });
    await us.start();
    assert.equal(us.lookup('+12015552001').asOf, mtime.toISOString());
  });

  it('a folder: full list, then change lists (additions and deletions) applied in order; as-of moves to the change date', async () => {
    const folder = join(dir, 'us');
    mkdirSync(folder);
    copyFixture('us-ndnc-full-2026-03-01.txt', folder);
    const us = registry({ id: 'US_NDNC', source: folder, maxMalformedRatio: 1 });
    await us.start();
    assert.equal(us.lookup('+12015559001').result, 'not-listed');
    assert.equal(us.lookup('+12015552001').result, 'listed');

    copyFixture('us-ndnc-additions-2026-03-08.txt', folder);
    copyFixture('us-ndnc-deletions-2026-03-08.txt', folder);
    const outcome = await us.reload();
    assert.equal(outcome.ok, true, outcome.error?.message);
    assert.equal(outcome.via, 'change-lists', 'merged into the index in memory, not re-parsed');
    assert.equal(us.lookup('+12015559001').result, 'listed');
    assert.equal(us.lookup('+12015559002').result, 'listed');
    assert.equal(us.lookup('+12015552001').result, 'not-listed');
    assert.equal(us.lookup('+12015552002').result, 'listed');
    assert.equal(us.lookup('+12015559001').asOf, '2026-03-08T00:00:00.000Z');
    assert.equal((await us.reload()).via, 'unchanged');

    // A restart reads the binary index written beside the folder: same answers, no parsing.
    const restarted = registry({ id: 'US_NDNC', source: folder, maxMalformedRatio: 1 });
    const again = await restarted.start();
    assert.equal(again.via, 'binary-index');
    assert.equal(again.malformedLines, 6, 'the count of malformed lines survives a restart');
    for (const number of ['+12015559001', '+12015552001', '+12015552002', '+12125553003']) {
      assert.deepEqual(restarted.lookup(number), us.lookup(number), number);
    }
    // A restart that finds a newer change list merges it into the binary index.
    writeFileSync(join(folder, 'us-ndnc-additions-2026-03-09.txt'), '201,5559003\n');
    // (on 9 March: a change list dated in the future would be refused)
    const third = registry({ id: 'US_NDNC', source: folder, maxMalformedRatio: 1, now: () => MARCH_8 + DAY });
    const merged = await third.start();
    assert.equal(merged.via, 'change-lists');
    assert.equal(third.lookup('+12015559003').result, 'listed');
    assert.equal(third.lookup('+12015552001').result, 'not-listed');
  });

  it('Canada DNCL from a zip of per-area-code files', async () => {
    const source = copyFixture('ca-dncl-2026-03-01.zip');
    const ca = registry({ id: 'CA_DNCL', source, maxMalformedRatio: 0.5 });
    const outcome = await ca.start();
    assert.equal(outcome.ok, true, outcome.error?.message);
    assert.equal(outcome.count, 5);
    assert.deepEqual(
      outcome.malformed?.map((m) => [m.source.replace(/^.*!/, ''), m.line, m.text]),
      [['416.txt', 3, '416,55501']],
    );
    for (const number of ['+14165550101', '+16045550202', '+19055550301'])
      assert.equal(ca.lookup(number).result, 'listed');
    assert.equal(ca.lookup('+14165550103').result, 'not-listed');
  });

  it('a damaged binary index is detected by its checksum and rebuilt from the source', async () => {
    const source = copyFixture('us-ndnc-full-2026-03-01.txt');
    const first = registry({ id: 'US_NDNC', source, maxMalformedRatio: 1 });
    await first.start();
    const indexPath = `${source}.dncidx`;
    const header = await readIndexFileHeader(indexPath);
    assert.equal(header.count, 3);
    const bytes = readFileSync(indexPath);
    bytes[bytes.length - 6] ^= 0xff;
    writeFileSync(indexPath, bytes);
    const second = registry({ id: 'US_NDNC', source, maxMalformedRatio: 1 });
    const outcome = await second.start();
    assert.equal(outcome.ok, true);
    assert.equal(outcome.via, 'parsed');
    assert.match(outcome.warnings.join(' '), /checksum mismatch/);
    assert.equal(second.lookup('+12015552001').result, 'listed');
    // ... and the rebuilt file is good again.
    const third = registry({ id: 'US_NDNC', source, maxMalformedRatio: 1 });
    assert.equal((await third.start()).via, 'binary-index');
  });

  it('a failed reload keeps the previous data and reports the failure', async () => {
    const source = join(dir, 'us-2026-03-01.txt');
    writeFileSync(source, '201,5552001\n201,5552002\n');
    const outcomes: RegistryLoadOutcome[] = [];
    const us = registry({ id: 'US_NDNC', source, onLoad: (o) => outcomes.push(o) });
    await us.start();
    writeFileSync(source, 'this is not\na registry file\n');
    const failed = await us.reload();
    assert.equal(failed.ok, false);
    assert.equal(us.lookup('+12015552001').result, 'listed', 'old data kept');
    assert.match(us.status().lastError!, /do not parse/);
    rmSync(source);
    assert.equal((await us.reload()).ok, false, 'a missing file fails too');
    assert.equal(us.lookup('+12015552002').result, 'listed');
    assert.deepEqual(
      outcomes.map((o) => o.ok),
      [true, false, false],
    );
    writeFileSync(source, '201,5552003\n');
    assert.equal((await us.reload()).ok, true);
    assert.equal(us.lookup('+12015552001').result, 'not-listed');
    assert.equal(us.lookup('+12015552003').result, 'listed');
    assert.equal(us.status().lastError, null);
  });

  it('lookups during a reload see the old index or the new one, never a mix or an error', async () => {
    // Old: 201-555-0000..0999 listed. New: 201-555-1000..1999 listed. 60,000 lines each so the load spans
    // many event-loop turns (the parser and the build yield). Dated by its name: the registry's clock is
    // March 8 and a real mtime would be in its future.
    const source = join(dir, 'us-2026-03-01.txt');
    const lines = (from: number): string => {
      const out: string[] = [];
      for (let i = 0; i < 60_000; i++) out.push(`${200 + (i % 60)},${5_550_000 + from + Math.floor(i / 60)}`);
      return out.join('\n');
    };
    writeFileSync(source, lines(0));
    const progress: RegistryLoadProgress[] = [];
    const us = registry({ id: 'US_NDNC', source, onProgress: (p) => progress.push(p) });
    await us.start();
    const probes = [
      '+12005550000',
      '+12015550999',
      '+12595550500',
      '+12005551000',
      '+12015551999',
      '+12595551500',
    ];
    const oldAnswer = [true, true, true, false, false, false].join();
    const newAnswer = [false, false, false, true, true, true].join();
    const seen = new Set<string>();
    let stop = false;
    let errors = 0;
    const hammer = async (): Promise<void> => {
      while (!stop) {
        try {
          const answers = us.lookupMany(probes).map((r) => r.result === 'listed');
          seen.add(answers.join());
          // Single lookups between batches, too.
          seen.add(probes.map((p) => us.lookup(p).result === 'listed').join());
        } catch {
          errors++;
        }
        await new Promise((r) => setImmediate(r));
      }
    };
    writeFileSync(source, lines(1000));
    const running = hammer();
    const outcome = await us.reload();
    await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await running;
    assert.equal(outcome.ok, true, outcome.error?.message);
    assert.equal(errors, 0);
    assert.deepEqual(
      [...seen].filter((s) => s !== oldAnswer && s !== newAnswer),
      [],
      'no mixed answers',
    );
    assert.ok(seen.has(newAnswer));
    assert.ok(seen.has(oldAnswer), 'lookups ran while the reload was in progress');
    assert.ok(progress.some((p) => p.phase === 'parsing' || p.phase === 'building'));
  });

  it('reloads when the file changes (watcher, debounced) and by polling', async () => {
    const source = join(dir, 'us-2026-03-01.txt');
    writeFileSync(source, '201,5552001\n');
    const watched = registry({ id: 'US_NDNC', source, watch: true, debounceMs: 50, indexPath: null });
    await watched.start();
    const polled = new FileRegistry({
      id: 'US_NDNC',
      source,
      watch: false,
      pollIntervalMs: 100,
      indexPath: null,
      now: () => MARCH_8,
    });
    open.push(polled);
    await polled.start();
    writeFileSync(source, '201,5552001\n201,5552002\n');
    await waitFor(() => watched.lookup('+12015552002').result === 'listed');
    await waitFor(() => polled.lookup('+12015552002').result === 'listed');
    await watched.close();
    await polled.close();
    writeFileSync(source, '201,5552003\n');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(watched.lookup('+12015552003').result, 'not-listed', 'closed: no more reloads');
    assert.equal(polled.lookup('+12015552003').result, 'not-listed');
  });

  it('reports not loaded before the first load', () => {
    const us = registry({ id: 'US_NDNC', source: join(dir, 'nothing.txt') });
    const result = us.lookup('+12015552001');
    assert.equal(result.result, 'unavailable');
    assert.equal(result.reason, 'REGISTRY_NOT_LOADED');
    assert.equal(us.status().state, 'not-loaded');
  });
});
