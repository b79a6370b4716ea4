/**
 * The OpenAPI 3.1 document: served at /dnc/openapi.json, describes every route the router has, and
 * passes @redocly/cli's lint (its recommended rules) with no error and no warning.
 */

import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createDncApi } from '../lib/api/router';
import { deploy, get } from './api-support';
import { useNodeRed } from './nodes/support';

const run = promisify(execFile);

describe('DNC API: OpenAPI document', function () {
  this.timeout(120000);
  useNodeRed();

  it('is served at /dnc/openapi.json and documents every route', async () => {
    await deploy();
    const res = await get('/dnc/openapi.json');
    assert.equal(res.status, 200);
    const doc = res.body;
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.servers[0].url, '/dnc');
    const api = createDncApi({ resolve: () => assert.fail('unused'), configParam: true });
    for (const route of api.routes) {
      const path = Object.keys(doc.paths).find((p) => route.pattern.test(p.replace(/\{[^}]+\}/g, 'x')));
      assert.ok(path, `route ${route.method} ${String(route.pattern)} is documented`);
      assert.ok(doc.paths[path][route.method.toLowerCase()], `${route.method} ${path} is documented`);
    }
  });

  it('passes @redocly/cli lint', async () => {
    await deploy();
    const doc = (await get('/dnc/openapi.json')).body;
    const dir = mkdtempSync(join(tmpdir(), 'dnc-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc, null, 2));
      const cli = join(dirname(require.resolve('@redocly/cli/package.json')), 'bin', 'cli.js');
      let output: string;
      try {
        const result = await run(process.execPath, [cli, 'lint', file, '--format=stylish'], {
          env: {
            ...process.env,
            REDOCLY_TELEMETRY: 'off',
            REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
            NO_COLOR: '1',
          },
          maxBuffer: 10 * 1024 * 1024,
        });
        output = result.stdout + result.stderr;
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        assert.fail(`redocly lint failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
      }
      // The report starts at "validating" (before it: redocly's Node 20 deprecation banner).
      const report = output.slice(output.indexOf('validating'));
      assert.match(report, /Woohoo! Your API description is valid/, output);
      assert.doesNotMatch(report, /warning|error/i, output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
