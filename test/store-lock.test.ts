/**
 * One process per embedded store (lib/store/lock.ts): a second Node-RED process pointed at the same
 * store file is refused and fails closed, a lock left by a process that died (or by an earlier life of
 * this pid, as a container's PID 1 after a restart) is taken over, and a lock from another host is
 * honoured until it is no longer refreshed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isDncError } from '../lib/errors';
import { EmbeddedStore } from '../lib/store/embedded';
import { STALE_AFTER_MS } from '../lib/store/lock';
import { addChange } from './store-contract';

const quiet = { warn: (): void => undefined };

describe('embedded store lock: one process per store', function () {
  this.timeout(20_000);
  let dir: string;
  let path: string;
  let lockPath: string;
  const children: ChildProcess[] = [];

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'dnc-lock-'));
    path = join(dir, 'dnc-store.json');
    lockPath = join(dir, 'dnc-store.lock');
  });
  afterEach(async function () {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  function refusedAsInUse(error: unknown): boolean {
    return (
      isDncError(error) && error.code === 'DNC_STORE_UNAVAILABLE' && /in use by process/.test(error.message)
    );
  }

  async function writeLock(pid: number, host = hostname(), token = 'someone-else'): Promise<void> {
    await writeFile(lockPath, `${JSON.stringify({ pid, host, token, since: '2026-12-01T00:00:00.000Z' })}\n`);
  }

  it('a second Node-RED process on the same store file is refused, naming the holder; it opens once the first closes', async function () {
    const first = new EmbeddedStore({ path, logger: quiet });
    await first.open();
    assert.equal(statSync(lockPath).mode & 0o777, 0o600);
    // A real second process opening the same file, as a second Node-RED would.
    const script = `
      const { EmbeddedStore } = require(${JSON.stringify(resolve(__dirname, '../lib/store/embedded.js'))});
      const store = new EmbeddedStore({ path: ${JSON.stringify(path)}, logger: { warn() {} } });
      store.open().then(
        () => { console.log('opened'); return store.close(); },
        (error) => console.log(error.code + ': ' + error.message),
      );`;
    const second = async (): Promise<string> => {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await once(child, 'exit');
      return out.trim();
    };
    const refused = await second();
    assert.match(refused, /^DNC_STORE_UNAVAILABLE: .*in use by process \d+/);
    assert.ok(refused.includes(String(process.pid)), refused);
    // The first store is untouched and keeps working.
    await first.apply(addChange(['+14155550100'], ['DNC_Sales']));
    await first.close();
    assert.ok(!existsSync(lockPath), 'the lock is removed on close');
    assert.equal(await second(), 'opened');
  });

  it('two stores on one file in one process: the second is refused', async function () {
    const first = new EmbeddedStore({ path, logger: quiet });
    await first.open();
    const second = new EmbeddedStore({ path, logger: quiet });
    await assert.rejects(second.open(), refusedAsInUse);
    assert.throws(
      () => second.lookup('+14155550100'),
      (error: unknown) => isDncError(error),
    );
    await second.close();
    await first.close();
  });

  it('takes over a lock whose process died (SIGKILL), and one of its own pid from an earlier life', async function () {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    children.push(child);
    await writeLock(child.pid!);
    const blocked = new EmbeddedStore({ path, logger: quiet });
    await assert.rejects(blocked.open(), refusedAsInUse);
    await blocked.close();
    child.kill('SIGKILL');
    await once(child, 'exit');
    const store = new EmbeddedStore({ path, logger: quiet });
    await store.open();
    await store.close();
    // This pid, but a token this process never held: a container restarted with the same PID 1.
    await writeLock(process.pid);
    const again = new EmbeddedStore({ path, logger: quiet });
    await again.open();
    assert.notEqual(JSON.parse(await readFile(lockPath, 'utf8')).token, 'someone-else');
    await again.close();
  });

  it("honours another host's lock while it is refreshed, and takes it over once it is stale", async function () {
    await writeLock(12345, 'other-host');
    const store = new EmbeddedStore({ path, logger: quiet });
    await assert.rejects(
      store.open(),
      (error: unknown) => refusedAsInUse(error) && /other-host/.test(String(error)),
    );
    await store.close();
    const old = new Date(Date.now() - STALE_AFTER_MS - 5_000);
    await utimes(lockPath, old, old);
    const later = new EmbeddedStore({ path, logger: quiet });
    await later.open();
    await later.close();
  });
});
