/**
 * The OpenAPI 3.1 description of the DNC API, served at `<mount>/openapi.json` and linted in the tests
 * with @redocly/cli. Kept beside router.ts: a test checks that every route is documented, and the
 * conformance test (test/api-conformance.test.ts) sends requests generated from it and checks the answers.
 * The schemas of request values are the rules the validators use (lib/values.ts RULES), embedded as they
 * are, so the document and the server agree on what is accepted.
 */
import { RULES } from '../values';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});
const json = (schema: Json, description = 'OK'): Json => ({
  description,
  content: { 'application/json': { schema } },
});

const ERRORS = {
  '400': { $ref: '#/components/responses/BadRequest' },
  '401': { $ref: '#/components/responses/Unauthorized' },
  '429': { $ref: '#/components/responses/TooManyRequests' },
  '503': { $ref: '#/components/responses/Unavailable' },
};
const WRITE_ERRORS = {
  ...ERRORS,
  '403': { $ref: '#/components/responses/Forbidden' },
  '409': { $ref: '#/components/responses/Conflict' },
  '413': { $ref: '#/components/responses/TooLarge' },
  '415': { $ref: '#/components/responses/UnsupportedMediaType' },
};

const nullableText = { type: ['string', 'null'] };
/** A time the API answers with (always UTC, `Z`). */
const isoTime = { type: 'string', format: 'date-time' };
/** A query flag: true/false (1/0 are accepted too). */
const flag = (fallback: boolean): Json => ({
  type: ['boolean', 'integer'],
  minimum: 0,
  maximum: 1,
  default: fallback,
});
/** A query parameter's text: an empty value (`?label=`) is refused, so every one has at least one character. */
const queryText = (maxLength?: number): Json => ({
  type: 'string',
  minLength: 1,
  ...(maxLength === undefined ? {} : { maxLength }),
});

export function openApiDocument(serverUrl: string, configParam: boolean): Json {
  const configParameter = configParam ? [{ $ref: '#/components/parameters/Config' }] : [];
  const op = (
    operationId: string,
    tag: string,
    summary: string,
    description: string,
    responses: Json,
    extra: Json = {},
  ): Json => ({
    operationId,
    tags: [tag],
    summary,
    description,
    ...extra,
    parameters: [...configParameter, ...((extra.parameters as unknown[]) ?? [])],
    // With ?config=, a configuration that is not deployed is a 404 on every route.
    responses: configParam ? { '404': { $ref: '#/components/responses/NotFound' }, ...responses } : responses,
  });
  const idempotencyKey = { $ref: '#/components/parameters/IdempotencyKey' };
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
    openapi: '3.1.0',
    info: {
      title: 'DNC Flow API',
      version: '1.0.0',
      description:
        'Do-Not-Contact labels, checks, audit trail, bulk import and export of one DNC labels configuration ' +
        '(@dncflow/node-red-dnc). Errors are JSON `{ code, message, field? }`. Writes accept an `Idempotency-Key`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: serverUrl, description: 'this Node-RED instance' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'labels', description: 'Label definitions and label changes' },
      { name: 'contacts', description: 'Contacts and checks' },
      { name: 'audit', description: 'The hash-chained audit trail' },
      { name: 'bulk', description: 'Import and export' },
      { name: 'system', description: 'Health and this document' },
    ],
    paths: {
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
          'Applies labels (idempotent: labels already carried are reported in alreadyPresent). Answers once the change is durable.',
          { '200': json(ref('ChangeOutcome')), ...WRITE_ERRORS },
          { parameters: [idempotencyKey], requestBody: changeBody(false) },
        ),
      },
      '/labels/remove': {
        post: op(
          'removeLabels',
          'labels',
          'Remove labels from a contact',
          'Removes the named labels, or every label with `all: true`. Answers once the change is durable.',
          { '200': json(ref('ChangeOutcome')), ...WRITE_ERRORS },
          { parameters: [idempotencyKey], requestBody: changeBody(true) },
        ),
      },
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
                      at: RULES.instant,
                      policy: {
                        description:
                          'A calling-hours policy: a preset name or a definition (see the Check DNC node).',
                        oneOf: [{ type: 'string' }, { type: 'object' }],
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
      '/imports': {
        get: op('listImports', 'bulk', 'Import jobs', 'The recent import jobs (kept in memory).', {
          '200': json({
            type: 'object',
            required: ['jobs'],
            properties: { jobs: { type: 'array', items: ref('ImportJob') } },
          }),
          ...ERRORS,
        }),
        post: op(
          'startImport',
          'bulk',
          'Import a file',
          "Uploads a CSV (header: contact or phone/whatsapp/email/id, labels, action, source, actor, reason, campaign, channel; the export's other columns are ignored, principal included) or JSON lines file and starts a background job; poll its Location. Rows are recorded under the principal import:<who submitted the job>.",
          {
            '202': {
              description: 'Accepted: the job is queued',
              headers: { Location: { description: 'The job', schema: { type: 'string' } } },
              content: { 'application/json': { schema: ref('ImportJob') } },
            },
            ...WRITE_ERRORS,
          },
          {
            parameters: [
              idempotencyKey,
              { name: 'format', in: 'query', schema: { type: 'string', enum: ['csv', 'jsonl'] } },
              { name: 'dryRun', in: 'query', schema: flag(false) },
            ],
            requestBody: {
              required: true,
              content: {
                'text/csv': { schema: { type: 'string' } },
                'application/x-ndjson': { schema: { type: 'string' } },
              },
            },
          },
        ),
      },
      '/imports/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 1 } }],
        get: op('getImport', 'bulk', 'One import job', 'Progress, counters and row errors.', {
          '200': json(ref('ImportJob')),
          ...ERRORS,
          '404': { $ref: '#/components/responses/NotFound' },
        }),
        delete: op('cancelImport', 'bulk', 'Cancel an import', 'Stops the job after the current batch.', {
          '200': json(ref('ImportJob')),
          ...ERRORS,
          '403': { $ref: '#/components/responses/Forbidden' },
          '404': { $ref: '#/components/responses/NotFound' },
        }),
      },
      '/export': {
        get: op(
          'exportContacts',
          'bulk',
          'Export contacts',
          'Streams every labelled contact: CSV (one row per label, formula-safe), JSON or JSON lines.',
          {
            '200': {
              description: 'The export',
              content: {
                'text/csv': { schema: { type: 'string' } },
                'application/json': { schema: { type: 'array', items: ref('ExportedContact') } },
                'application/x-ndjson': { schema: { type: 'string' } },
              },
            },
            ...ERRORS,
          },
          {
            parameters: [
              {
                name: 'format',
                in: 'query',
                schema: { type: 'string', enum: ['csv', 'json', 'jsonl'], default: 'csv' },
              },
              { name: 'label', in: 'query', schema: RULES.labelName },
              { name: 'includeExpired', in: 'query', schema: flag(false) },
            ],
          },
        ),
      },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Admin mount: a Node-RED admin token (permission dnc.read or dnc.write). Public mount: a read-only or read-write API token of the DNC labels configuration.',
        },
      },
      parameters: {
        ...(configParam
          ? {
              Config: {
                name: 'config',
                in: 'query',
                description: 'The DNC labels configuration (node id or name); needed when there are several.',
                schema: queryText(),
              },
            }
          : {}),
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          description: 'Same key and same body: the first response is replayed. Same key, other body: 409.',
          schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
        },
      },
      responses: {
        BadRequest: errorResponse('Invalid input, contact or label'),
        Unauthorized: errorResponse('No valid credentials'),
        Forbidden: errorResponse('The credentials do not allow writes'),
        NotFound: errorResponse('Not found (the import job, or the configuration named by ?config=)'),
        Conflict: errorResponse('Idempotency-Key reused with another request, or still running'),
        TooLarge: errorResponse('The body is too large'),
        UnsupportedMediaType: errorResponse('Wrong Content-Type'),
        TooManyRequests: errorResponse('Rate limit reached (see Retry-After)'),
        Unavailable: errorResponse('The store is not available'),
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', examples: ['DNC_UNKNOWN_LABEL'] },
            message: { type: 'string' },
            field: { type: 'string' },
          },
        },
        Contact: RULES.contact,
        LabelNames: RULES.labels,
        LabelDefinition: {
          type: 'object',
          required: ['name', 'channels', 'global'],
          properties: {
            name: { type: 'string' },
            description: { type: 'string' },
            channels: { type: 'array', items: { type: 'string' } },
            global: { type: 'boolean' },
            expiresAfterDays: { type: ['number', 'null'] },
          },
        },
        ActiveLabel: {
          type: 'object',
          required: ['label', 'appliedAt', 'expiresAt', 'source'],
          properties: {
            label: { type: 'string' },
            appliedAt: isoTime,
            expiresAt: { type: ['string', 'null'], format: 'date-time' },
            source: { type: 'string' },
            actor: nullableText,
            principal: {
              ...nullableText,
              description:
                'Who applied the label, as the server authenticated them (see AuditRecord.principal); null for labels applied by 0.1.0.',
            },
            reason: nullableText,
            campaign: nullableText,
            channel: nullableText,
            channels: { type: 'array', items: { type: 'string' } },
            global: { type: 'boolean' },
          },
        },
        Decision: {
          type: 'object',
          required: ['allowed', 'contact', 'keys', 'channel', 'labels', 'matched', 'reasons', 'checkedAt'],
          properties: {
            allowed: { type: 'boolean' },
            contact: nullableText,
            keys: { type: 'array', items: { type: 'string' } },
            channel: nullableText,
            labels: { type: 'array', items: ref('ActiveLabel') },
            matched: { type: 'array', items: { type: 'string' } },
            reasons: {
              type: 'array',
              items: {
                type: 'object',
                required: ['code', 'message'],
                properties: {
                  code: { type: 'string' },
                  message: { type: 'string' },
                  label: { type: 'string' },
                  expiresAt: { type: ['string', 'null'] },
                },
              },
            },
            checkedAt: isoTime,
          },
        },
        BatchDecision: {
          type: 'object',
          required: ['allowed', 'blocked', 'summary', 'checkedAt'],
          properties: {
            allowed: { type: 'array', items: {} },
            blocked: {
              type: 'array',
              items: {
                type: 'object',
                properties: { item: {}, decision: ref('Decision') },
              },
            },
            summary: {
              type: 'object',
              properties: {
                total: { type: 'integer' },
                allowed: { type: 'integer' },
                blocked: { type: 'integer' },
                reasons: { type: 'object', additionalProperties: { type: 'integer' } },
                labels: { type: 'object', additionalProperties: { type: 'integer' } },
              },
            },
            checkedAt: isoTime,
          },
        },
        AuditRecord: {
          type: 'object',
          required: ['seq', 'at', 'op', 'keys', 'labels', 'changed', 'source', 'prev', 'hash'],
          properties: {
            seq: { type: 'integer', minimum: 1 },
            at: isoTime,
            op: { type: 'string', enum: ['add', 'remove'] },
            keys: { type: 'array', items: { type: 'string' } },
            labels: { type: 'array', items: { type: 'string' } },
            changed: { type: 'array', items: { type: 'string' } },
            expiresAt: { type: 'array', items: { type: ['string', 'null'] } },
            source: { type: 'string', description: 'Where the change came from, as the client said.' },
            actor: { ...nullableText, description: 'Who the client says acted (its claim).' },
            principal: {
              type: 'string',
              description:
                'Who made the change, set by the server and never by the client, part of the hashed content: user:<name> or admin:anonymous (admin API), token:<id> (public API; the id, never the token), node:<id> (a flow), import:<principal> (an import job), system. Absent on records written by 0.1.0.',
              examples: ['user:alice', 'token:3f9a0c1b2d4e', 'node:a1b2c3d4e5f60718'],
            },
            reason: nullableText,
            campaign: nullableText,
            channel: nullableText,
            keyId: { type: 'string' },
            prev: { type: 'string' },
            hash: { type: 'string' },
          },
        },
        ChangeOutcome: {
          type: 'object',
          required: ['contact', 'keys', 'labels', 'changed', 'unchanged', 'seq', 'at', 'record'],
          properties: {
            contact: { type: 'string' },
            keys: { type: 'array', items: { type: 'string' } },
            labels: { type: 'array', items: { type: 'string' } },
            changed: { type: 'array', items: { type: 'string' } },
            unchanged: { type: 'array', items: { type: 'string' } },
            added: { type: 'array', items: { type: 'string' } },
            alreadyPresent: { type: 'array', items: { type: 'string' } },
            removed: { type: 'array', items: { type: 'string' } },
            notPresent: { type: 'array', items: { type: 'string' } },
            seq: { type: 'integer' },
            at: isoTime,
            source: { type: 'string' },
            actor: nullableText,
            principal: nullableText,
            reason: nullableText,
            record: ref('AuditRecord'),
          },
        },
        ContactDetail: {
          type: 'object',
          required: ['contact', 'keys', 'known', 'labels', 'expired'],
          properties: {
            contact: { type: 'string' },
            keys: { type: 'array', items: { type: 'string' } },
            known: { type: 'boolean' },
            labels: { type: 'array', items: ref('ActiveLabel') },
            expired: {
              type: 'array',
              items: {
                type: 'object',
                properties: { label: { type: 'string' }, expiredAt: isoTime },
              },
            },
            history: { type: 'array', items: ref('AuditRecord') },
          },
        },
        Attempt: {
          type: 'object',
          required: ['keys', 'at', 'attempt'],
          properties: {
            keys: { type: 'array', items: { type: 'string' } },
            at: isoTime,
            attempt: { type: 'boolean' },
            outcome: nullableText,
            channel: nullableText,
            campaign: nullableText,
            source: { type: 'string' },
            principal: { type: 'string', description: 'Who recorded it, set by the server.' },
          },
        },
        Verification: {
          type: 'object',
          required: ['ok', 'records'],
          properties: {
            ok: { type: 'boolean' },
            records: { type: 'integer' },
            badSeq: { type: 'integer' },
            problem: { type: 'string' },
            legacy: { type: 'integer', minimum: 1 },
            unverifiable: {
              type: 'object',
              required: ['from', 'to', 'keyId'],
              properties: {
                from: { type: 'integer' },
                to: { type: 'integer' },
                keyId: { type: 'string' },
              },
            },
          },
        },
        Health: {
          type: 'object',
          required: ['status', 'store', 'registries'],
          properties: {
            status: { type: 'string', enum: ['ok', 'unavailable'] },
            config: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
            store: {
              type: 'object',
              properties: {
                state: { type: 'string', enum: ['closed', 'opening', 'ready', 'unavailable'] },
                error: { type: 'string' },
                contacts: { type: 'integer' },
                keys: { type: 'integer' },
                seq: { type: 'integer' },
                lastChangeAt: { type: ['string', 'null'], format: 'date-time' },
                lastChangeAgeSeconds: { type: ['integer', 'null'] },
                watchedSince: isoTime,
                watchedForSeconds: { type: 'integer' },
              },
            },
            registries: { type: 'array', items: { type: 'object' } },
            imports: {
              type: 'object',
              properties: { running: { type: 'integer' }, queued: { type: 'integer' } },
            },
            checkedAt: isoTime,
          },
        },
        ImportJob: {
          type: 'object',
          required: ['id', 'state', 'format', 'dryRun', 'progress', 'bytes', 'rows', 'errors'],
          properties: {
            id: { type: 'string' },
            state: { type: 'string', enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
            format: { type: 'string', enum: ['csv', 'jsonl'] },
            dryRun: { type: 'boolean' },
            principal: {
              type: 'string',
              description: 'Who submitted the job; its rows are recorded as import:<principal>.',
            },
            createdAt: isoTime,
            startedAt: { type: ['string', 'null'], format: 'date-time' },
            finishedAt: { type: ['string', 'null'], format: 'date-time' },
            progress: { type: 'number', minimum: 0, maximum: 1 },
            bytes: {
              type: 'object',
              properties: { read: { type: 'integer' }, total: { type: 'integer' } },
            },
            rows: {
              type: 'object',
              properties: {
                read: { type: 'integer' },
                applied: { type: 'integer' },
                unchanged: { type: 'integer' },
                failed: { type: 'integer' },
              },
            },
            rowsPerSecond: { type: 'integer' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                required: ['line', 'code', 'message'],
                properties: {
                  line: { type: 'integer' },
                  code: { type: 'string' },
                  message: { type: 'string' },
                  field: { type: 'string' },
                },
              },
            },
            errorsTruncated: { type: 'boolean' },
            error: {
              oneOf: [
                { type: 'null' },
                {
                  type: 'object',
                  properties: { code: { type: 'string' }, message: { type: 'string' } },
                },
              ],
            },
          },
        },
        ExportedContact: {
          type: 'object',
          properties: {
            contact: { type: 'string' },
            keys: { type: 'array', items: { type: 'string' } },
            labels: { type: 'array', items: ref('ActiveLabel') },
          },
        },
      },
    },
  };
}
