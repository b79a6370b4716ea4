/**
 * `dnc-config` ("DNC labels"): the label definitions, the custom channels (beyond voice, sms,
 * whatsapp and email), the default country for national-format numbers and the store file. It owns the store (shared with every other config node naming the same file,
 * through the store registry) and the DncService the other DNC nodes call. It never throws: an invalid
 * configuration is reported with node.error and every node using it fails closed with the error's code.
 */
import { dirname, join, resolve } from 'node:path';
import type { NodeAPI } from 'node-red';
import { DncError } from '../lib/errors';
import { mkdirPrivateSync } from '../lib/private-files';
import { LabelCatalog, channelsOfScopes } from '../lib/labels';
import { DncService } from '../lib/service';
import { acquireEmbeddedStore, acquirePostgresStore, type StoreHandle } from '../lib/store/registry';
import { POSTGRES_URL_ENV, postgresSettings } from '../lib/store/postgres/settings';
import { DncBinding, type DncConfigDef, type DncConfigNode } from './shared/config';
import { TokenSet, parseTokens } from '../lib/api/auth';
import { mountDncApi, publicPathOf, rateLimitOf, registerApiConfig } from './shared/api-mount';
import { publishChanges } from './shared/change-publisher';
import { toCodedError } from './shared/errors';
import { userDir } from './shared/user-dir';

const DEFAULT_STORE_FILE = 'dnc-store.json';
const COUNTRY_PATTERN = /^[A-Za-z]{2}$/;
/** How often the nodes' status follows the store's state (and a PostgreSQL store's lag). */
const STORE_STATUS_EVERY_MS = 2_000;

export = function (RED: NodeAPI) {
  // The HTTP API (admin /dnc/ and the public token mount): registered once per module load.
  mountDncApi(RED);

  /** Blank: `dnc-store.json` in the user directory; a relative path is relative to the user directory. */
  function storePathFor(value: unknown): string {
    const text = typeof value === 'string' ? value.trim() : '';
    return text === '' ? join(userDir(RED), DEFAULT_STORE_FILE) : resolve(userDir(RED), text);
  }

  /** Blank or absent (every flow saved before the setting existed): the embedded store, as before. */
  function storeTypeOf(value: unknown): 'embedded' | 'postgres' {
    const text = typeof value === 'string' ? value.trim() : '';
    if (text === '' || text === 'embedded') return 'embedded';
    if (text === 'postgres') return 'postgres';
    throw new DncError('DNC_INVALID_INPUT', `storeType must be embedded or postgres, not "${text}"`, {
      field: 'storeType',
    });
  }

  function textCredential(value: unknown): string | undefined {
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  }

  function labelsFrom(value: unknown): unknown[] {
    if (value === undefined || value === null || value === '') return [];
    if (typeof value === 'string') {
      try {
        return JSON.parse(value) as unknown[];
      } catch {
        throw new DncError('DNC_INVALID_LABEL', 'labels must be a list of label definitions', {
          field: 'labels',
        });
      }
    }
    return value as unknown[];
  }

  function DncConfig(this: DncConfigNode, def: DncConfigDef) {
    RED.nodes.createNode(this, def);
    this.name = def.name;
    let release: (() => Promise<void>) | null = null;
    let stopWatching: (() => void) | undefined;
    let binding: DncBinding;
    try {
      const labels = labelsFrom(def.labels);
      const inferred = def.channels === undefined ? channelsOfScopes(labels) : [];
      const channels: unknown = def.channels === undefined ? inferred : def.channels;
      if (inferred.length > 0) {
        // A configuration saved by 0.1.0 has no channel list: the custom channels its labels are scoped to
        // are taken as declared, so its flows keep recording opt-outs after the upgrade. Saving the node in
        // the editor writes the list (the dialog offers these names to check).
        this.warn(
          `[dnc] no custom channel list (a configuration saved by 0.1.0): declaring the channels its labels are scoped to: ${inferred.join(', ')}. Open and save this DNC labels node to confirm them.`,
        );
      }
      // Validate before taking a store: a label scoped to an undeclared channel fails here, naming both.
      new LabelCatalog(labels, channels);
      const country = typeof def.defaultCountry === 'string' ? def.defaultCountry.trim().toUpperCase() : '';
      if (country !== '' && !COUNTRY_PATTERN.test(country)) {
        throw new DncError(
          'DNC_INVALID_INPUT',
          `default country "${def.defaultCountry}" is not an ISO 3166 alpha-2 code (for example GB or US)`,
          { field: 'defaultCountry' },
        );
      }
      const credentials = (this.credentials ?? {}) as { auditKey?: unknown; postgresUrl?: unknown };
      const storeOptions = {
        logger: { warn: (message: string) => RED.log.warn(`[dnc] ${message}`) },
        // The audit key: a credential, so Node-RED keeps it encrypted; blank: the store's key file.
        auditKey: textCredential(credentials.auditKey),
        // The explicit recovery step for a lost or replaced audit key (README, "The audit key"): the id
        // of the old key, as the store's refusal names it, in settings.js.
        acceptAuditKeyChange: textCredential(
          (RED.settings as unknown as { dncAcceptAuditKeyChange?: unknown }).dncAcceptAuditKeyChange,
        ),
      };
      const storeType = storeTypeOf(def.storeType);
      let storePath: string;
      let handle: StoreHandle;
      if (storeType === 'postgres') {
        const settings = postgresSettings({
          ...def,
          postgresUrl: credentials.postgresUrl,
          envUrl: process.env[POSTGRES_URL_ENV],
        });
        storePath = `PostgreSQL schema "${settings.schema}"`;
        handle = acquirePostgresStore({
          ...storeOptions,
          ...settings,
          // Without a configured key, every instance reads the same key file name in its user directory.
          keyPath: join(userDir(RED), `dnc-postgres-${settings.schema}.key`),
          // Changes made while the database cannot be reached wait here, acknowledged as queued.
          spoolPath: join(userDir(RED), `dnc-postgres-${settings.schema}.spool.ndjson`),
        });
      } else {
        storePath = storePathFor(def.storePath);
        try {
          mkdirPrivateSync(dirname(storePath));
        } catch {
          // The store reports the real problem (DNC_STORE_UNAVAILABLE) when it cannot open its files.
        }
        handle = acquireEmbeddedStore(storePath, storeOptions);
      }
      release = () => handle.release();
      try {
        const storeReady = handle.ready;
        const service = new DncService({
          labels: labels as Record<string, unknown>[],
          channels,
          defaultCountry: country === '' ? undefined : country,
          store: handle.store,
          storeReady,
        });
        binding = new DncBinding(service, null, storePath);
        const b = binding;
        stopWatching = watchStoreState(handle, b);
        storeReady.then(
          () => b.setState('ready'),
          (err: unknown) => {
            b.setState('unavailable');
            this.error(
              `the DNC store ${storePath} cannot be opened: ${(err as Error).message ?? String(err)}`,
            );
          },
        );
      } catch (err) {
        const r = release;
        release = null;
        void r().catch(() => undefined);
        throw err;
      }
    } catch (err) {
      const error = toCodedError(err, 'DNC_INVALID_LABEL');
      binding = new DncBinding(null, error, null);
      this.error(`invalid DNC labels configuration: ${error.message}`);
    }
    this.dnc = binding;
    // The editor's DNC sidebar hears about changes through comms (no personal data in the notice).
    const stopPublishing =
      binding.service === null
        ? () => undefined
        : publishChanges(RED, this.id, binding.service, (err) =>
            this.warn(
              `the editor could not be told of a change: ${err instanceof Error ? err.message : String(err)}`,
            ),
          );
    const unregisterApi = registerApiConfig(
      { id: this.id, name: this.name ?? '', binding, api: apiSettings(this, def) },
      (message) => this.warn(message),
    );

    this.on('close', (_removed: boolean, done: () => void) => {
      stopWatching?.();
      stopPublishing();
      unregisterApi();
      const r = release;
      release = null;
      if (r === null) {
        binding.close();
        done();
        return;
      }
      // Changes already accepted by a node finish (and are acknowledged) before the store is released.
      binding
        .drain()
        .then(() => {
          binding.close();
          return r();
        })
        .then(
          () => done(),
          (err: unknown) => {
            this.warn(`closing the DNC store failed: ${err instanceof Error ? err.message : String(err)}`);
            done();
          },
        );
    });
  }

  /**
   * A store's state changes without any change of ours: a PostgreSQL database goes away (after
   * maxStaleness the store fails closed) and comes back; an embedded store's disk refuses a write (full,
   * failing) and the store reopens once it accepts writes again. The nodes' status follows it, with a
   * PostgreSQL store's lag.
   */
  function watchStoreState(handle: StoreHandle, binding: DncBinding): () => void {
    const timer = setInterval(() => {
      if (binding.state !== 'ready' && binding.state !== 'unavailable') return;
      const status = handle.store.status() as ReturnType<typeof handle.store.status> & {
        lag?: number | null;
      };
      const lag = typeof status.lag === 'number' ? lagText(status.lag) : null;
      if (status.state === 'ready') {
        const changed = binding.lag !== lag;
        binding.lag = lag;
        binding.setState('ready');
        if (changed) binding.lagChanged();
      } else if (status.state === 'unavailable') {
        binding.setState('unavailable');
      }
    }, STORE_STATUS_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Coarse, so that a healthy instance's status does not change every few seconds. */
  function lagText(ms: number): string {
    return ms < 2_000 ? '< 2 s' : `${Math.round(ms / 1000)} s`;
  }

  /** Tokens (credentials) and the public path; off until a token exists. Problems are logged, never thrown. */
  function apiSettings(node: DncConfigNode, def: DncConfigDef) {
    const credentials = (node.credentials ?? {}) as { writeTokens?: unknown; readTokens?: unknown };
    const write = parseTokens(credentials.writeTokens, 'write');
    const read = parseTokens(credentials.readTokens, 'read');
    for (const problem of [...write.problems, ...read.problems]) node.warn(problem);
    const tokens = new TokenSet([...write.tokens, ...read.tokens]);
    try {
      const publicPath = tokens.size > 0 ? publicPathOf(def.apiPath) : null;
      return { publicPath, tokens, rateLimit: rateLimitOf(def.apiRateLimit) };
    } catch (err) {
      node.error(`the public DNC API is off: ${(err as Error).message}`);
      return { publicPath: null, tokens: new TokenSet([]), rateLimit: 0 };
    }
  }

  RED.nodes.registerType('dnc-config', DncConfig, {
    credentials: {
      writeTokens: { type: 'password' },
      readTokens: { type: 'password' },
      auditKey: { type: 'password' },
      postgresUrl: { type: 'password' },
    },
  });
};
