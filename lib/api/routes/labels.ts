/**
 * Label routes: the definitions, and adding or removing labels (idempotent writes).
 */
import { changeView } from '../../contact-view';
import type { CompiledLabel } from '../../labels';
import type { LabelChangeRequest } from '../../service';
import { assertContactShape } from '../../values';
import { invalid } from '../errors';
import { assertKnownFields, readJsonObject } from '../http';
import { fingerprintOf, type StoredResponse } from '../idempotency';
import { RULES } from '../../values';
import { ref, json, ERRORS, WRITE_ERRORS, idempotencyKey, type DocKit, type Json } from '../openapi-parts';
import {
  ok,
  principalOf,
  refuseClaimedPrincipal,
  route,
  type Route,
  type RouteKit,
  type RouteRequest,
} from '../route';

const CHANGE_FIELDS = ['contact', 'labels', 'source', 'actor', 'reason', 'campaign', 'channel'];
const REMOVE_FIELDS = ['contact', 'labels', 'all', 'source', 'actor', 'reason'];

/** A label's definition as the API shows it (OpenAPI `LabelDefinition`). */
export function labelDefinitionView(l: CompiledLabel): Record<string, unknown> {
  return {
    name: l.name,
    description: l.description,
    channels: l.channels,
    global: l.global,
    expiresAfterDays: l.expiresAfterDays,
  };
}

export function labelRoutes(kit: RouteKit): Route[] {
  const { limits, withConfig, idempotent } = kit;

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
      // 202: accepted and durable (spooled locally) while PostgreSQL is unreachable; committed later.
      return ok(changeView(kind, outcome), outcome.queued === true ? 202 : 200);
    };
    if (r.idem === null) return apply();
    return idempotent(r.idem, fingerprintOf(JSON.stringify(body)), apply);
  }

  return [
    route('GET', '/labels', 'read', withConfig([]), (r) => {
      const catalog = r.ctx().service.catalog;
      return ok({ labels: catalog.names.map((name) => labelDefinitionView(catalog.find(name)!)) });
    }),
    route('POST', '/labels/add', 'write', withConfig([]), (r) => change('add', r), true),
    route('POST', '/labels/remove', 'write', withConfig([]), (r) => change('remove', r), true),
  ];
}

/** The OpenAPI operations of these routes (openapi.ts assembles the document). */
export function labelPaths(doc: DocKit): Json {
  const { op } = doc;
  const allTrue = { required: ['all'], properties: { all: { const: true } } };
  const changeBody = (remove: boolean): Json => ({
    required: true,
    content: {
      'application/json': {
        schema: {
          type: 'object',
          additionalProperties: false,
          required: remove ? ['contact'] : ['contact', 'labels'],
          ...(remove
            ? {
                description: 'Name the labels to remove, or give `all: true` (not both).',
                oneOf: [
                  { required: ['labels'], properties: { labels: ref('LabelNames') }, not: allTrue },
                  { ...allTrue, not: { required: ['labels'], properties: { labels: ref('LabelNames') } } },
                ],
              }
            : {}),
          properties: {
            contact: ref('Contact'),
            labels: RULES.someLabels,
            ...(remove
              ? { all: { type: 'boolean', description: 'Remove every label the contact carries.' } }
              : {}),
            source: { ...RULES.source, default: 'api' },
            actor: RULES.actor,
            reason: RULES.reason,
            ...(remove ? {} : { campaign: RULES.campaign, channel: RULES.channel }),
          },
        },
      },
    },
  });
  return {
    '/labels': {
      get: op('listLabels', 'labels', 'Label definitions', 'The labels this configuration defines.', {
        '200': json({
          type: 'object',
          required: ['labels'],
          properties: { labels: { type: 'array', items: ref('LabelDefinition') } },
        }),
        ...ERRORS,
      }),
    },
    '/labels/add': {
      post: op(
        'addLabels',
        'labels',
        'Add labels to a contact',
        'Applies labels (idempotent: labels already carried are reported in alreadyPresent). Answers once the change is durable: 200 once committed, 202 (`queued: true`) when the PostgreSQL store cannot reach its database and the change waits in the durable local spool.',
        { '200': json(ref('ChangeOutcome')), '202': json(ref('ChangeOutcome')), ...WRITE_ERRORS },
        { parameters: [idempotencyKey], requestBody: changeBody(false) },
      ),
    },
    '/labels/remove': {
      post: op(
        'removeLabels',
        'labels',
        'Remove labels from a contact',
        'Removes the named labels, or every label with `all: true`. Answers once the change is durable (200), or spooled while the database is unreachable (202, `queued: true`).',
        { '200': json(ref('ChangeOutcome')), '202': json(ref('ChangeOutcome')), ...WRITE_ERRORS },
        { parameters: [idempotencyKey], requestBody: changeBody(true) },
      ),
    },
  };
}
