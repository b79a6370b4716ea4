/**
 * The pieces the OpenAPI operations are written with (lib/api/routes/ describe their own operations;
 * openapi.ts assembles the document). Request value schemas come from lib/values.ts RULES.
 */
export type Json = Record<string, unknown>;

export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
export const errorResponse = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});
export const json = (schema: Json, description = 'OK'): Json => ({
  description,
  content: { 'application/json': { schema } },
});

export const ERRORS = {
  '400': { $ref: '#/components/responses/BadRequest' },
  '401': { $ref: '#/components/responses/Unauthorized' },
  '429': { $ref: '#/components/responses/TooManyRequests' },
  '503': { $ref: '#/components/responses/Unavailable' },
};
export const WRITE_ERRORS = {
  ...ERRORS,
  '403': { $ref: '#/components/responses/Forbidden' },
  '409': { $ref: '#/components/responses/Conflict' },
  '413': { $ref: '#/components/responses/TooLarge' },
  '415': { $ref: '#/components/responses/UnsupportedMediaType' },
};

export const nullableText = { type: ['string', 'null'] };
/** A time the API answers with (always UTC, `Z`). */
export const isoTimeSchema = { type: 'string', format: 'date-time' };
/** A query flag: true/false (1/0 are accepted too). */
export const flag = (fallback: boolean): Json => ({
  type: ['boolean', 'integer'],
  minimum: 0,
  maximum: 1,
  default: fallback,
});
/** A query parameter's text: an empty value (`?label=`) is refused, so every one has at least one character. */
export const queryText = (maxLength?: number): Json => ({
  type: 'string',
  minLength: 1,
  ...(maxLength === undefined ? {} : { maxLength }),
});

/** What the document hands each route module to describe its operations. */
export interface DocKit {
  /** An operation: with ?config= (admin mount) its parameter and its 404 are added. */
  readonly op: (
    operationId: string,
    tag: string,
    summary: string,
    description: string,
    responses: Json,
    extra?: Json,
  ) => Json;
}

export const idempotencyKey = { $ref: '#/components/parameters/IdempotencyKey' };
