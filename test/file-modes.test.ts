/**
 * Files holding personal data are owner-only (0600, folders 0700) whatever the umask, and files left
 * 0644 by 0.1.0 are tightened when the store opens them. Each test runs under umask 0, the worst case
 * (an open() without an explicit mode then creates 0666).
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { spool } from '../lib/api/upload-spool';
import { EmbeddedStore } from '../lib/store/embedded';
import { NumberIndexBuilder } from '../lib/registries/index-build';
import { readIndexFileHeader, writeIndexFile } from '../lib/registries/index-file';
import { mkdirPrivateSync } from '../lib/private-files';
import { addChange } from './store-contract';

const quiet = { warn: (): void => undefined };

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('files holding personal data', function () {
  let dir: string;
  let path: string;
  let savedUmask: number;

  beforeEach(async function () {
    savedUmask = process.umask(0);
    dir = await mkdtemp(join(tmpdir(), 'dnc-modes-'));
    path = join(dir, 'dnc-store.json');
  });
  afterEach(async function () {
    process.umask(savedUmask);
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the journal, snapshot and attempt records 0600 (also after a prune rewrites them)', async function () {
    const store = new EmbeddedStore({ path, logger: quiet });
    await store.open();
    await store.apply(addChange(['+447911123456'], ['DNC_Sales']));
    await store.recordAttempt({
      keys: ['+447911123456'],
      at: Date.now() - 10_000,
      attempt: true,
      outcome: null,
      channel: 'voice',
      campaign: null,
      source: 'test',
    });
    await store.recordAttempt({
      keys: ['+447911123456'],
      at: Date.now(),
      attempt: true,
      outcome: null,
      channel: 'voice',
      campaign: null,
      source: 'test',
    });
    assert.equal(await store.pruneAttempts(Date.now() - 5_000), 1);
    await store.snapshotNow();
    await store.close();
    const files = await readdir(dir);
    for (const name of ['dnc-store.json', 'dnc-store.events.ndjson', 'dnc-store.attempts.ndjson']) {
      assert.ok(files.includes(name), `${name} was written`);
      assert.equal((await modeOf(join(dir, name))).toString(8), '600', name);
    }
  });

  it('tightens files a 0.1.0 store left 0644 (journal, snapshot, attempts, corrupt copies) when it opens', async function () {
    const first = new EmbeddedStore({ path, logger: quiet });
    await first.open();
    await first.apply(addChange(['+447911123456'], ['DNC_Sales']));
    await first.recordAttempt({
      keys: ['+447911123456'],
      at: Date.now(),
      attempt: true,
      outcome: null,
      channel: 'voice',
      campaign: null,
      source: 'test',
    });
    await first.snapshotNow();
    await first.close();
    const old = ['dnc-store.json', 'dnc-store.events.ndjson', 'dnc-store.attempts.ndjson'];
    await writeFile(join(dir, 'dnc-store.json.corrupt-2025-01-01T00-00-00Z'), '{}');
    // A file of the user's beside the store is not the package's to change.
    await writeFile(join(dir, 'notes.txt'), 'mine');
    for (const name of [...old, 'dnc-store.json.corrupt-2025-01-01T00-00-00Z', 'notes.txt']) {
      await chmod(join(dir, name), 0o644);
    }
    const reopened = new EmbeddedStore({ path, logger: quiet });
    await reopened.open();
    assert.equal(reopened.lookup('+447911123456')?.labels[0].label, 'DNC_Sales');
    for (const name of [...old, 'dnc-store.json.corrupt-2025-01-01T00-00-00Z']) {
      assert.equal((await modeOf(join(dir, name))).toString(8), '600', name);
    }
    assert.equal((await modeOf(join(dir, 'notes.txt'))).toString(8), '644');
    await reopened.close();
  });

  it('keeps the copy of an unreadable snapshot 0600 even when the snapshot itself is 0644', async function () {
    await writeFile(path, 'not json at all');
    await chmod(path, 0o644);
    const store = new EmbeddedStore({ path, logger: quiet });
    await assert.rejects(store.open(), { code: 'DNC_STORE_UNAVAILABLE' });
    const copies = (await readdir(dir)).filter((name) => name.includes('.corrupt-'));
    assert.equal(copies.length, 1);
    assert.equal((await modeOf(join(dir, copies[0]))).toString(8), '600');
    await store.close();
  });

  it('sets a torn final journal line aside in a 0600 file', async function () {
    const first = new EmbeddedStore({ path, logger: quiet });
    await first.open();
    await first.apply(addChange(['+447911123456'], ['DNC_Sales']));
    await first.close();
    await appendFile(join(dir, 'dnc-store.events.ndjson'), '{"seq":2,"at":"20');
    const reopened = new EmbeddedStore({ path, logger: quiet });
    await reopened.open();
    await reopened.close();
    const torn = (await readdir(dir)).filter((name) => name.includes('.torn-'));
    assert.equal(torn.length, 1);
    assert.equal((await modeOf(join(dir, torn[0]))).toString(8), '600');
  });

  it('spools an import upload into a 0600 file in a 0700 folder', async function () {
    const body = new PassThrough();
    const req = Object.assign(body, { headers: {}, complete: false }) as unknown as IncomingMessage;
    // As http.IncomingMessage does: complete once the whole body was read (spool treats a close before
    // that as an interrupted upload).
    body.once('end', () => Object.assign(req, { complete: true }));
    body.end('contact,label\n+447911123456,DNC_Sales\n');
    const upload = await spool(req, 1024 * 1024);
    try {
      assert.equal((await modeOf(upload.file)).toString(8), '600');
      assert.equal((await modeOf(upload.dir)).toString(8), '700');
    } finally {
      await rm(upload.dir, { recursive: true, force: true });
    }
  });

  it('writes a registry index cache 0600 and tightens a 0644 one when it is read', async function () {
    const indexPath = join(dir, 'registry.txt.dncidx');
    const builder = new NumberIndexBuilder();
    builder.add(14155550123);
    builder.add(14155550124);
    await writeIndexFile(indexPath, await builder.build(), {
      registry: 'US_NDNC',
      layoutKey: '{"layout":"nanp"}',
      asOf: Date.UTC(2026, 2, 1),
      builtAt: Date.UTC(2026, 2, 2),
      sources: [{ name: 'a.txt', size: 10, mtimeMs: 1 }],
      parseSummary: [{ source: 'a.txt', lines: 2, numbers: 2, malformedLines: 0 }],
    });
    assert.equal((await modeOf(indexPath)).toString(8), '600');
    await chmod(indexPath, 0o644);
    await readIndexFileHeader(indexPath);
    assert.equal((await modeOf(indexPath)).toString(8), '600');
  });

  it('creates the folders of a store path 0700 and leaves an existing folder as it is', async function () {
    await chmod(dir, 0o755);
    mkdirPrivateSync(join(dir, 'dnc', 'stores'));
    assert.equal((await modeOf(join(dir, 'dnc'))).toString(8), '700');
    assert.equal((await modeOf(join(dir, 'dnc', 'stores'))).toString(8), '700');
    assert.equal((await modeOf(dir)).toString(8), '755');
  });
});
