/**
 * Contact routes: one contact with its labels and history; attempts and outcomes (frequency caps, cooling-off).
 */
import { contactDetail, contactKeys } from '../../contact-view';
import { isoTime, parseInstant } from '../../time';
import { RULES, assertContactShape, assertValue } from '../../values';
import { ApiError, invalid } from '../errors';
import { assertKnownFields, readJsonObject } from '../http';
import { fingerprintOf, type StoredResponse } from '../idempotency';
import {
  ref,
  json,
  ERRORS,
  WRITE_ERRORS,
  flag,
  idempotencyKey,
  type DocKit,
  type Json,
} from '../openapi-parts';
import {
  ok,
  principalOf,
  refuseClaimedPrincipal,
  route,
  type Route,
  type RouteKit,
  type RouteRequest,
} from '../route';

const ATTEMPT_FIELDS = ['contact', 'at', 'channel', 'campaign', 'outcome', 'source'];

export function contactRoutes(kit: RouteKit): Route[] {
  const { limits, withConfig, idempotent } = kit;

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

  return [
    route('GET', '/contacts/{contact}', 'read', withConfig(['history', 'limit']), async (r) => {
      const ctx = r.ctx();
      const service = ctx.service;
      const contact = service.parser.parse(r.params.contact);
      const history = r.query.text('history') === undefined ? true : r.query.flag('history');
      const limit = r.query.integer('limit', 1, 1000, 50);
      await service.whenReady();
      const now = Date.now();
      const profiles = service.profiles(contact.keys);
      const keys = contactKeys(profiles, contact.keys);
      const records = history ? await service.audit({ keys, limit }) : undefined;
      return ok(contactDetail(keys, profiles, now, records));
    }),
    route('POST', '/attempts', 'write', withConfig([]), (r) => attempt('attempt', r), true),
    route('POST', '/outcomes', 'write', withConfig([]), (r) => attempt('outcome', r), true),
  ];
}

/** The OpenAPI operations of these routes (openapi.ts assembles the document). */
export function contactPaths(doc: DocKit): Json {
  const { op } = doc;
  const attemptBody = (outcomeRequired: boolean): Json => ({
    required: true,
    content: {
      'application/json': {
        schema: {
          type: 'object',
          additionalProperties: false,
          required: outcomeRequired ? ['contact', 'outcome'] : ['contact'],
          properties: {
            contact: ref('Contact'),
            at: {
              ...RULES.instant,
              description:
                'When it happened (default now). At most 5 minutes ahead of the server clock: a later time is refused (400).',
            },
            channel: RULES.channel,
            campaign: RULES.campaign,
            outcome: outcomeRequired ? RULES.outcome : { ...RULES.outcome, type: ['string', 'null'] },
            source: { ...RULES.source, default: 'api' },
          },
        },
      },
    },
  });
  return {
    '/attempts': {
      post: op(
        'recordAttempt',
        'contacts',
        'Record a contact attempt',
        'Records an attempt (with its outcome when known) for frequency caps and cooling-off periods.',
        {
          '200': json(ref('Attempt')),
          ...WRITE_ERRORS,
          '404': { $ref: '#/components/responses/NotFound' },
        },
        { parameters: [idempotencyKey], requestBody: attemptBody(false) },
      ),
    },
    '/outcomes': {
      post: op(
        'recordOutcome',
        'contacts',
        'Record an outcome',
        'Records an outcome on its own (conversation, refusal, optout...), e.g. from a dialler call result.',
        {
          '200': json(ref('Attempt')),
          ...WRITE_ERRORS,
          '404': { $ref: '#/components/responses/NotFound' },
        },
        { parameters: [idempotencyKey], requestBody: attemptBody(true) },
      ),
    },
    '/contacts/{contact}': {
      get: op(
        'getContact',
        'contacts',
        'One contact',
        'A contact by any identifier (E.164 number, email, id:...), with its active labels and its history.',
        {
          '200': json(ref('ContactDetail')),
          ...ERRORS,
        },
        {
          parameters: [
            {
              name: 'contact',
              in: 'path',
              required: true,
              description: 'Phone number (URL-encode the +), email address or id:<external id>.',
              schema: { type: 'string', minLength: 1, maxLength: 320 },
            },
            { name: 'history', in: 'query', schema: flag(true) },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
            },
          ],
        },
      ),
    },
  };
}
