/**
 * The DNC HTTP API as one framework-free handler `(req, res, next)`. A host (the Node-RED package, a
 * test, a benchmark) mounts it, authenticates the caller and says which configuration a request is for;
 * the handler routes, validates, calls the DncService and answers JSON `{ code, message, field? }` on
 * every failure. Routes (below the mount point) are listed in ROUTES and documented in openapi.ts.
 */
import { activeLabels, type CheckOptions } from '../decide';
import { DncError } from '../errors';
import type { DncService, LabelChangeOutcome, LabelChangeRequest } from '../service';
import type { AuditQuery } from '../store/types';
import { isoTime, parseInstant } from '../time';
import { RULES, assertContactShape, assertValue } from '../values';
import type { Access } from './auth';
import {
  ApiError,
  forPublic,
  invalid,
  publicError,
  publicMessage,
  redactBody,
  toHttpFailure,
  type HttpFailure,
} from './errors';
import { streamExport } from './export';
import {
  Query,
  assertKnownFields,
  assertPlainBody,
  contentType,
  readJsonObject,
  sendJson,
  type ApiRequest,
  type ApiResponse,
  type Next,
} from './http';
import { IdempotencyCache, fingerprintOf, type StoredResponse } from './idempotency';
import { ImportJobs, spool, type ImportFormat, type ImportJob, type ImportJobView } from './imports';
import { rm } from 'node:fs/promises';
import { openApiDocument } from './openapi';

/** Everything the API needs about one configuration. Create with `createApiContext`. */
export interface ApiContext {
  /** The config node id (or any stable name). */
  readonly id: string;
  readonly name: string;
  readonly service: DncService;
  /** Keeps the store open until a write settles (the config node drains these on redeploy). */
  readonly track: <T>(work: Promise<T>) => Promise<T>;
  readonly imports: ImportJobs;
  /** Health of the registries, once there are any (the registry feature fills this in). */
  readonly registries?: () => unknown[];
  lastChangeAt: number | null;
  readonly since: number;
  /** Stops following the store (call when the configuration goes away). */
  dispose(): Promise<void>;
}

export function createApiContext(options: {
  id: string;
  name?: string;
  service: DncService;
  track?: <T>(work: Promise<T>) => Promise<T>;
  registries?: () => unknown[];
}): ApiContext {
  const track = options.track ?? (<T>(work: Promise<T>) => work);
  const imports = new ImportJobs({ service: options.service, track });
  const context: ApiContext = {
    id: options.id,
    name: options.name ?? options.id,
    service: options.service,
    track,
    imports,
    registries: options.registries,
    lastChangeAt: null,
    since: Date.now(),
    dispose: async () => {
      stop();
      await imports.close();
    },
  };
  const stop = options.service.store.onChange((record) => {
    context.lastChangeAt = Date.parse(record.at);
  });
  return context;
}

/** Who is calling: an admin user (through Node-RED's permissions) or a token of the public mount. */
export interface ApiCaller {
  /** Scope for idempotency keys: a user name or a token id. */
  readonly id: string;
  readonly access: Access;
  /**
   * Who is acting, recorded in the audit trail (`principal`): `user:<name>` or `admin:anonymous` on the
   * admin mount, `token:<id>` on the public mount. Set by the host from the authentication, never from
   * the request's content. Defaults to `id`.
   */
  readonly principal?: string;
}

/** The principal a caller's changes are recorded under. */
export function principalOf(caller: ApiCaller): string {
  return caller.principal ?? caller.id;
}

/**
 * `principal` is the package's to set: a body naming one is refused (not silently ignored), so a client
 * that believes it can choose who is recorded finds out at once.
 */
function refuseClaimedPrincipal(body: Record<string, unknown>): void {
  if (Object.prototype.hasOwnProperty.call(body, 'principal')) {
    throw invalid(
      'principal is not a request field: the server records who is authenticated (use actor for the person you act for)',
      'principal',
    );
  }
}

export interface ApiLimits {
  /** Body of a label change (default 16 KiB). */
  readonly changeBytes: number;
  /** Body of a check (default 1 MiB). */
  readonly checkBytes: number;
  /** Contacts in one batch check (default 10,000). */
  readonly checkContacts: number;
  /** An import upload (default 512 MiB). */
  readonly importBytes: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  changeBytes: 16 * 1024,
  checkBytes: 1024 * 1024,
  checkContacts: 10_000,
  importBytes: 512 * 1024 * 1024,
};

/**
 * Check options beyond labels, channel and at that the check route passes on to DncService.check as
 * given (after the JSON safety checks). Registries and calling-hour policy add theirs here.
 */
export const EXTRA_CHECK_FIELDS: readonly string[] = ['policy', 'campaign'];

export interface DncApiOptions {
  /**
   * The configuration a request is for. `ref` is the `config` query parameter (admin mount) or
   * undefined; throws an ApiError (400 when ambiguous, 404 unknown, 503 not usable).
   */
  resolve(ref: string | undefined): ApiContext;
  /** Whether requests may name a configuration with `?config=` (admin mount: yes; public mount: no). */
  readonly configParam: boolean;
  readonly limits?: Partial<ApiLimits>;
  readonly idempotency?: IdempotencyCache;
  /** The public path of the mount (for the OpenAPI document's server URL). */
  readonly serverUrl?: (req: ApiRequest) => string;
  /** Logs unexpected errors (never sent to the client). */
  readonly log?: (message: string) => void;
  /**
   * Whether callers may see server-side details (store paths, configuration errors) in 5xx answers and
   * /health. True for the admin mount (administrators); false for the public mount (bearer tokens get
   * the code and a short message only).
   */
  readonly exposeDetails?: boolean;
}

interface RouteRequest {
  readonly req: ApiRequest;
  readonly res: ApiResponse;
  readonly query: Query;
  readonly params: Record<string, string>;
  readonly caller: ApiCaller;
  readonly ctx: () => ApiContext;
  /** The Idempotency-Key of a write, scoped to caller, configuration and route. */
  readonly idem: { readonly scope: string; readonly key: string } | null;
}

type Handler = (r: RouteRequest) => Promise<StoredResponse | 'streamed'> | StoredResponse;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly access: Access;
  readonly query: readonly string[];
  readonly handler: Handler;
  /** Idempotency-Key honoured (writes). */
  readonly idempotent?: boolean;
}

function route(
  method: string,
  path: string,
  access: Access,
  query: readonly string[],
  handler: Handler,
  idempotent = false,
): Route {
  const names: string[] = [];
  // The literal parts are escaped: `/openapi.json` must not match `/openapiXjson`.
  const source = path
    .split(/(\{\w+\})/)
    .map((part) => {
      const param = /^\{(\w+)\}$/.exec(part);
      if (param === null) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]);
      return '([^/]+)';
    })
    .join('');
  const pattern = new RegExp(`^${source}/?$`);
  return { method, pattern, names, access, query, handler, idempotent };
}

const ok = (body: unknown, status = 200, headers?: Record<string, string>): StoredResponse => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

function decorate(kind: 'add' | 'remove', outcome: LabelChangeOutcome): Record<string, unknown> {
  return kind === 'add'
    ? { ...outcome, added: outcome.changed, alreadyPresent: outcome.unchanged }
    : { ...outcome, removed: outcome.changed, notPresent: outcome.unchanged };
}

/** The media types an import upload may be sent as, and the format each means. */
const IMPORT_TYPES: ReadonlyMap<string, ImportFormat> = new Map([
  ['text/csv', 'csv'],
  ['application/x-ndjson', 'jsonl'],
  ['application/jsonl', 'jsonl'],
  ['application/json-lines', 'jsonl'],
]);

const CHANGE_FIELDS = ['contact', 'labels', 'source', 'actor', 'reason', 'campaign', 'channel'];
const REMOVE_FIELDS = ['contact', 'labels', 'all', 'source', 'actor', 'reason'];
const ATTEMPT_FIELDS = ['contact', 'at', 'channel', 'campaign', 'outcome', 'source'];

export function createDncApi(options: DncApiOptions) {
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const idempotency = options.idempotency ?? new IdempotencyCache();
  const withConfig = (names: readonly string[]) => (options.configParam ? [...names, 'config'] : names);
  const exposeDetails = options.exposeDetails ?? true;
  /** An import job as this mount's callers may see it (a store failure's message may name files). */
  const viewOf = (job: ImportJob): ImportJobView => {
    const view = job.view();
    return exposeDetails || view.error === null ? view : { ...view, error: publicError(view.error) };
  };
  /** A failure as this mount's callers may see it. */
  const failureOf = (err: unknown): HttpFailure => {
    const failure = toHttpFailure(err);
    return exposeDetails ? failure : forPublic(failure);
  };

  async function change(kind: 'add' | 'remove', r: RouteRequest): Promise<StoredResponse> {
    const body = await readJsonObject(r.req, limits.changeBytes);
    refuseClaimedPrincipal(body);
    assertKnownFields(body, kind === 'add' ? CHANGE_FIELDS : REMOVE_FIELDS);
    if (body.contact === undefined) throw invalid('contact is required', 'contact');
    assertContactShape(body.contact);
    if (body.all !== undefined && typeof body.all !== 'boolean')
      throw invalid('all must be true or false', 'all');
    if (kind === 'remove' && body.all === true && body.labels !== undefined) {
      throw invalid('give either labels or all: true, not both', 'labels');
    }
    const ctx = r.ctx();
    const request: LabelChangeRequest = {
      contact: body.contact,
      labels: body.labels,
      source: body.source ?? 'api',
      actor: body.actor,
      reason: body.reason,
      campaign: body.campaign,
      channel: body.channel,
      all: body.all === true,
    };
    const principal = principalOf(r.caller);
    const apply = async (): Promise<StoredResponse> => {
      const outcome = await ctx.track(
        kind === 'add'
          ? ctx.service.addLabels(request, principal)
          : ctx.service.removeLabels(request, principal),
      );
      return ok(decorate(kind, outcome));
    };
    if (r.idem === null) return apply();
    return idempotent(r.idem, fingerprintOf(JSON.stringify(body)), apply);
  }

  /** Runs `work` once per key; failures (4xx) are answers too, and are replayed like successes. */
  async function idempotent(
    idem: { scope: string; key: string },
    fingerprint: string,
    work: () => Promise<StoredResponse>,
    onReplay?: () => void,
  ): Promise<StoredResponse> {
    const result = await idempotency.run(idem.scope, idem.key, fingerprint, async () => {
      try {
        return await work();
      } catch (err) {
        const failure = failureOf(err);
        if (failure.status >= 500) logUnexpected(err);
        return { status: failure.status, body: failure.body, headers: failure.headers };
      }
    });
    if (!result.replayed) return { status: result.status, body: result.body, headers: result.headers };
    onReplay?.();
    return {
      status: result.status,
      body: result.body,
      headers: { ...result.headers, 'Idempotent-Replayed': 'true' },
    };
  }

  /**
   * Attempts and outcomes (frequency caps, cooling-off). Called through the service's recordAttempt /
   * recordOutcome when this version of the service has them; otherwise the route answers 404.
   */
  async function attempt(kind: 'attempt' | 'outcome', r: RouteRequest): Promise<StoredResponse> {
    const body = await readJsonObject(r.req, limits.changeBytes);
    refuseClaimedPrincipal(body);
    assertKnownFields(body, ATTEMPT_FIELDS);
    if (body.contact === undefined) throw invalid('contact is required', 'contact');
    assertContactShape(body.contact);
    const ctx = r.ctx();
    const writer = ctx.service as unknown as Partial<
      Record<
        'recordAttempt' | 'recordOutcome',
        (request: Record<string, unknown>, principal: string) => Promise<Record<string, unknown>>
      >
    >;
    const method = kind === 'attempt' ? writer.recordAttempt : writer.recordOutcome;
    if (typeof method !== 'function') {
      throw new ApiError(404, 'DNC_NOT_FOUND', 'this version does not record attempts');
    }
    let at: number | undefined;
    if (body.at !== undefined) {
      assertValue(RULES.instant, body.at, 'at');
      at = parseInstant(body.at as string, 'at');
    }
    const apply = async (): Promise<StoredResponse> => {
      const record = await ctx.track(
        method.call(
          ctx.service,
          {
            ...body,
            ...(at === undefined ? {} : { at }),
            source: body.source ?? 'api',
          },
          principalOf(r.caller),
        ),
      );
      const when = record.at;
      return ok({ ...record, at: typeof when === 'number' ? isoTime(when) : when });
    };
    if (r.idem === null) return apply();
    return idempotent(r.idem, fingerprintOf(JSON.stringify(body)), apply);
  }

  function checkOptions(source: Record<string, unknown>): CheckOptions {
    const options: Record<string, unknown> = {};
    if (source.labels !== undefined) {
      assertValue(
        RULES.labels,
        source.labels,
        'labels',
        'labels must be label names, separated by commas or in a list',
      );
      options.labels = source.labels;
    }
    if (source.channel !== undefined) {
      assertValue(
        RULES.channel,
        source.channel,
        'channel',
        'channel must be a channel name (letters, digits, "_", "-")',
      );
      // null or empty: no channel named (the check covers every channel, as when the field is absent).
      if (source.channel !== null && source.channel !== '') options.channel = source.channel;
    }
    if (source.at !== undefined) {
      assertValue(RULES.instant, source.at, 'at');
      options.at = parseInstant(source.at as string, 'at');
    }
    if (source.campaign !== undefined) assertValue(RULES.campaign, source.campaign, 'campaign');
    for (const field of EXTRA_CHECK_FIELDS) if (source[field] !== undefined) options[field] = source[field];
    return options;
  }

  const routes: Route[] = [
    route('GET', '/openapi.json', 'read', withConfig([]), (r) =>
      ok(openApiDocument(options.serverUrl ? options.serverUrl(r.req) : '/dnc', options.configParam)),
    ),
    route('GET', '/labels', 'read', withConfig([]), (r) => {
      const catalog = r.ctx().service.catalog;
      return ok({
        labels: catalog.names.map((name) => {
          const l = catalog.find(name)!;
          return {
            name: l.name,
            description: l.description,
            channels: l.channels,
            global: l.global,
            expiresAfterDays: l.expiresAfterDays,
          };
        }),
      });
    }),
    route('GET', '/contacts/{contact}', 'read', withConfig(['history', 'limit']), async (r) => {
      const ctx = r.ctx();
      const service = ctx.service;
      const contact = service.parser.parse(r.params.contact);
      const history = r.query.text('history') === undefined ? true : r.query.flag('history');
      const limit = r.query.integer('limit', 1, 1000, 50);
      await service.whenReady();
      const now = Date.now();
      const profiles = service.store.lookupAll(contact.keys);
      const keys = [...new Set([...profiles.flatMap((p) => p.keys), ...contact.keys])];
      const active = activeLabels(profiles, now).map((l) => ({
        label: l.label,
        appliedAt: isoTime(l.appliedAt),
        expiresAt: l.expiresAt === null ? null : isoTime(l.expiresAt),
        source: l.source,
        actor: l.actor,
        principal: l.principal ?? null,
        reason: l.reason,
        campaign: l.campaign,
        channel: l.channel,
      }));
      const expired = profiles
        .flatMap((p) => p.labels)
        .filter((l) => l.expiresAt !== null && l.expiresAt <= now)
        .map((l) => ({ label: l.label, expiredAt: isoTime(l.expiresAt!) }));
      const records = history ? await service.store.audit({ keys, limit }) : undefined;
      return ok({
        contact: keys[0],
        keys,
        known: profiles.length > 0,
        labels: active,
        expired,
        ...(records ? { history: records } : {}),
      });
    }),
    route('POST', '/labels/add', 'write', withConfig([]), (r) => change('add', r), true),
    route('POST', '/labels/remove', 'write', withConfig([]), (r) => change('remove', r), true),
    route('POST', '/attempts', 'write', withConfig([]), (r) => attempt('attempt', r), true),
    route('POST', '/outcomes', 'write', withConfig([]), (r) => attempt('outcome', r), true),
    route('POST', '/check', 'read', withConfig([]), async (r) => {
      const body = await readJsonObject(r.req, limits.checkBytes);
      assertKnownFields(body, ['contact', 'contacts', 'labels', 'channel', 'at', ...EXTRA_CHECK_FIELDS]);
      const ctx = r.ctx();
      const opts = checkOptions(body);
      if (body.contacts !== undefined) {
        if (body.contact !== undefined) throw invalid('give contact or contacts, not both', 'contacts');
        if (!Array.isArray(body.contacts)) throw invalid('contacts must be a list', 'contacts');
        if (body.contacts.length > limits.checkContacts) {
          throw invalid(`at most ${limits.checkContacts} contacts in one check`, 'contacts');
        }
        await waitForStore(ctx);
        return ok(ctx.service.checkMany(body.contacts, opts));
      }
      if (body.contact === undefined) throw invalid('contact (or contacts) is required', 'contact');
      assertContactShape(body.contact);
      await waitForStore(ctx);
      return ok(ctx.service.check(body.contact, opts));
    }),
    route('GET', '/check', 'read', withConfig(['contact', 'channel', 'labels']), async (r) => {
      const contact = r.query.text('contact');
      if (contact === undefined) throw invalid('contact is required', 'contact');
      assertValue(RULES.contactText, contact, 'contact', undefined, 'DNC_INVALID_CONTACT');
      const ctx = r.ctx();
      const opts = checkOptions({ channel: r.query.text('channel'), labels: r.query.text('labels') });
      await waitForStore(ctx);
      return ok(ctx.service.check(contact, opts));
    }),
    route(
      'GET',
      '/audit',
      'read',
      withConfig(['contact', 'label', 'source', 'since', 'until', 'limit', 'verify']),
      async (r) => {
        const ctx = r.ctx();
        const service = ctx.service;
        const query: { -readonly [K in keyof AuditQuery]: AuditQuery[K] } = {
          limit: r.query.integer('limit', 1, 10_000, 100),
        };
        const contact = r.query.text('contact');
        if (contact !== undefined) {
          assertValue(RULES.contactText, contact, 'contact', undefined, 'DNC_INVALID_CONTACT');
          const parsed = service.parser.parse(contact);
          await service.whenReady();
          const profiles = service.store.lookupAll(parsed.keys);
          query.keys = [...new Set([...parsed.keys, ...profiles.flatMap((p) => p.keys)])];
        }
        const label = r.query.text('label');
        if (label !== undefined) {
          assertValue(RULES.labelName, label, 'label', 'label is not a label name');
          query.label = label;
        }
        const source = r.query.text('source');
        if (source !== undefined) query.source = source;
        query.since = r.query.instant('since');
        query.until = r.query.instant('until');
        const verify = r.query.flag('verify');
        await service.whenReady();
        const records = await service.store.audit(query);
        return ok({
          records,
          count: records.length,
          ...(verify ? { verification: await service.store.verify() } : {}),
        });
      },
    ),
    route('GET', '/audit/verify', 'read', withConfig([]), async (r) => {
      const service = r.ctx().service;
      await service.whenReady();
      return ok(await service.store.verify());
    }),
    route('GET', '/health', 'read', withConfig([]), async (r) => {
      const ctx = r.ctx();
      const store = ctx.service.store;
      const status = store.status();
      if (status.state === 'ready' && ctx.lastChangeAt === null && status.seq > 0) {
        // Once per configuration: the time of the last record (scans the journal).
        const last = await store.audit({ limit: 1 }).catch(() => []);
        if (last[0] && ctx.lastChangeAt === null) ctx.lastChangeAt = Date.parse(last[0].at);
      }
      const now = Date.now();
      const ageSeconds = (ms: number | null) =>
        ms === null ? null : Math.max(0, Math.round((now - ms) / 1000));
      const ready = status.state === 'ready';
      return ok(
        {
          status: ready ? 'ok' : 'unavailable',
          config: { id: ctx.id, name: ctx.name },
          store: {
            state: status.state,
            ...(status.error
              ? {
                  error: exposeDetails
                    ? status.error.message
                    : publicMessage((status.error as { code?: string }).code ?? 'DNC_STORE_UNAVAILABLE'),
                }
              : {}),
            contacts: status.contacts,
            keys: status.keys,
            seq: status.seq,
            lastChangeAt: ctx.lastChangeAt === null ? null : isoTime(ctx.lastChangeAt),
            lastChangeAgeSeconds: ageSeconds(ctx.lastChangeAt),
            watchedSince: isoTime(ctx.since),
            watchedForSeconds: ageSeconds(ctx.since),
          },
          registries: ctx.registries ? ctx.registries() : [],
          imports: {
            running: ctx.imports.list().filter((j) => j.state === 'running').length,
            queued: ctx.imports.list().filter((j) => j.state === 'queued').length,
          },
          checkedAt: isoTime(now),
        },
        ready ? 200 : 503,
      );
    }),
    route(
      'POST',
      '/imports',
      'write',
      withConfig(['format', 'dryRun']),
      async (r) => {
        const type = contentType(r.req);
        const named = r.query.text('format');
        if (named !== undefined && named !== 'csv' && named !== 'jsonl') {
          throw invalid('format must be csv or jsonl', 'format');
        }
        // Only the import media types, none of which a browser sends cross-site without a CORS preflight
        // (text/plain, forms and no type at all are refused). ?format= may still choose the parser.
        const typed = IMPORT_TYPES.get(type);
        if (typed === undefined || r.req._body === true) {
          throw new ApiError(
            415,
            'DNC_UNSUPPORTED_MEDIA_TYPE',
            'send the file as text/csv or application/x-ndjson (JSON lines)',
          );
        }
        assertPlainBody(r.req);
        const format: ImportFormat = named ?? typed;
        const dryRun = r.query.flag('dryRun');
        const ctx = r.ctx();
        const upload = await spool(r.req, limits.importBytes);
        // From here on the upload (up to importBytes on disk) belongs to this request until a job takes
        // it: every other way out (conflict, invalid file, replay, closed configuration) removes it.
        let taken = false;
        try {
          const fingerprint = fingerprintOf(format, String(dryRun), upload.sha256);
          const submit = async (): Promise<StoredResponse> => {
            const job = await ctx.imports.submit(format, dryRun, upload, fingerprint, principalOf(r.caller));
            taken = true;
            return ok(viewOf(job), 202, { Location: `imports/${job.id}` });
          };
          if (r.idem === null) return await submit();
          let replayed = false;
          const response = await idempotent(r.idem, fingerprint, submit, () => {
            replayed = true;
          });
          if (!replayed) return response;
          // The first job, as it is now.
          const firstId = (response.body as { id?: unknown } | null)?.id;
          const first = typeof firstId === 'string' ? ctx.imports.get(firstId) : undefined;
          return first ? { ...response, body: viewOf(first) } : response;
        } finally {
          if (!taken) await rm(upload.dir, { recursive: true, force: true });
        }
      },
      true,
    ),
    route('GET', '/imports', 'read', withConfig([]), (r) =>
      ok({
        jobs: r.ctx().imports.list().map(viewOf),
      }),
    ),
    route('GET', '/imports/{id}', 'read', withConfig([]), (r) => ok(viewOf(job(r)))),
    route('DELETE', '/imports/{id}', 'write', withConfig([]), (r) => {
      const found = job(r);
      r.ctx().imports.cancel(found);
      return ok(viewOf(found));
    }),
    route('GET', '/export', 'read', withConfig(['format', 'label', 'includeExpired']), async (r) => {
      const format = r.query.text('format') ?? 'csv';
      if (format !== 'csv' && format !== 'json' && format !== 'jsonl') {
        throw invalid('format must be csv, json or jsonl', 'format');
      }
      const ctx = r.ctx();
      const label = r.query.text('label');
      if (label !== undefined) ctx.service.catalog.resolveNames([label], 'label');
      const includeExpired = r.query.flag('includeExpired');
      await ctx.service.whenReady();
      // The profile list is taken synchronously, before the first await: the store's contacts() walks
      // the live index lazily, and a write landing while the export waits on the socket (linking two
      // profiles, say) can move a profile behind the walk's position so it would be skipped. Profiles are
      // immutable, so this array of references (about 8 bytes a contact) is a consistent picture as of
      // now; changes landing during the export are not in it.
      const contacts = [...ctx.service.store.contacts()];
      try {
        await streamExport(contacts, r.res, {
          format: format,
          label,
          includeExpired,
          now: Date.now(),
          filename: 'dnc-export',
        });
      } catch (err) {
        // Headers are out: all we can do is cut the response so the client sees it is incomplete.
        r.res.destroy();
        if (!(err instanceof Error && err.message === 'the client went away')) throw err;
      }
      return 'streamed' as const;
    }),
  ];

  function job(r: RouteRequest) {
    const found = r.ctx().imports.get(r.params.id);
    if (found === undefined)
      throw new ApiError(404, 'DNC_NOT_FOUND', 'no such import job (jobs are kept in memory)');
    return found;
  }

  async function waitForStore(ctx: ApiContext): Promise<void> {
    // A check on a store still opening waits for it; an unavailable store is a 503, not a blocked decision.
    await ctx.service.whenReady();
  }

  function find(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { allow: string[] } | null {
    const allow: string[] = [];
    for (const r of routes) {
      const match = r.pattern.exec(path);
      if (match === null) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) {
        allow.push(...(r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]));
        continue;
      }
      const params: Record<string, string> = Object.create(null) as Record<string, string>;
      r.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(match[i + 1]);
        } catch {
          throw invalid(`the ${name} in the path is not valid URL encoding`, name);
        }
      });
      return { route: r, params };
    }
    return allow.length > 0 ? { allow } : null;
  }

  function split(req: ApiRequest): { path: string; search: string } {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return q === -1 ? { path: url, search: '' } : { path: url.slice(0, q), search: url.slice(q + 1) };
  }

  return {
    routes: routes.map((r) => ({ method: r.method, pattern: r.pattern, access: r.access })),

    /** The access a request needs ('read' for unknown routes, so a 404 is not shown before authorization). */
    /**
     * Whether a path is one of this API's routes (for any method). The admin mount sits on the same
     * server as the flows' http-in routes when both roots are `/`: a flow may well serve
     * `/dnc/agent/opt-out`, so paths that are not ours must fall through to it, not answer 404.
     */
    owns(req: ApiRequest): boolean {
      try {
        return find(req.method ?? 'GET', split(req).path) !== null;
      } catch {
        return true;
      }
    },

    accessFor(req: ApiRequest): Access {
      try {
        const found = find(req.method ?? 'GET', split(req).path);
        return found !== null && 'route' in found ? found.route.access : 'read';
      } catch {
        return 'read';
      }
    },

    /**
     * Handles a request whose URL is relative to the mount point. The caller has been authenticated;
     * this checks its access against the route's.
     */
    handle(
      req: ApiRequest,
      res: ApiResponse,
      next: Next,
      caller: ApiCaller,
      /** The configuration, when the mount decides it (public mount); else options.resolve. */
      resolve?: () => ApiContext,
    ): void {
      void (async () => {
        const { path, search } = split(req);
        const found = find(req.method ?? 'GET', path);
        if (found === null) throw new ApiError(404, 'DNC_NOT_FOUND', `no DNC API route ${path}`);
        if (!('route' in found)) {
          // RFC 9110 §15.5.6: a 405 lists the methods the resource does support.
          throw new ApiError(
            405,
            'DNC_METHOD_NOT_ALLOWED',
            `${req.method} is not allowed on ${path}`,
            undefined,
            { Allow: found.allow.join(', ') },
          );
        }
        const { route: r, params } = found;
        if (r.access === 'write' && caller.access !== 'write') {
          throw new ApiError(403, 'DNC_FORBIDDEN', 'this route changes data: it needs a read-write token');
        }
        const query = new Query(search);
        query.assertKnown(r.query);
        let context: ApiContext | undefined;
        const ctx = () =>
          (context ??= resolve
            ? resolve()
            : options.resolve(options.configParam ? query.text('config') : undefined));
        const request: RouteRequest = { req, res, query, params, caller, ctx, idem: null };
        const key = r.idempotent ? IdempotencyCache.keyFrom(req.headers['idempotency-key']) : null;
        const idem =
          key === null ? null : { scope: `${ctx().id}\u0000${caller.id}\u0000${r.method} ${path}`, key };
        const response = await r.handler({ ...request, idem });
        if (response !== 'streamed') {
          const body = exposeDetails ? response.body : redactBody(response.body);
          sendJson(res, response.status, body, response.headers);
        }
      })().catch((err: unknown) => fail(res, err));
    },

    /** Sends an error (for the host's own failures: authentication, rate limit, body-parser). */
    fail,
  };

  function logUnexpected(err: unknown): void {
    if (err instanceof ApiError || err instanceof DncError) return;
    options.log?.(`DNC API: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  function fail(res: ApiResponse, err: unknown): void {
    const failure = failureOf(err);
    if (failure.status >= 500) logUnexpected(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, failure.status, failure.body, failure.headers);
  }
}

export type DncApi = ReturnType<typeof createDncApi>;
