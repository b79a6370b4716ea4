/**
 * Bulk routes: import jobs (upload, progress, cancel) and the streamed export.
 */
import { ApiError, invalid } from '../errors';
import { streamExport } from '../export';
import { assertPlainBody, contentType } from '../http';
import { fingerprintOf, type StoredResponse } from '../idempotency';
import type { ImportFormat } from '../import-rows';
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
import { RULES } from '../../values';
import { ok, principalOf, route, type Route, type RouteKit, type RouteRequest } from '../route';
import { discardUpload, spool } from '../upload-spool';

/** The media types an import upload may be sent as, and the format each means. */
const IMPORT_TYPES: ReadonlyMap<string, ImportFormat> = new Map([
  ['text/csv', 'csv'],
  ['application/x-ndjson', 'jsonl'],
  ['application/jsonl', 'jsonl'],
  ['application/json-lines', 'jsonl'],
]);

export function bulkRoutes(kit: RouteKit): Route[] {
  const { limits, withConfig, idempotent, viewOf } = kit;

  function notFound(): ApiError {
    return new ApiError(
      404,
      'DNC_NOT_FOUND',
      'no such import job (the last 50 are kept: in memory, or in the database with the PostgreSQL store)',
    );
  }
  async function job(r: RouteRequest) {
    const found = await r.ctx().imports.get(r.params.id);
    if (found === undefined) throw notFound();
    return found;
  }
  return [
    route(
      'POST',
      '/imports',
      'write',
      withConfig(['format', 'dryRun']),
      async (r) => {
        const type = contentType(r.req);
        const named = r.query.text('format');
        if (named !== undefined && named !== 'csv' && named !== 'jsonl') {
          throw invalid('format must be csv or jsonl', 'format');
        }
        // Only the import media types, none of which a browser sends cross-site without a CORS preflight
        // (text/plain, forms and no type at all are refused). ?format= may still choose the parser.
        const typed = IMPORT_TYPES.get(type);
        if (typed === undefined || r.req._body === true) {
          throw new ApiError(
            415,
            'DNC_UNSUPPORTED_MEDIA_TYPE',
            'send the file as text/csv or application/x-ndjson (JSON lines)',
          );
        }
        assertPlainBody(r.req);
        const format: ImportFormat = named ?? typed;
        const dryRun = r.query.flag('dryRun');
        const ctx = r.ctx();
        const upload = await spool(r.req, limits.importBytes);
        // From here on the upload (up to importBytes on disk) belongs to this request until a job takes
        // it: every other way out (conflict, invalid file, replay, closed configuration) removes it.
        let taken = false;
        try {
          const fingerprint = fingerprintOf(format, String(dryRun), upload.sha256);
          const submit = async (): Promise<StoredResponse> => {
            const job = await ctx.imports.submit(format, dryRun, upload, fingerprint, principalOf(r.caller));
            taken = true;
            return ok(viewOf(job.view()), 202, { Location: `imports/${job.id}` });
          };
          if (r.idem === null) return await submit();
          let replayed = false;
          const response = await idempotent(r.idem, fingerprint, submit, () => {
            replayed = true;
          });
          if (!replayed) return response;
          // The first job, as it is now (on whichever instance runs it).
          const firstId = (response.body as { id?: unknown } | null)?.id;
          const first = typeof firstId === 'string' ? await ctx.imports.get(firstId) : undefined;
          return first ? { ...response, body: viewOf(first) } : response;
        } finally {
          if (!taken) await discardUpload(upload);
        }
      },
      true,
    ),
    route('GET', '/imports', 'read', withConfig([]), async (r) =>
      ok({
        jobs: (await r.ctx().imports.list()).map(viewOf),
      }),
    ),
    route('GET', '/imports/{id}', 'read', withConfig([]), async (r) => ok(viewOf(await job(r)))),
    route('DELETE', '/imports/{id}', 'write', withConfig([]), async (r) => {
      const found = await r.ctx().imports.cancel(r.params.id);
      if (found === undefined) throw notFound();
      return ok(viewOf(found));
    }),
    route('GET', '/export', 'read', withConfig(['format', 'label', 'includeExpired']), async (r) => {
      const format = r.query.text('format') ?? 'csv';
      if (format !== 'csv' && format !== 'json' && format !== 'jsonl') {
        throw invalid('format must be csv, json or jsonl', 'format');
      }
      const ctx = r.ctx();
      const label = r.query.text('label');
      if (label !== undefined) ctx.service.catalog.resolveNames([label], 'label');
      const includeExpired = r.query.flag('includeExpired');
      await ctx.service.whenReady();
      // The profile list is taken synchronously, before the first await: the store's contacts() walks
      // the live index lazily, and a write landing while the export waits on the socket (linking two
      // profiles, say) can move a profile behind the walk's position so it would be skipped. Profiles are
      // immutable, so this array of references (about 8 bytes a contact) is a consistent picture as of
      // now; changes landing during the export are not in it.
      const contacts = [...ctx.service.contacts()];
      try {
        await streamExport(contacts, r.res, {
          format: format,
          label,
          includeExpired,
          now: Date.now(),
          filename: 'dnc-export',
        });
      } catch (err) {
        // Headers are out: all we can do is cut the response so the client sees it is incomplete.
        r.res.destroy();
        if (!(err instanceof Error && err.message === 'the client went away')) throw err;
      }
      return 'streamed' as const;
    }),
  ];
}

/** The OpenAPI operations of these routes (openapi.ts assembles the document). */
export function bulkPaths(doc: DocKit): Json {
  const { op } = doc;

  return {
    '/imports': {
      get: op(
        'listImports',
        'bulk',
        'Import jobs',
        'The last 50 import jobs (kept in memory, or in the database with the PostgreSQL store).',
        {
          '200': json({
            type: 'object',
            required: ['jobs'],
            properties: { jobs: { type: 'array', items: ref('ImportJob') } },
          }),
          ...ERRORS,
        },
      ),
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
  };
}
