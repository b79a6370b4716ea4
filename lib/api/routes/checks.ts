/**
 * Check routes: the decision for one contact (GET or POST) or a list (POST).
 */
import type { CheckOptions } from '../../decision';
import { parseInstant } from '../../time';
import { RULES, assertContactShape, assertValue } from '../../values';
import { invalid } from '../errors';
import { assertKnownFields, readJsonObject } from '../http';
import { ref, json, ERRORS, type DocKit, type Json } from '../openapi-parts';
import { ok, route, waitForStore, type Route, type RouteKit } from '../route';

/**
 * Check options beyond labels, channel and at that the check route passes on to DncService.check as
 * given (after the JSON safety checks). Registries and calling-hour policy add theirs here.
 */
export const EXTRA_CHECK_FIELDS: readonly string[] = ['policy', 'policies', 'campaign'];

export function checkRoutes(kit: RouteKit): Route[] {
  const { limits, withConfig } = kit;

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
  return [
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
  ];
}

/** The OpenAPI operations of these routes (openapi.ts assembles the document). */
export function checkPaths(doc: DocKit): Json {
  const { op } = doc;

  return {
    '/check': {
      get: op(
        'checkContactByQuery',
        'contacts',
        'Check one contact',
        'The same decision as the Check DNC node.',
        { '200': json(ref('Decision')), ...ERRORS },
        {
          parameters: [
            { name: 'contact', in: 'query', required: true, schema: RULES.contactText },
            { name: 'channel', in: 'query', schema: { ...RULES.channel, type: 'string', minLength: 1 } },
            {
              name: 'labels',
              in: 'query',
              description: 'Comma-separated label names.',
              schema: { ...RULES.labels.oneOf[0], minLength: 1 },
            },
          ],
        },
      ),
      post: op(
        'checkContacts',
        'contacts',
        'Check a contact or a list',
        'One `contact` gives a Decision; `contacts` (at most 10,000) gives a BatchDecision.',
        {
          '200': json({ oneOf: [ref('Decision'), ref('BatchDecision')] }),
          ...ERRORS,
          '413': { $ref: '#/components/responses/TooLarge' },
          '415': { $ref: '#/components/responses/UnsupportedMediaType' },
        },
        {
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  description: 'Give `contact` or `contacts`, not both.',
                  oneOf: [
                    { required: ['contact'], properties: { contact: ref('Contact') } },
                    { required: ['contacts'], properties: { contacts: { type: 'array' } } },
                  ],
                  properties: {
                    contact: ref('Contact'),
                    contacts: {
                      type: 'array',
                      maxItems: 10000,
                      items: {
                        description:
                          'A contact (see Contact). An item that is not one is not refused: it is blocked with INVALID_CONTACT.',
                      },
                    },
                    channel: RULES.channel,
                    labels: ref('LabelNames'),
                    at: {
                      ...RULES.instant,
                      description:
                        'The instant to decide for ("may I call this list at 14:00 tomorrow?"): from 2000-01-01 to a year from now; default now.',
                    },
                    policy: {
                      description:
                        'A calling-hours policy: a preset name or a definition (see the Check DNC node); null: none.',
                      oneOf: [{ type: 'string' }, { type: 'object' }, { type: 'null' }],
                    },
                    policies: {
                      description:
                        'More calling-hours policies (preset names or definitions): the contact is allowed only when every one, and `policy`, allows; nextAllowedAt is the first instant all of them allow. null: none.',
                      oneOf: [
                        {
                          type: 'array',
                          maxItems: 20,
                          items: { oneOf: [{ type: 'string', minLength: 1 }, { type: 'object' }] },
                        },
                        { type: 'null' },
                      ],
                    },
                    campaign: { ...RULES.campaign, description: 'The campaign, for frequency caps.' },
                  },
                },
              },
            },
          },
        },
      ),
    },
  };
}
