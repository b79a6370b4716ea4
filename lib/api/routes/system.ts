/**
 * System routes: health (store, registries, imports) and the OpenAPI document.
 */
import { isoTime } from '../../time';
import { publicMessage } from '../errors';
import { openApiDocument } from '../openapi';
import { ref, json, ERRORS, type DocKit, type Json } from '../openapi-parts';
import { ok, route, type Route, type RouteKit } from '../route';

/** The store's kind, and for PostgreSQL its lag (PostgresStore.status() adds `lag`). */
function storeKind(status: object): { type: 'embedded' } | { type: 'postgres'; lagMs: number | null } {
  const lag = (status as { lag?: unknown }).lag;
  if (lag === undefined) return { type: 'embedded' };
  return { type: 'postgres', lagMs: typeof lag === 'number' ? Math.round(lag) : null };
}

export function systemRoutes(kit: RouteKit): Route[] {
  const { options, withConfig, exposeDetails } = kit;

  return [
    route('GET', '/openapi.json', 'read', withConfig([]), (r) =>
      ok(openApiDocument(options.serverUrl ? options.serverUrl(r.req) : '/dnc', options.configParam)),
    ),
    route('GET', '/health', 'read', withConfig([]), async (r) => {
      const ctx = r.ctx();
      const service = ctx.service;
      const status = service.storeStatus();
      if (status.state === 'ready' && ctx.lastChangeAt === null && status.seq > 0) {
        // Once per configuration: the time of the last record (scans the journal).
        const last = await service.audit({ limit: 1 }).catch(() => []);
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
            // A store shared through PostgreSQL: how long ago this instance's view was confirmed current.
            ...storeKind(status),
            lastChangeAt: ctx.lastChangeAt === null ? null : isoTime(ctx.lastChangeAt),
            lastChangeAgeSeconds: ageSeconds(ctx.lastChangeAt),
            watchedSince: isoTime(ctx.since),
            watchedForSeconds: ageSeconds(ctx.since),
          },
          registries: ctx.registries ? ctx.registries() : [],
          // This instance's jobs: health answers from memory, never waits on the database.
          imports: ctx.imports.counts(),
          checkedAt: isoTime(now),
        },
        ready ? 200 : 503,
      );
    }),
  ];
}

/** The OpenAPI operations of these routes (openapi.ts assembles the document). */
export function systemPaths(doc: DocKit): Json {
  const { op } = doc;

  return {
    '/openapi.json': {
      get: op('getOpenApi', 'system', 'This document', 'The OpenAPI 3.1 description of the API.', {
        '200': json({ type: 'object' }),
        ...ERRORS,
      }),
    },
    '/health': {
      get: op(
        'getHealth',
        'system',
        'Store and registry health',
        'The store state, its size and the age of the last change. 503 while the store cannot answer.',
        { '200': json(ref('Health')), ...ERRORS, '503': json(ref('Health'), 'The store is unavailable') },
      ),
    },
  };
}
