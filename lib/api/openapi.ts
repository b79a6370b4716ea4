/**
 * The OpenAPI 3.1 description of the DNC API, served at `<mount>/openapi.json` and linted in the tests
 * with @redocly/cli. Each route module (lib/api/routes/) describes its own operations beside its
 * routes; this assembles them with the components (openapi-components.ts). A test checks that every
 * route is documented, and the conformance test (test/api-conformance.test.ts) sends requests generated
 * from it and checks the answers. The schemas of request values are the rules the validators use
 * (lib/values.ts RULES), embedded as they are, so the document and the server agree on what is accepted.
 */
import { components } from './openapi-components';
import type { DocKit, Json } from './openapi-parts';
import { auditPaths } from './routes/audit';
import { bulkPaths } from './routes/bulk';
import { checkPaths } from './routes/checks';
import { contactPaths } from './routes/contacts';
import { labelPaths } from './routes/labels';
import { listPaths } from './routes/lists';
import { systemPaths } from './routes/system';

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
  const doc: DocKit = { op };
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
      { name: 'lists', description: 'Each label as a list of the contacts carrying it' },
      { name: 'audit', description: 'The hash-chained audit trail' },
      { name: 'bulk', description: 'Import and export' },
      { name: 'system', description: 'Health and this document' },
    ],
    paths: {
      ...systemPaths(doc),
      ...labelPaths(doc),
      ...contactPaths(doc),
      ...checkPaths(doc),
      ...listPaths(doc),
      ...auditPaths(doc),
      ...bulkPaths(doc),
    },
    components: components(configParam),
  };
}
