/**
 * Shared set-up for the API tests: the node test helper with the DNC nodes (and dnc-events), requests to
 * the admin mount through helper.request() (supertest on the helper's httpAdmin; its needsPermission
 * lets everything through, so authorization is tested against a real Node-RED in test/e2e), waiting for
 * import jobs, and reading the audit trail.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- supertest responses are untyped here */
import * as assert from 'node:assert/strict';
import { allModules, config, helper, storeReady } from './nodes/support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const eventsModule = require('../nodes/dnc-events') as unknown;
export const apiModules = [...allModules, eventsModule];

export interface Res {
  status: number;
  body: any;
  text: string;
  headers: Record<string, string>;
}

export function api(): any {
  return (helper as unknown as { request(): any }).request();
}

/** Deploys `flow` (default: one config c1) and waits for its store. */
export async function deploy(
  flow: Record<string, unknown>[] = [config()],
  credentials?: Record<string, unknown>,
): Promise<void> {
  await helper.load(apiModules, flow, credentials);
  for (const node of flow) if (node.type === 'dnc-config') await storeReady(node.id as string);
}

export async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> {
  let req = api().post(path);
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  return (await req.send(body)) as Res;
}

export async function get(path: string): Promise<Res> {
  return (await api().get(path)) as Res;
}

/** fetch() for a server of our own: the status, the text, and the body as JSON when it is JSON. */
export async function fetchJson(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** The store's last seq (to assert that nothing was written). */
export async function seq(): Promise<number> {
  const res = await get('/dnc/health');
  return res.body.store.seq as number;
}

export async function upload(path: string, type: string, text: string): Promise<Res> {
  return (await api().post(path).set('Content-Type', type).send(text)) as Res;
}

/** Polls an import job until it has finished. */
export async function finished(id: string, timeoutMs = 20000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await get(`/dnc/imports/${id}`);
    assert.equal(res.status, 200, res.text);
    if (res.body.state !== 'queued' && res.body.state !== 'running') return res.body;
    if (Date.now() > deadline) throw new Error(`import ${id} still ${res.body.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { config, helper };
