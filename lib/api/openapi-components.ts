/**
 * The components of the OpenAPI document: security, shared parameters and responses, and the schemas
 * of what the API answers (one table). Request value schemas are lib/values.ts RULES.
 */
import { RULES } from '../values';
import { errorResponse, isoTimeSchema, nullableText, queryText, ref, type Json } from './openapi-parts';

/** A label's definition (GET /labels), and the first fields of a list (GET /lists). */
const labelDefinition = {
  type: 'object',
  required: ['name', 'channels', 'global'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    channels: { type: 'array', items: { type: 'string' } },
    global: { type: 'boolean' },
    expiresAfterDays: { type: ['number', 'null'] },
  },
};

export function components(configParam: boolean): Json {
  return {
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
      LabelDefinition: labelDefinition,
      ActiveLabel: {
        type: 'object',
        required: ['label', 'appliedAt', 'expiresAt', 'source'],
        properties: {
          label: { type: 'string' },
          appliedAt: isoTimeSchema,
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
          checkedAt: isoTimeSchema,
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
          checkedAt: isoTimeSchema,
        },
      },
      AuditRecord: {
        type: 'object',
        required: ['seq', 'at', 'op', 'keys', 'labels', 'changed', 'source', 'prev', 'hash'],
        properties: {
          seq: {
            type: 'integer',
            minimum: 0,
            description:
              '1, 2, 3... without gaps; 0 in the provisional record of a queued change (no prev or hash yet)',
          },
          at: isoTimeSchema,
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
          seq: { type: 'integer', description: '0 while queued' },
          queued: {
            type: 'boolean',
            description:
              'PostgreSQL store: the database was unreachable; the change is durable in the local spool, enforced by this instance, committed in order later',
          },
          at: isoTimeSchema,
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
              description:
                'A label past its expiry, still stored: the ActiveLabel fields and when it expired.',
              properties: {
                label: { type: 'string' },
                expiredAt: isoTimeSchema,
                appliedAt: isoTimeSchema,
                expiresAt: { type: ['string', 'null'], format: 'date-time' },
                source: { type: 'string' },
                actor: nullableText,
                principal: nullableText,
                reason: nullableText,
                campaign: nullableText,
                channel: nullableText,
              },
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
          at: isoTimeSchema,
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
              type: { type: 'string', enum: ['embedded', 'postgres'] },
              lagMs: {
                type: ['integer', 'null'],
                description:
                  'PostgreSQL: milliseconds since this instance last confirmed its view current (null while not ready).',
              },
              lastChangeAt: { type: ['string', 'null'], format: 'date-time' },
              lastChangeAgeSeconds: { type: ['integer', 'null'] },
              watchedSince: isoTimeSchema,
              watchedForSeconds: { type: 'integer' },
            },
          },
          registries: { type: 'array', items: { type: 'object' } },
          imports: {
            type: 'object',
            properties: { running: { type: 'integer' }, queued: { type: 'integer' } },
          },
          checkedAt: isoTimeSchema,
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
          createdAt: isoTimeSchema,
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
      LabelList: {
        type: 'object',
        required: [...labelDefinition.required, 'active', 'expired'],
        properties: {
          ...labelDefinition.properties,
          active: { type: 'integer', minimum: 0, description: 'Contacts the label blocks now.' },
          expired: {
            type: 'integer',
            minimum: 0,
            description: 'Contacts still holding the label past its expiry (no longer blocked).',
          },
        },
      },
      ListPage: {
        type: 'object',
        required: ['label', 'total', 'offset', 'limit', 'contacts'],
        properties: {
          label: { type: 'string' },
          total: { type: 'integer', minimum: 0 },
          offset: { type: 'integer', minimum: 0 },
          limit: { type: 'integer', minimum: 1 },
          contacts: {
            type: 'array',
            items: {
              type: 'object',
              required: ['contact', 'keys', 'label'],
              properties: {
                contact: { type: 'string' },
                keys: { type: 'array', items: { type: 'string' } },
                label: ref('ActiveLabel'),
              },
            },
          },
        },
      },
    },
  };
}
