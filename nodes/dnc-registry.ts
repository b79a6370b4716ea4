/**
 * `dnc-registry` ("DNC registry", config node): one national Do-Not-Call registry source.
 * - kind `file`: a FileRegistry over a file or a folder (full lists, change lists, zips), with the registry's
 *   layout, a binary index beside it, reloads when the files change and on an optional schedule;
 * - kind `service`: a ServiceRegistrySource (a wash or lookup service) whose answer a JSONata expression
 *   maps to listed / not listed per number. The API key is a credential (`{apiKey}` in the URL or headers).
 * It owns the source: started here, closed on close. It never throws: an invalid configuration is reported
 * with node.error, and every node using it fails closed with the error's code.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NodeAPI, NodeDef } from 'node-red';
import type { RegistrySource } from '../lib/registries/check';
import type { LayoutOptions, RegistryLayout } from '../lib/registries/parsers';
import {
  FileRegistry,
  KNOWN_REGISTRIES,
  type AsOfSource,
  type RegistryLoadProgress,
  type RegistryStatus,
} from '../lib/registries/registry';
import { ServiceRegistrySource, type NumberFormat } from '../lib/registries/service-source';
import { toCodedError } from './shared/errors';
import { evaluateJsonata } from './shared/inputs';
import { RegistryBinding, type DncRegistryNode } from './shared/registry';
import { STATUS } from './shared/status';

interface DncRegistryDef extends NodeDef {
  kind?: string;
  registry?: string;
  customId?: string;
  maxAgeDays?: string | number;
  callingCodes?: string;
  // file
  path?: string;
  layout?: string;
  layoutCallingCode?: string;
  layoutColumn?: string;
  reloadHours?: string | number;
  watch?: boolean;
  /** The data's as-of date (YYYY-MM-DD), when known better than from the files. */
  asOf?: string;
  /** Refuse a load whose data holds fewer than this % of the numbers it replaces (default 50; 0: off). */
  minRetainedPercent?: string | number;
  // service
  url?: string;
  method?: string;
  headers?: string | Record<string, string>;
  body?: string;
  batchSize?: string | number;
  mapping?: string;
  numberFormat?: string;
  timeout?: string | number;
  retries?: string | number;
  concurrency?: string | number;
}

/** Default mapping: `{"results":[{"number":"+61...","registered":true}]}`. */
const DEFAULT_MAPPING = 'payload.results{ number: registered }';
const STATE_POLL_MS = 60_000;
const LAYOUTS: readonly RegistryLayout[] = ['nanp', 'uk-fixed', 'lines', 'csv'];
/** How the status names where the as-of date came from (a status shows 19 characters). */
const AS_OF_SOURCE_TEXT: Readonly<Record<AsOfSource, string>> = {
  msg: 'flow',
  setting: 'set',
  sidecar: '.asof',
  'file-name': 'name',
  mtime: 'mtime',
};

/** `03-01 (.asof)`: the data's as-of day and where that date came from. */
function dataText(status: RegistryStatus): string {
  const source = status.asOfSource ? ` (${AS_OF_SOURCE_TEXT[status.asOfSource]})` : '';
  return `${status.asOf?.slice(5, 10) ?? '?'}${source}`;
}

/** A refusal's reason, short enough for a node status. */
function refusalText(status: RegistryStatus): string {
  switch (status.refused) {
    case 'empty':
      return 'refused: no numbers';
    case 'shrunk':
      return 'refused: far fewer';
    case 'as-of':
      return 'refused: bad as-of';
    default:
      return 'load failed';
  }
}

function optionalNumber(value: unknown, field: string, min: number): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new RangeError(`${field} must be a number >= ${min}`);
  return n;
}

export = function (RED: NodeAPI) {
  function userDir(): string {
    const dir = (RED.settings as unknown as { userDir?: unknown }).userDir;
    return typeof dir === 'string' && dir !== '' ? dir : join(homedir(), '.node-red');
  }

  function layoutOf(def: DncRegistryDef): LayoutOptions | undefined {
    const layout = typeof def.layout === 'string' ? def.layout.trim() : '';
    if (layout === '') return undefined;
    if (!(LAYOUTS as readonly string[]).includes(layout)) throw new RangeError(`unknown layout "${layout}"`);
    const callingCode = (def.layoutCallingCode ?? '').trim().replace(/^\+/, '');
    const column = (def.layoutColumn ?? '').trim();
    const options: Record<string, unknown> = { layout };
    // National numbers: the calling code's national prefix comes from libphonenumber-js (not always 0).
    if (callingCode !== '') options.callingCode = callingCode;
    if (layout === 'csv') options.column = /^\d+$/.test(column) ? Number(column) : column || 0;
    return options as unknown as LayoutOptions;
  }

  function DncRegistry(this: DncRegistryNode, def: DncRegistryDef) {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- used in plain callbacks below
    const node = this;
    node.name = def.name;
    const registry = typeof def.registry === 'string' && def.registry !== '' ? def.registry : 'US_NDNC';
    const id = registry === 'custom' ? (def.customId ?? '').trim() || 'CUSTOM' : registry;
    const label = def.name || id;
    let binding: RegistryBinding;
    let source: (RegistrySource & { close(): Promise<void> }) | null = null;
    let poll: NodeJS.Timeout | null = null;

    const showProgress = (progress: RegistryLoadProgress) => {
      binding.set({ state: 'loading', percent: Math.floor(progress.percent) });
      node.status(STATUS.waiting(`loading ${Math.floor(progress.percent)}%`));
    };

    try {
      if (registry !== 'custom' && !(KNOWN_REGISTRIES as readonly string[]).includes(registry)) {
        throw new RangeError(`unknown registry "${registry}"`);
      }
      const maxAgeDays = optionalNumber(def.maxAgeDays, 'maxAgeDays', 0.001);
      const codes = (def.callingCodes ?? '')
        .split(',')
        .map((c) => c.trim().replace(/^\+/, ''))
        .filter(Boolean);
      if (codes.some((c) => !/^\d{1,3}$/.test(c)))
        throw new RangeError('calling codes are 1-3 digits, e.g. 61');
      const callingCodes = codes.length > 0 ? codes : undefined;

      if (def.kind === 'service') {
        const mapping = (def.mapping ?? '').trim() || DEFAULT_MAPPING;
        const expr = RED.util.prepareJSONataExpression(mapping, node);
        let headers: Record<string, string> = {};
        if (typeof def.headers === 'string' && def.headers.trim() !== '') {
          headers = JSON.parse(def.headers) as Record<string, string>;
        } else if (def.headers !== null && typeof def.headers === 'object') headers = def.headers;
        for (const [k, v] of Object.entries(headers)) {
          if (typeof v !== 'string') throw new RangeError(`header ${k} must be text`);
        }
        const credentials = (node.credentials ?? {}) as { apiKey?: string };
        const method = (def.method ?? 'POST').toUpperCase();
        if (method !== 'GET' && method !== 'POST' && method !== 'PUT') {
          throw new RangeError(`method must be GET, POST or PUT`);
        }
        const timeout = optionalNumber(def.timeout, 'timeout', 0.1);
        const service = new ServiceRegistrySource({
          id,
          name: label,
          url: def.url ?? '',
          method,
          headers,
          body: def.body?.trim() ? def.body : undefined,
          secrets: credentials.apiKey ? { apiKey: credentials.apiKey } : {},
          batchSize: optionalNumber(def.batchSize, 'batchSize', 1),
          numberFormat: (def.numberFormat || 'e164') as NumberFormat,
          maxAgeDays,
          callingCodes,
          timeoutMs: timeout === undefined ? undefined : timeout * 1000,
          retries: optionalNumber(def.retries, 'retries', 0),
          concurrency: optionalNumber(def.concurrency, 'concurrency', 1),
          mapResponse: (payload, numbers, context) =>
            evaluateJsonata(RED, expr, {
              payload,
              numbers: [...numbers],
              sent: [...context.sent],
              statusCode: context.status,
            }) as Promise<Record<string, unknown>>,
          onRequest: (event) => {
            const status = service.status();
            if (status.circuit === 'open') {
              binding.set({ state: 'unavailable', detail: event.error });
              node.status(STATUS.error('service unavailable'));
            } else {
              binding.set({ state: 'ready' });
              node.status(STATUS.ok('ready'));
            }
            if (!event.ok) node.warn(`registry ${id}: ${event.error ?? 'request failed'}`);
          },
        });
        source = service;
        binding = new RegistryBinding(service, null, id, label);
        binding.set({ state: 'ready' });
        node.status(STATUS.ok('ready'));
        poll = setInterval(() => {
          if (service.status().circuit !== 'open' && binding.info.state === 'unavailable') {
            binding.set({ state: 'ready' });
          }
        }, 5000);
      } else {
        const path = (def.path ?? '').trim();
        if (path === '') throw new RangeError('a file or folder path is needed');
        const reloadHours = optionalNumber(def.reloadHours, 'reloadHours', 0) ?? 0;
        const minRetainedPercent = optionalNumber(def.minRetainedPercent, 'minRetainedPercent', 0);
        if (minRetainedPercent !== undefined && minRetainedPercent > 100) {
          throw new RangeError('minRetainedPercent must be a number from 0 to 100');
        }
        const asOf = typeof def.asOf === 'string' && def.asOf.trim() !== '' ? def.asOf.trim() : undefined;
        const file: FileRegistry = new FileRegistry({
          id,
          name: label,
          source: resolve(userDir(), path),
          layout: layoutOf(def),
          maxAgeDays,
          callingCodes,
          watch: def.watch !== false,
          reloadIntervalMs: reloadHours * 3_600_000,
          asOf,
          minRetainedRatio: minRetainedPercent === undefined ? undefined : minRetainedPercent / 100,
          onProgress: (progress) => showProgress(progress),
          onLoad: (outcome) => {
            if (!outcome.ok) {
              node.error(`registry ${id}: load failed: ${outcome.error?.message ?? 'unknown error'}`);
            }
            for (const warning of outcome.warnings) node.warn(`registry ${id}: ${warning}`);
            if (outcome.malformedLines) {
              node.warn(`registry ${id}: ${outcome.malformedLines} line(s) did not parse`);
            }
            refresh();
          },
        });
        source = file;
        binding = new RegistryBinding(file, null, id, label);
        const refresh = () => {
          const status = file.status();
          // A refused or failed reload keeps the previous data, which still answers: the using nodes
          // show the refusal in red all the same, so that someone looks at the download.
          const refused = status.lastError !== null ? refusalText(status) : undefined;
          if (status.state === 'ready') {
            binding.set({ state: 'ready', refused, detail: refused ? status.lastError! : undefined });
            node.status(refused ? STATUS.error(refused) : STATUS.ok(`as of ${dataText(status)}`));
          } else if (status.state === 'stale') {
            binding.set({
              state: 'stale',
              refused,
              detail: refused ? status.lastError! : `data of ${status.asOf?.slice(0, 10) ?? '?'}`,
            });
            node.status(STATUS.error(refused ?? `stale ${dataText(status)}`));
          } else if (!status.loading) {
            binding.set({ state: 'unavailable', refused, detail: status.lastError ?? 'not loaded' });
            node.status(STATUS.error(refused ?? 'not loaded'));
          }
        };
        // A flow's reload reads the files again only when they changed (a new date alone is cheap).
        binding.reload = (asOfFromMsg) => file.reload({ asOf: asOfFromMsg });
        node.status(STATUS.waiting('loading'));
        file.start().then(refresh, (err: unknown) => {
          node.error(`registry ${id}: ${err instanceof Error ? err.message : String(err)}`);
          refresh();
        });
        // Data turns stale with time alone.
        poll = setInterval(refresh, STATE_POLL_MS);
      }
      poll.unref();
    } catch (err) {
      const error = toCodedError(err, 'DNC_INVALID_INPUT');
      binding = new RegistryBinding(null, error, id, label);
      node.status(STATUS.error('invalid config'));
      node.error(`invalid DNC registry configuration: ${error.message}`);
    }
    node.dncRegistry = binding;

    node.on('close', (_removed: boolean, done: () => void) => {
      if (poll !== null) clearInterval(poll);
      binding.close();
      node.status({});
      const s = source;
      source = null;
      if (s === null) {
        done();
        return;
      }
      s.close().then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType('dnc-registry', DncRegistry, {
    credentials: { apiKey: { type: 'password' } },
  });
};
