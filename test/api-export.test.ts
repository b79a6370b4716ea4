/**
 * Export while writes land: a contact linked to another mid-export must not drop out of it.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- responses are untyped JSON */
import * as assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { api, deploy, finished, post, upload } from './api-support';
import { useNodeRed } from './nodes/support';

const COUNT = 30_000;
const number = (i: number): string => `+4479111${String(i).padStart(5, '0')}`;

describe('DNC API: export while writes land', function () {
  this.timeout(120_000);
  useNodeRed();

  it('keeps every labelled contact when two of them are linked mid-export (slow consumer)', async () => {
    await deploy();
    const rows = ['contact,labels'];
    for (let i = 0; i < COUNT; i++) rows.push(`${number(i)},DNC_Sales`);
    const job = await finished(
      (await upload('/dnc/imports', 'text/csv', `${rows.join('\n')}\n`)).body.id,
      60_000,
    );
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.equal(job.rows.applied, COUNT);

    const first = number(0);
    const last = number(COUNT - 1);
    let linked: any;
    // The consumer stops reading after the first chunk, links the first contact (already exported) to
    // the last one (not yet), then reads on slowly. The merged profile lists the first contact's key
    // first; a walk of the live index would skip it at the last contact's place.
    const res = (await api()
      .get('/dnc/export?format=jsonl')
      .buffer(true)
      .parse((stream: IncomingMessage, done: (error: Error | null, body?: string) => void) => {
        let text = '';
        let paused = false;
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          text += chunk;
          if (paused) return;
          paused = true;
          stream.pause();
          post('/dnc/labels/add', { contact: { phone: first, whatsapp: last }, labels: ['DNC_Marketing'] })
            .then((r) => {
              linked = r;
              stream.resume();
            })
            .catch((error: Error) => done(error));
        });
        stream.on('end', () => done(null, text));
        stream.on('error', (error: Error) => done(error));
      })) as { status: number; body: string };
    assert.equal(res.status, 200);
    assert.equal(linked?.status, 200, JSON.stringify(linked?.body));

    const exported = new Set<string>();
    for (const line of res.body.split('\n')) {
      if (line === '') continue;
      const contact = JSON.parse(line) as { keys: string[]; labels: { label: string }[] };
      assert.ok(contact.labels.length > 0);
      for (const key of contact.keys) exported.add(key);
    }
    const missing: string[] = [];
    for (let i = 0; i < COUNT; i++) if (!exported.has(number(i))) missing.push(number(i));
    assert.deepEqual(missing, [], `${missing.length} labelled contacts are missing from the export`);
  });
});
