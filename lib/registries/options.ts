/**
 * A registry's configuration as an editor saves it (text fields, numbers as text, blanks for defaults)
 * turned into validated FileRegistry / ServiceRegistrySource options. The rules live here, beside the
 * registries, so they hold for any host and are testable without Node-RED; the dnc-registry node adds only
 * what needs its runtime (the user directory, the JSONata mapping, credentials, status callbacks).
 * Refusals are DncError DNC_INVALID_INPUT; the sources' constructors check the rest (id, layout, as-of,
 * URL, rule limits) and throw RangeError.
 */
import { DncError } from '../errors';
import { isKnownRegistry, type RegistryId } from './known-registries';
import type { LayoutOptions, RegistryLayout } from './parsers';
import type { FileRegistryOptions } from './registry';
import type { ReassignedNumbersOptions } from './reassigned-numbers';
import type { NumberFormat, ServiceSourceOptions } from './service-options';

/** The fields of a registry definition (every one optional: blank means the default). */
export interface RegistryDefinition {
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
  // the Reassigned Numbers Database (registry US_RND)
  /** The consent date (YYYY-MM-DD) of contacts that carry none; blank: such contacts are blocked. */
  rndConsentDate?: string;
  /** What the database's "no data" does: `block` (default) or `allow`. */
  rndNoData?: string;
}

/** The registry id of the FCC Reassigned Numbers Database (not a DNC list: asked per consent date). */
export const RND_REGISTRY = 'US_RND';

/** Default mapping: `{"results":[{"number":"+61...","registered":true}]}`. */
export const DEFAULT_MAPPING = 'payload.results{ number: registered }';
const LAYOUTS: readonly RegistryLayout[] = ['nanp', 'uk-fixed', 'lines', 'csv'];

function invalid(message: string): DncError {
  return new DncError('DNC_INVALID_INPUT', message);
}

function optionalNumber(value: unknown, field: string, min: number): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw invalid(`${field} must be a number >= ${min}`);
  return n;
}

/** The registry's id: a known registry's, or a custom one's (`CUSTOM` when left blank). */
export function registryIdOf(def: RegistryDefinition): RegistryId {
  const registry = typeof def.registry === 'string' && def.registry !== '' ? def.registry : 'US_NDNC';
  return registry === 'custom' ? (def.customId ?? '').trim() || 'CUSTOM' : registry;
}

/** What file and service registries share: the id, the validity and the calling codes. */
export interface CommonRegistryOptions {
  id: RegistryId;
  maxAgeDays: number | undefined;
  callingCodes: readonly string[] | undefined;
}

export function commonRegistryOptions(def: RegistryDefinition): CommonRegistryOptions {
  const registry = typeof def.registry === 'string' && def.registry !== '' ? def.registry : 'US_NDNC';
  if (registry !== 'custom' && !isKnownRegistry(registry)) {
    throw invalid(`unknown registry "${registry}"`);
  }
  const maxAgeDays = optionalNumber(def.maxAgeDays, 'maxAgeDays', 0.001);
  const codes = (def.callingCodes ?? '')
    .split(',')
    .map((c) => c.trim().replace(/^\+/, ''))
    .filter(Boolean);
  if (codes.some((c) => !/^\d{1,3}$/.test(c))) throw invalid('calling codes are 1-3 digits, e.g. 61');
  return { id: registryIdOf(def), maxAgeDays, callingCodes: codes.length > 0 ? codes : undefined };
}

/** The layout of a file registry's data; undefined: the registry's own. */
export function layoutOf(def: RegistryDefinition): LayoutOptions | undefined {
  const layout = typeof def.layout === 'string' ? def.layout.trim() : '';
  if (layout === '') return undefined;
  if (!(LAYOUTS as readonly string[]).includes(layout)) throw invalid(`unknown layout "${layout}"`);
  const callingCode = (def.layoutCallingCode ?? '').trim().replace(/^\+/, '');
  const column = (def.layoutColumn ?? '').trim();
  const options: Record<string, unknown> = { layout };
  // National numbers: the calling code's national prefix comes from libphonenumber-js (not always 0).
  if (callingCode !== '') options.callingCode = callingCode;
  if (layout === 'csv') options.column = /^\d+$/.test(column) ? Number(column) : column || 0;
  return options as unknown as LayoutOptions;
}

/** File registry options; `source` is the path as given (the host resolves a relative one). */
export type FileRegistryDefinitionOptions = Omit<FileRegistryOptions, 'name' | 'onProgress' | 'onLoad'>;

export function fileRegistryOptions(
  def: RegistryDefinition,
  common: CommonRegistryOptions,
): FileRegistryDefinitionOptions {
  const path = (def.path ?? '').trim();
  if (path === '') throw invalid('a file or folder path is needed');
  const reloadHours = optionalNumber(def.reloadHours, 'reloadHours', 0) ?? 0;
  const minRetainedPercent = optionalNumber(def.minRetainedPercent, 'minRetainedPercent', 0);
  if (minRetainedPercent !== undefined && minRetainedPercent > 100) {
    throw invalid('minRetainedPercent must be a number from 0 to 100');
  }
  const asOf = typeof def.asOf === 'string' && def.asOf.trim() !== '' ? def.asOf.trim() : undefined;
  return {
    id: common.id,
    source: path,
    layout: layoutOf(def),
    maxAgeDays: common.maxAgeDays,
    callingCodes: common.callingCodes,
    watch: def.watch !== false,
    reloadIntervalMs: reloadHours * 3_600_000,
    asOf,
    minRetainedRatio: minRetainedPercent === undefined ? undefined : minRetainedPercent / 100,
  };
}

/** The response mapping of a service registry (a JSONata expression the host prepares). */
export function serviceMappingOf(def: RegistryDefinition): string {
  return (def.mapping ?? '').trim() || DEFAULT_MAPPING;
}

/** Service registry options, without what the host supplies (the mapper, secrets, callbacks). */
export type ServiceRegistryDefinitionOptions = Omit<
  ServiceSourceOptions,
  'name' | 'mapResponse' | 'secrets' | 'onRequest'
>;

export function serviceRegistryOptions(
  def: RegistryDefinition,
  common: CommonRegistryOptions,
): ServiceRegistryDefinitionOptions {
  let headers: Record<string, string> = {};
  if (typeof def.headers === 'string' && def.headers.trim() !== '') {
    headers = JSON.parse(def.headers) as Record<string, string>;
  } else if (def.headers !== null && typeof def.headers === 'object') headers = def.headers;
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v !== 'string') throw invalid(`header ${k} must be text`);
  }
  const method = (def.method ?? 'POST').toUpperCase();
  if (method !== 'GET' && method !== 'POST' && method !== 'PUT') {
    throw invalid(`method must be GET, POST or PUT`);
  }
  const timeout = optionalNumber(def.timeout, 'timeout', 0.1);
  return {
    id: common.id,
    url: def.url ?? '',
    method,
    headers,
    body: def.body?.trim() ? def.body : undefined,
    batchSize: optionalNumber(def.batchSize, 'batchSize', 1),
    numberFormat: (def.numberFormat || 'e164') as NumberFormat,
    maxAgeDays: common.maxAgeDays,
    callingCodes: common.callingCodes,
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    retries: optionalNumber(def.retries, 'retries', 0),
    concurrency: optionalNumber(def.concurrency, 'concurrency', 1),
  };
}

/** Reassigned Numbers Database options, without what the host supplies (credentials, callbacks). */
export type ReassignedDefinitionOptions = Omit<
  ReassignedNumbersOptions,
  'name' | 'accountSid' | 'authToken' | 'onRequest'
>;

export function reassignedNumbersOptions(def: RegistryDefinition): ReassignedDefinitionOptions {
  const noData = (def.rndNoData ?? '').trim() || 'block';
  if (noData !== 'block' && noData !== 'allow') throw invalid('"no data" must be block or allow');
  const url = (def.url ?? '').trim();
  const timeout = optionalNumber(def.timeout, 'timeout', 0.1);
  const consentDate = (def.rndConsentDate ?? '').trim();
  return {
    id: RND_REGISTRY,
    url: url === '' ? undefined : url,
    consentDate: consentDate === '' ? undefined : consentDate,
    noData,
    maxAgeDays: optionalNumber(def.maxAgeDays, 'maxAgeDays', 0.001),
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    retries: optionalNumber(def.retries, 'retries', 0),
    concurrency: optionalNumber(def.concurrency, 'concurrency', 1),
  };
}
