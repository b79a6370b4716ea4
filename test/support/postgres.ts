/**
 * A throwaway PostgreSQL server for the tests: a fresh data directory, trust authentication, a free
 * port on 127.0.0.1, the socket inside the data directory; fsync stays on (durability is tested).
 * Started once per test process, on first use, and stopped when the process exits. As root (CI), the
 * server runs as the `postgres` user, which initdb requires (../shared/RECIPES.md).
 *
 * With CI=true a server that cannot start fails the suites that need it; elsewhere they are skipped
 * with the reason, so a machine without PostgreSQL can still run the rest.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface TestPostgres {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** A URL for another database or role on this server. */
  urlFor(database: string, user?: string): string;
  /** Stops the server with `pg_ctl -m <mode>` (immediate: a crash, as in the durability tests). */
  stop(mode?: 'fast' | 'immediate'): void;
  /** Starts it again on the same port and data. */
  start(): void;
  /**
   * As stop() and start(), without blocking the event loop: traffic this process sends meanwhile (the
   * multi-process tests) goes on, and the sockets it holds are not left unread while pg_ctl runs.
   */
  stopAsync(mode?: 'fast' | 'immediate'): Promise<void>;
  startAsync(): Promise<void>;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(bin: string, args: string[]): void {
  const command = isRoot ? 'runuser' : bin;
  const argv = isRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  const result = spawnSync(command, argv, { encoding: 'utf8', cwd: tmpdir() });
  if (result.status !== 0) {
    throw new Error(`${bin} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  }
}

function runAsync(bin: string, args: string[]): Promise<void> {
  const command = isRoot ? 'runuser' : bin;
  const argv = isRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  return new Promise((resolve, reject) => {
    execFile(command, argv, { encoding: 'utf8', cwd: tmpdir() }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${bin} ${args.join(' ')} failed: ${stderr || stdout || error.message}`));
      else resolve();
    });
  });
}

let started: Promise<TestPostgres> | undefined;

async function startServer(): Promise<TestPostgres> {
  const bin = binDir();
  if (bin === undefined) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const dataDir = mkdtempSync(join(tmpdir(), 'dnc-pg-'));
  if (isRoot) execFileSync('chown', ['postgres:postgres', dataDir]);
  chmodSync(dataDir, 0o700);
  run(join(bin, 'initdb'), ['-D', dataDir, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  // Frequent checkpoints: the tests that stop the server with -m immediate (a crash) then wait for its
  // recovery, which replays the WAL written since the last checkpoint: after a suite that wrote much
  // (imports, migrations) that took over 20 s with the defaults (5 min, 1 GB).
  const options =
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${dataDir} -c max_connections=200` +
    ' -c checkpoint_timeout=30s -c max_wal_size=64MB -c min_wal_size=32MB';
  const pgCtl = join(bin, 'pg_ctl');
  const startArgs = ['-D', dataDir, '-o', options, '-w', '-l', join(dataDir, 'log'), 'start'];
  const stopArgs = (mode: 'fast' | 'immediate'): string[] => ['-D', dataDir, '-m', mode, '-w', 'stop'];
  const start = (): void => run(pgCtl, startArgs);
  const stop = (mode: 'fast' | 'immediate' = 'fast'): void => run(pgCtl, stopArgs(mode));
  const startAsync = (): Promise<void> => runAsync(pgCtl, startArgs);
  const stopAsync = (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => runAsync(pgCtl, stopArgs(mode));
  start();
  process.once('exit', () => {
    try {
      stop('immediate');
    } catch {
      // already stopped
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  const urlFor = (database: string, user = 'postgres'): string =>
    `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return { url: urlFor('postgres'), port, dataDir, urlFor, stop, start, stopAsync, startAsync };
}

/** The test server, started at the first call. */
export function testPostgres(): Promise<TestPostgres> {
  started ??= startServer();
  return started;
}

let databases = 0;

/** A new, empty database on the test server; its URL. */
export async function freshDatabase(): Promise<string> {
  const server = await testPostgres();
  const name = `dnc_test_${process.pid}_${++databases}`;
  const client = new Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return server.urlFor(name);
}

/**
 * Makes a mocha suite use the test server: its `before` starts it, or fails the suite under CI=true
 * when it cannot start, or skips the suite elsewhere (saying why).
 */
export function requirePostgres(): void {
  before(async function () {
    this.timeout(60_000);
    try {
      await testPostgres();
    } catch (error) {
      if (process.env.CI === 'true') throw error;
      console.warn(`  skipped: ${(error as Error).message}`);
      this.skip();
    }
  });
}
