/**
 * Audit routes: the hash-chained trail (by contact, label, source, time) and its verification.
 */
import type { AuditQuery } from '../../store/types';
import { RULES, assertValue } from '../../values';
import { ref, json, ERRORS, flag, queryText, type DocKit, type Json } from '../openapi-parts';
import { ok, route, type Route, type RouteKit } from '../route';

export function auditRoutes(kit: RouteKit): Route[] {
  const { withConfig } = kit;

  return [
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
          const profiles = service.profiles(parsed.keys);
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
        const records = await service.audit(query);
        return ok({
          records,
          count: records.length,
          ...(verify ? { verification: await service.verify() } : {}),
        });
      },
    ),
    route('GET', '/audit/verify', 'read', withConfig([]), async (r) => {
      const service = r.ctx().service;
      await service.whenReady();
      return ok(await service.verify());
    }),
  ];
}

/** The OpenAPI operations of these routes (openapi.ts assembles the document). */
export function auditPaths(doc: DocKit): Json {
  const { op } = doc;

  return {
    '/audit': {
      get: op(
        'listAudit',
        'audit',
        'Audit trail',
        'Audit records, oldest first (the newest `limit`), with optional chain verification.',
        {
          '200': json({
            type: 'object',
            required: ['records', 'count'],
            properties: {
              records: { type: 'array', items: ref('AuditRecord') },
              count: { type: 'integer' },
              verification: ref('Verification'),
            },
          }),
          ...ERRORS,
        },
        {
          parameters: [
            { name: 'contact', in: 'query', schema: RULES.contactText },
            { name: 'label', in: 'query', schema: RULES.labelName },
            { name: 'source', in: 'query', schema: queryText() },
            { name: 'since', in: 'query', schema: RULES.instant },
            { name: 'until', in: 'query', schema: RULES.instant },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
            },
            { name: 'verify', in: 'query', schema: flag(false) },
          ],
        },
      ),
    },
    '/audit/verify': {
      get: op(
        'verifyAudit',
        'audit',
        'Verify the chain',
        'Checks the records written since the last check; walks the whole chain again (off the request path) at most once a minute.',
        {
          '200': json(ref('Verification')),
          ...ERRORS,
        },
      ),
    },
  };
}
