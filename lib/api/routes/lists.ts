/**
 * List routes: each label as a list (how many contacts carry it), and the contacts on one list, paged and
 * filtered. What the editor's DNC sidebar shows under "Lists" (lib/label-lists.ts walks the store).
 */
import { countByLabel, contactsWithLabel, listFilterOf, type LabelCount } from '../../label-lists';
import { isoTime } from '../../time';
import type { DncService } from '../../service';
import { ApiError } from '../errors';
import { labelDefinitionView } from './labels';
import { ref, json, ERRORS, flag, type DocKit, type Json } from '../openapi-parts';
import { ok, route, type Route, type RouteKit } from '../route';

/** Counts are reused while the store has not changed, for at most this long (expiries pass with time). */
const COUNTS_FRESH_MS = 10_000;

interface CachedCounts {
  readonly seq: number;
  readonly at: number;
  readonly counts: Promise<Map<string, LabelCount>>;
}

const cached = new WeakMap<DncService, CachedCounts>();

function countsOf(
  service: DncService,
  now: number,
): { counts: Promise<Map<string, LabelCount>>; at: number } {
  const seq = service.storeStatus().seq;
  const hit = cached.get(service);
  if (hit !== undefined && hit.seq === seq && now - hit.at < COUNTS_FRESH_MS) return hit;
  const store = service.store;
  const counts = countByLabel(() => store.contacts(), service.catalog.names, now);
  const entry = { seq, at: now, counts };
  cached.set(service, entry);
  // A failed walk is not kept.
  counts.catch(() => {
    if (cached.get(service) === entry) cached.delete(service);
  });
  return entry;
}

export function listRoutes(kit: RouteKit): Route[] {
  const { withConfig } = kit;
  return [
    route('GET', '/lists', 'read', withConfig([]), async (r) => {
      const service = r.ctx().service;
      await service.whenReady();
      const { counts, at } = countsOf(service, Date.now());
      const byLabel = await counts;
      const catalog = service.catalog;
      return ok({
        lists: catalog.names.map((name) => {
          const count = byLabel.get(name) ?? { active: 0, expired: 0 };
          return {
            ...labelDefinitionView(catalog.find(name)!),
            active: count.active,
            expired: count.expired,
          };
        }),
        contacts: service.storeStatus().contacts,
        seq: service.storeStatus().seq,
        countedAt: isoTime(at),
      });
    }),
    route(
      'GET',
      '/lists/{label}/contacts',
      'read',
      withConfig(['offset', 'limit', 'q', 'includeExpired']),
      async (r) => {
        const service = r.ctx().service;
        const label = r.params.label;
        if (service.catalog.find(label) === undefined) {
          throw new ApiError(404, 'DNC_NOT_FOUND', `no label "${label.slice(0, 64)}" is defined`, 'label');
        }
        const offset = r.query.integer('offset', 0, 10_000_000, 0);
        const limit = r.query.integer('limit', 1, 500, 50);
        const q = r.query.text('q');
        if (q !== undefined && q.length > 320) {
          throw new ApiError(400, 'DNC_INVALID_INPUT', 'q is longer than 320 characters', 'q');
        }
        const includeExpired =
          r.query.text('includeExpired') === undefined ? false : r.query.flag('includeExpired');
        await service.whenReady();
        const store = service.store;
        const page = await contactsWithLabel(() => store.contacts(), label, {
          offset,
          limit,
          filter: listFilterOf(q),
          includeExpired,
          now: Date.now(),
        });
        return ok(page);
      },
    ),
  ];
}

/** The OpenAPI operations of these routes (openapi.ts assembles the document). */
export function listPaths(doc: DocKit): Json {
  const { op } = doc;
  return {
    '/lists': {
      get: op(
        'listLists',
        'lists',
        'Labels as lists',
        'Each label with the number of contacts carrying it now (active) and past its expiry (expired). Counted from memory; reused for up to 10 s while the store is unchanged.',
        {
          '200': json({
            type: 'object',
            required: ['lists', 'contacts', 'seq', 'countedAt'],
            properties: {
              lists: { type: 'array', items: ref('LabelList') },
              contacts: { type: 'integer', minimum: 0 },
              seq: { type: 'integer', minimum: 0 },
              countedAt: { type: 'string', format: 'date-time' },
            },
          }),
          ...ERRORS,
        },
      ),
    },
    '/lists/{label}/contacts': {
      get: op(
        'listContacts',
        'lists',
        'Contacts on a list',
        'The contacts carrying a label, paged (`offset`, `limit`) and filtered (`q`: part of any identifier, spaces, brackets, dots and dashes ignored). `total` counts every match.',
        {
          '200': json(ref('ListPage')),
          ...ERRORS,
          '404': { $ref: '#/components/responses/NotFound' },
        },
        {
          parameters: [
            {
              name: 'label',
              in: 'path',
              required: true,
              schema: { type: 'string', minLength: 1, maxLength: 64 },
            },
            {
              name: 'offset',
              in: 'query',
              schema: { type: 'integer', minimum: 0, maximum: 10000000, default: 0 },
            },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            },
            { name: 'q', in: 'query', schema: { type: 'string', minLength: 1, maxLength: 320 } },
            { name: 'includeExpired', in: 'query', schema: flag(false) },
          ],
        },
      ),
    },
  };
}
