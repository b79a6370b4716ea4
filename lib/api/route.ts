/**
 * What a route module is made of: the request a handler gets, the route table entry, and the kit the
 * router core hands every module (limits, idempotency, how much a caller may see). Route modules
 * (lib/api/routes/) export their routes and, beside them, their OpenAPI operations.
 */
import type { ImportJobView } from './imports';
import type { Access } from './auth';
import { invalid } from './errors';
import type { Query, ApiRequest, ApiResponse } from './http';
import type { IdempotencyStore, StoredResponse } from './idempotency';
import type { ApiContext, ApiLimits, DncApiOptions } from './router';

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
export function refuseClaimedPrincipal(body: Record<string, unknown>): void {
  if (Object.prototype.hasOwnProperty.call(body, 'principal')) {
    throw invalid(
      'principal is not a request field: the server records who is authenticated (use actor for the person you act for)',
      'principal',
    );
  }
}

export interface RouteRequest {
  readonly req: ApiRequest;
  readonly res: ApiResponse;
  readonly query: Query;
  readonly params: Record<string, string>;
  readonly caller: ApiCaller;
  readonly ctx: () => ApiContext;
  /**
   * The Idempotency-Key of a write, scoped to caller, configuration and route, and where the
   * configuration keeps its keys (undefined: the mount's memory).
   */
  readonly idem: { readonly scope: string; readonly key: string; readonly store?: IdempotencyStore } | null;
}

export type Handler = (r: RouteRequest) => Promise<StoredResponse | 'streamed'> | StoredResponse;

export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly access: Access;
  readonly query: readonly string[];
  readonly handler: Handler;
  /** Idempotency-Key honoured (writes). */
  readonly idempotent?: boolean;
}

export function route(
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

export const ok = (body: unknown, status = 200, headers?: Record<string, string>): StoredResponse => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

/** What the router core gives every route module. */
export interface RouteKit {
  readonly options: DncApiOptions;
  readonly limits: ApiLimits;
  /** The query parameters of a route, with `config` on a mount that takes it. */
  readonly withConfig: (names: readonly string[]) => readonly string[];
  /** Runs `work` once per Idempotency-Key; failures (4xx) are answers too, and are replayed like successes. */
  readonly idempotent: (
    idem: { scope: string; key: string; store?: IdempotencyStore },
    fingerprint: string,
    work: () => Promise<StoredResponse>,
    onReplay?: () => void,
  ) => Promise<StoredResponse>;
  /** An import job as this mount's callers may see it. */
  readonly viewOf: (job: ImportJobView) => ImportJobView;
  /** Whether callers may see server-side details (see DncApiOptions.exposeDetails). */
  readonly exposeDetails: boolean;
}

/** A check on a store still opening waits for it; an unavailable store is a 503, not a blocked decision. */
export async function waitForStore(ctx: ApiContext): Promise<void> {
  await ctx.service.whenReady();
}
