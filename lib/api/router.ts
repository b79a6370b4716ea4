/**
 * The DNC HTTP API as one framework-free handler `(req, res, next)`. A host (the Node-RED package, a
 * test, a benchmark) mounts it, authenticates the caller and says which configuration a request is for;
 * the handler routes, validates, calls the DncService and answers JSON `{ code, message, field? }` on
 * every failure. Routes (below the mount point) live in routes/, one module per resource, each with its OpenAPI
 * operations; this is the core: matching, access, idempotency, answers and failures.
 */
import { DncError } from '../errors';
import type { DncService } from '../service';
import type { Access } from './auth';
import {
  ApiError,
  forPublic,
  invalid,
  publicError,
  redactBody,
  toHttpFailure,
  type HttpFailure,
} from './errors';
import { Query, sendJson, type ApiRequest, type ApiResponse, type Next } from './http';
import { IdempotencyCache, runIdempotent, type IdempotencyStore, type StoredResponse } from './idempotency';
import { ImportJobs, MemoryJobRegistry, type ImportJobRegistry, type ImportJobView } from './imports';
import { PostgresStore } from '../store/postgres/store';
import { PostgresIdempotency } from '../store/postgres/idempotency';
import { PostgresJobRegistry } from '../store/postgres/jobs';
import type { ApiCaller, Route, RouteKit, RouteRequest } from './route';
import { auditRoutes } from './routes/audit';
import { bulkRoutes } from './routes/bulk';
import { checkRoutes } from './routes/checks';
import { contactRoutes } from './routes/contacts';
import { labelRoutes } from './routes/labels';
import { listRoutes } from './routes/lists';
import { systemRoutes } from './routes/system';

/** Everything the API needs about one configuration. Create with `createApiContext`. */
export interface ApiContext {
  /** The config node id (or any stable name). */
  readonly id: string;
  readonly name: string;
  readonly service: DncService;
  /** Keeps the store open until a write settles (the config node drains these on redeploy). */
  readonly track: <T>(work: Promise<T>) => Promise<T>;
  readonly imports: ImportJobs;
  /**
   * Where this configuration's Idempotency-Keys live when not in the mount's memory: the database of a
   * PostgreSQL store (shared by every instance, kept across restarts).
   */
  readonly idempotency?: IdempotencyStore;
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
  /** Where import jobs are kept (default: memory, or the database of a PostgreSQL store). */
  jobs?: ImportJobRegistry;
  /** Where Idempotency-Keys are kept (default: the mount's memory, or the database of a PostgreSQL store). */
  idempotency?: IdempotencyStore;
}): ApiContext {
  const track = options.track ?? (<T>(work: Promise<T>) => work);
  // A PostgreSQL store is shared by several instances: jobs and keys go to its database so that any
  // instance answers for them and a restart keeps them.
  const store = options.service.store;
  const shared = store instanceof PostgresStore;
  const jobs =
    options.jobs ?? (shared ? new PostgresJobRegistry(store, options.id) : new MemoryJobRegistry());
  const idempotency = options.idempotency ?? (shared ? new PostgresIdempotency(store) : undefined);
  const imports = new ImportJobs({ service: options.service, track }, jobs);
  const context: ApiContext = {
    id: options.id,
    name: options.name ?? options.id,
    service: options.service,
    track,
    imports,
    idempotency,
    registries: options.registries,
    lastChangeAt: null,
    since: Date.now(),
    dispose: async () => {
      stop();
      await imports.close();
    },
  };
  const stop = options.service.onChange((record) => {
    context.lastChangeAt = Date.parse(record.at);
  });
  return context;
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

export interface DncApiOptions {
  /**
   * The configuration a request is for. `ref` is the `config` query parameter (admin mount) or
   * undefined; throws an ApiError (400 when ambiguous, 404 unknown, 503 not usable).
   */
  resolve(ref: string | undefined): ApiContext;
  /** Whether requests may name a configuration with `?config=` (admin mount: yes; public mount: no). */
  readonly configParam: boolean;
  readonly limits?: Partial<ApiLimits>;
  /** Keys of configurations that keep none of their own (ApiContext.idempotency); default: a new cache. */
  readonly idempotency?: IdempotencyStore;
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

export function createDncApi(options: DncApiOptions) {
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const idempotency = options.idempotency ?? new IdempotencyCache();
  const withConfig = (names: readonly string[]) => (options.configParam ? [...names, 'config'] : names);
  const exposeDetails = options.exposeDetails ?? true;
  /** An import job as this mount's callers may see it (a store failure's message may name files). */
  const viewOf = (view: ImportJobView): ImportJobView => {
    return exposeDetails || view.error === null ? view : { ...view, error: publicError(view.error) };
  };
  /** A failure as this mount's callers may see it. */
  const failureOf = (err: unknown): HttpFailure => {
    const failure = toHttpFailure(err);
    return exposeDetails ? failure : forPublic(failure);
  };

  /** Runs `work` once per key; failures (4xx) are answers too, and are replayed like successes. */
  async function idempotent(
    idem: { scope: string; key: string; store?: IdempotencyStore },
    fingerprint: string,
    work: () => Promise<StoredResponse>,
    onReplay?: () => void,
  ): Promise<StoredResponse> {
    const result = await runIdempotent(
      idem.store ?? idempotency,
      idem.scope,
      idem.key,
      fingerprint,
      async () => {
        try {
          return await work();
        } catch (err) {
          const failure = failureOf(err);
          if (failure.status >= 500) logUnexpected(err);
          return { status: failure.status, body: failure.body, headers: failure.headers };
        }
      },
    );
    if (!result.replayed) return { status: result.status, body: result.body, headers: result.headers };
    onReplay?.();
    return {
      status: result.status,
      body: result.body,
      headers: { ...result.headers, 'Idempotent-Replayed': 'true' },
    };
  }

  const kit: RouteKit = { options, limits, withConfig, idempotent, viewOf, exposeDetails };
  // Grouped by resource; no two routes' paths overlap, so the order only sets each path's Allow list.
  const routes: Route[] = [
    ...systemRoutes(kit),
    ...labelRoutes(kit),
    ...contactRoutes(kit),
    ...checkRoutes(kit),
    ...listRoutes(kit),
    ...auditRoutes(kit),
    ...bulkRoutes(kit),
  ];

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
          key === null
            ? null
            : {
                scope: `${ctx().id}\u0000${caller.id}\u0000${r.method} ${path}`,
                key,
                store: ctx().idempotency,
              };
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
