/**
 * Mounts the DNC HTTP API (lib/api) on Node-RED, once per express app (so once per module load: a
 * redeploy adds nothing):
 * - on the admin app (`RED.httpAdmin`) under `/dnc/`, guarded by `RED.auth.needsPermission('dnc.read')`
 *   for reads and `'dnc.write'` for writes, so Node-RED's `adminAuth` protects it;
 * - on the flows app (`RED.httpNode`) under each `dnc-config` node's public path, guarded by that
 *   node's bearer tokens (read-only or read-write), rate limited per token. No token, no mount.
 * Routes find their configuration in `liveConfigs` (by the `config` query parameter on the admin mount).
 */
import type { NodeAPI } from 'node-red';
import { RateLimiter, bearerToken, type TokenSet } from '../../lib/api/auth';
import { ApiError } from '../../lib/api/errors';
import {
  allowedOriginsOf,
  foreignOrigin,
  originAllowed,
  type ApiRequest,
  type ApiResponse,
  type Next,
} from '../../lib/api/http';
import { IdempotencyCache } from '../../lib/api/idempotency';
import { sweepStaleUploads } from '../../lib/api/upload-spool';
import { createApiContext, createDncApi, type ApiContext } from '../../lib/api/router';
import { liveConfigs, type ApiSettings, type DncBinding, type LiveConfig } from './config';
import { describeRegistries } from './registry';

type Middleware = (req: ApiRequest, res: ApiResponse, next: Next) => void;
type ErrorMiddleware = (err: unknown, req: ApiRequest, res: ApiResponse, next: Next) => void;
interface ExpressLike {
  use(path: string, ...handlers: (Middleware | ErrorMiddleware)[]): unknown;
  use(...handlers: (Middleware | ErrorMiddleware)[]): unknown;
  /** The app this one is mounted on (express sets it on mount). */
  parent?: ExpressLike;
}

const mounted = new WeakSet<object>();
const mountedPublicErrors = new WeakSet<object>();
let swept = false;
const contexts = new WeakMap<DncBinding, ApiContext>();
const limiters = new WeakMap<ApiSettings, RateLimiter>();
/** Failed authentications per client address: slows down token guessing. */
const authFailures = new RateLimiter(120, 60);
const idempotency = new IdempotencyCache();

export const DEFAULT_PUBLIC_PATH = '/dnc-api';
export const DEFAULT_RATE_LIMIT = 6000;
const PATH_PATTERN = /^(\/[A-Za-z0-9._~-]+)+$/;

/** Validates a public path: `/dnc-api`, `/api/dnc`; a trailing slash is dropped. */
export function publicPathOf(value: unknown): string {
  const text = typeof value === 'string' ? value.trim().replace(/\/+$/, '') : '';
  if (text === '') return DEFAULT_PUBLIC_PATH;
  const path = text.startsWith('/') ? text : `/${text}`;
  if (!PATH_PATTERN.test(path)) {
    throw new Error(
      `the API path "${String(value)}" may only hold letters, digits and . _ ~ - between slashes`,
    );
  }
  return path;
}

export function rateLimitOf(value: unknown): number {
  if (value === undefined || value === null || value === '') return DEFAULT_RATE_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000) {
    throw new Error('the API rate limit must be a whole number of requests per minute (0: no limit)');
  }
  return n;
}

function contextOf(entry: LiveConfig): ApiContext {
  const binding = entry.binding;
  if (binding.service === null) {
    throw new ApiError(
      503,
      'DNC_NOT_CONFIGURED',
      `the DNC labels configuration "${entry.name}" is not valid: ${binding.error?.message ?? 'see the Node-RED log'}`,
    );
  }
  let context = contexts.get(binding);
  if (context === undefined) {
    context = createApiContext({
      id: entry.id,
      name: entry.name,
      service: binding.service,
      track: (work) => binding.track(work),
      registries: describeRegistries,
    });
    contexts.set(binding, context);
  }
  return context;
}

function resolveAdmin(ref: string | undefined): ApiContext {
  if (ref !== undefined) {
    const byId = liveConfigs.get(ref);
    if (byId) return contextOf(byId);
    const named = [...liveConfigs.values()].filter((c) => c.name === ref);
    if (named.length === 1) return contextOf(named[0]);
    if (named.length > 1) {
      throw new ApiError(
        400,
        'DNC_CONFIG_REQUIRED',
        `several configurations are named "${ref}": use the node id`,
        'config',
      );
    }
    throw new ApiError(404, 'DNC_NOT_FOUND', `no DNC labels configuration "${ref}" is deployed`, 'config');
  }
  const all = [...liveConfigs.values()];
  if (all.length === 1) return contextOf(all[0]);
  if (all.length === 0) {
    throw new ApiError(503, 'DNC_NOT_CONFIGURED', 'no DNC labels configuration is deployed');
  }
  throw new ApiError(
    400,
    'DNC_CONFIG_REQUIRED',
    `several DNC labels configurations are deployed: name one with ?config= (${all
      .map((c) => `${c.name || c.id} = ${c.id}`)
      .join(', ')})`,
    'config',
  );
}

/**
 * Who calls the admin mount, for the audit trail: Node-RED's needsPermission has set `req.user` when
 * adminAuth is on (`{ username }` for a logged-in user, `{ anonymous: true }` for adminAuth's default
 * user). Without adminAuth there is no user at all: anyone who can reach the editor acts as
 * `admin:anonymous`, and the record says so.
 */
export function adminPrincipal(req: ApiRequest): string {
  const user = (req as { user?: { username?: unknown } | null }).user;
  if (user !== undefined && user !== null && typeof user.username === 'string' && user.username !== '') {
    return `user:${user.username}`;
  }
  return 'admin:anonymous';
}

/** Where the request came from, for the failed-authentication limit. */
function clientOf(req: ApiRequest): string {
  return req.socket?.remoteAddress ?? 'unknown';
}

/** The mount's URL as the client used it (for the OpenAPI document's server entry). */
function serverUrl(req: ApiRequest): string {
  const full = (req.originalUrl ?? req.url ?? '').split('?')[0];
  const at = full.lastIndexOf('/openapi.json');
  return at > 0 ? full.slice(0, at) : full;
}

/** Registers a deployed config node; the returned function unregisters it (and stops its import jobs). */
export function registerApiConfig(entry: LiveConfig, warn: (message: string) => void): () => void {
  const path = entry.api.publicPath;
  if (path !== null) {
    for (const other of liveConfigs.values()) {
      if (other.id !== entry.id && other.api.publicPath === path) {
        warn(
          `the DNC API path ${path} is already used by configuration "${other.name || other.id}": not mounted twice`,
        );
      }
    }
  }
  liveConfigs.set(entry.id, entry);
  return () => {
    if (liveConfigs.get(entry.id) === entry) liveConfigs.delete(entry.id);
    const context = contexts.get(entry.binding);
    contexts.delete(entry.binding);
    // Cancels import jobs now; the config node's drain waits for the running batch to land.
    if (context) void context.dispose();
  };
}

/** The public mount whose path is a prefix of `path`, with the rest of the path. */
function publicTarget(path: string): { entry: LiveConfig; rest: string } | null {
  let found: { entry: LiveConfig; rest: string } | null = null;
  for (const entry of liveConfigs.values()) {
    const base = entry.api.publicPath;
    if (base === null || entry.api.tokens.size === 0) continue;
    if (path !== base && !path.startsWith(`${base}/`)) continue;
    // The first registered wins a clash (registerApiConfig warned about it).
    if (found === null) found = { entry, rest: path.slice(base.length) || '/' };
  }
  return found;
}

export function mountDncApi(RED: NodeAPI): void {
  const log = (message: string) => RED.log.error(message);
  if (!swept) {
    swept = true;
    // Uploads an earlier process left behind (killed mid-import): up to 512 MiB each.
    void sweepStaleUploads().then((removed) => {
      if (removed.length > 0) RED.log.info(`DNC API: removed ${removed.length} stale import upload(s)`);
    });
  }
  const adminApi = createDncApi({ resolve: resolveAdmin, configParam: true, idempotency, serverUrl, log });
  const admin = (RED as unknown as { httpAdmin?: ExpressLike }).httpAdmin;
  if (admin && !mounted.has(admin)) {
    mounted.add(admin);
    let warnedOrigins = false;
    /** The origins allowed besides the editor's own (read per request: settings may be a getter). */
    const allowedOrigins = () => {
      const parsed = allowedOriginsOf(
        (RED.settings as { dncApiAllowedOrigins?: unknown }).dncApiAllowedOrigins,
      );
      if (parsed.invalid.length > 0 && !warnedOrigins) {
        warnedOrigins = true;
        RED.log.warn(
          `DNC API: dncApiAllowedOrigins: ignored ${parsed.invalid.map((o) => JSON.stringify(o)).join(', ')} (write origins as https://host[:port], or *)`,
        );
      }
      return parsed.origins;
    };
    /** Node-RED's own permission check for the route, then `then` (Node-RED answers 401/403 itself). */
    const authorize = (req: ApiRequest, res: ApiResponse, then: () => void) => {
      const access = adminApi.accessFor(req);
      const check = RED.auth.needsPermission(
        access === 'write' ? 'dnc.write' : 'dnc.read',
      ) as unknown as Middleware;
      check(req, res, then);
    };
    const guard: Middleware = (req, res, next) => {
      if (!adminApi.owns(req)) {
        next();
        return;
      }
      // Without adminAuth nothing else stops another web site open in an operator's browser: Node-RED's
      // admin app answers every CORS preflight with `Access-Control-Allow-Origin: *`.
      if (!originAllowed(req, allowedOrigins())) {
        adminApi.fail(res, foreignOrigin());
        return;
      }
      authorize(req, res, () => {
        const principal = adminPrincipal(req);
        adminApi.handle(req, res, next, { id: principal, access: adminApi.accessFor(req), principal });
      });
    };
    // Body-parser errors (bad JSON, `null`, too large, bad charset or gzip) as JSON, after the same origin
    // and permission checks as any request (an anonymous caller learns nothing from the body's fate).
    // Paths that are not ours keep Node-RED's own answer. Four parameters: express recognises an error
    // handler by its arity.
    const errors: ErrorMiddleware = (err, req, res, next) => {
      if (!adminApi.owns(req)) {
        next(err);
        return;
      }
      if (!originAllowed(req, allowedOrigins())) {
        adminApi.fail(res, foreignOrigin());
        return;
      }
      authorize(req, res, () => adminApi.fail(res, err));
    };
    admin.use('/dnc', guard, errors);
    // In Node-RED, RED.httpAdmin is the runtime's app mounted on the editor API's app, and that parent
    // runs body-parser before it: a parser error skips every non-error handler, mounted apps included,
    // and would end in express's HTML error page (stack trace, absolute paths). Catch it on the parent.
    const parent = admin.parent;
    if (parent && !mounted.has(parent)) {
      mounted.add(parent);
      parent.use('/dnc', errors);
    }
  }

  const flows = (RED as unknown as { httpNode?: ExpressLike }).httpNode;
  if (flows && !mounted.has(flows)) {
    mounted.add(flows);
    const publicApi = createDncApi({
      resolve: () => {
        throw new ApiError(500, 'DNC_INTERNAL', 'no configuration');
      },
      configParam: false,
      // Bearer tokens are not administrators: no store paths or configuration errors in their answers.
      exposeDetails: false,
      idempotency,
      serverUrl,
      log,
    });
    /**
     * Serves a request whose URL (`url`, relative to httpNodeRoot) is under a public mount: token,
     * rate limit, then the route, or, when a body parser already failed (`parseError`), that failure as
     * JSON. Returns false when the path is no public mount's.
     */
    const servePublic = (
      req: ApiRequest,
      res: ApiResponse,
      next: Next,
      url: string,
      parseError?: { readonly err: unknown },
    ): boolean => {
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const target = publicTarget(path);
      if (target === null) return false;
      const { entry, rest } = target;
      const tokens: TokenSet = entry.api.tokens;
      const presented = bearerToken(req.headers.authorization);
      const match = presented === null ? null : tokens.match(presented);
      if (match === null) {
        const wait = authFailures.take(clientOf(req));
        publicApi.fail(
          res,
          wait > 0
            ? new ApiError(
                429,
                'DNC_RATE_LIMITED',
                'too many failed authentications: wait and retry',
                undefined,
                {
                  'Retry-After': String(wait),
                },
              )
            : new ApiError(
                401,
                'DNC_UNAUTHORIZED',
                presented === null
                  ? 'send an API token: Authorization: Bearer <token>'
                  : 'the API token is not valid for this configuration',
                undefined,
                {
                  'WWW-Authenticate': `Bearer realm="dnc"${presented === null ? '' : ', error="invalid_token"'}`,
                },
              ),
        );
        return true;
      }
      let limiter = limiters.get(entry.api);
      if (limiter === undefined) {
        limiter = new RateLimiter(entry.api.rateLimit);
        limiters.set(entry.api, limiter);
      }
      const wait = limiter.take(match.id);
      if (wait > 0) {
        publicApi.fail(
          res,
          new ApiError(
            429,
            'DNC_RATE_LIMITED',
            `rate limit of ${entry.api.rateLimit} requests a minute reached`,
            undefined,
            {
              'Retry-After': String(wait),
            },
          ),
        );
        return true;
      }
      if (parseError !== undefined) {
        publicApi.fail(res, parseError.err);
        return true;
      }
      // The API routes relative to the mount; originalUrl keeps the full URL (express sets it).
      req.originalUrl ??= url;
      req.url = rest + (q === -1 ? '' : url.slice(q));
      // The token's id (a fingerprint of its hash), never the token: the audit trail is read by read tokens.
      publicApi.handle(req, res, next, { id: match.id, access: match.access, principal: match.id }, () =>
        contextOf(entry),
      );
      return true;
    };
    const handler: Middleware = (req, res, next) => {
      if (!servePublic(req, res, next, req.url ?? '/')) next();
    };
    // With httpAdminRoot and httpNodeRoot on the same path (both `/` by default) every request passes
    // the editor API's app first, whose body-parser also reads public-mount bodies: its errors skip the
    // flows app and would end in express's HTML error page. Answer them here, after the token check.
    const parent = (RED as unknown as { httpAdmin?: ExpressLike }).httpAdmin?.parent;
    const nodeRoot = (RED.settings as { httpNodeRoot?: unknown }).httpNodeRoot;
    if (parent && !mountedPublicErrors.has(parent) && nodeRoot !== false) {
      mountedPublicErrors.add(parent);
      const root = (typeof nodeRoot === 'string' ? nodeRoot : '/').replace(/\/+$/, '');
      const publicErrors: ErrorMiddleware = (err, req, res, next) => {
        const full = req.originalUrl ?? req.url ?? '/';
        const inRoot =
          root === '' || full === root || full.startsWith(`${root}/`) || full.startsWith(`${root}?`);
        if (!inRoot || !servePublic(req, res, next, full.slice(root.length) || '/', { err })) next(err);
      };
      parent.use(publicErrors);
    }
    flows.use(handler);
  }
}
