/**
 * A wash service on 127.0.0.1 for tests (node:http): POST {"numbers":[...]} (or GET ?numbers=a,b) answers
 * {"results":[{"number","registered"}]} for the numbers it was asked, listing those in `listed`. Each request
 * takes the next scripted behaviour (then `fallback`): ok, 429 with Retry-After, 500, hang (never answers),
 * malformed JSON, partial (the last number left out), slow (answers after a delay). It counts requests and
 * the most requests in flight at once.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour =
  | 'ok'
  | { status: 429; retryAfter?: string }
  | 500
  | 503
  | 401
  | 'hang'
  | 'malformed'
  | 'partial'
  | { slowMs: number };

export interface WashRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  numbers: string[];
  at: number;
}

export class WashServer {
  readonly listed = new Set<string>();
  readonly script: Behaviour[] = [];
  fallback: Behaviour = 'ok';
  readonly requests: WashRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private server: Server | null = null;
  private hanging = new Set<ServerResponse>();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let numbers: string[];
    try {
      if (req.method === 'GET') {
        const query = new URL(req.url ?? '/', this.url).searchParams.get('numbers') ?? '';
        numbers = query === '' ? [] : query.split(',');
      } else numbers = (JSON.parse(text) as { numbers: string[] }).numbers;
    } catch {
      numbers = [];
    }
    this.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      numbers,
      at: Date.now(),
    });
    const behaviour = this.script.length > 0 ? this.script.shift()! : this.fallback;
    const finish = (status: number, body: string, headers: Record<string, string> = {}) => {
      this.inFlight -= 1;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    const answer = (list: string[]) =>
      JSON.stringify({ results: list.map((number) => ({ number, registered: this.listed.has(number) })) });
    if (behaviour === 'hang') {
      this.hanging.add(res);
      res.on('close', () => {
        if (this.hanging.delete(res)) this.inFlight -= 1;
      });
      return;
    }
    if (behaviour === 500 || behaviour === 503 || behaviour === 401) {
      finish(behaviour, JSON.stringify({ error: 'boom' }));
      return;
    }
    if (behaviour === 'malformed') {
      finish(200, '{"results": [ {"number": ');
      return;
    }
    if (behaviour === 'partial') {
      finish(200, answer(numbers.slice(0, -1)));
      return;
    }
    if (typeof behaviour === 'object' && 'status' in behaviour) {
      finish(
        429,
        '{"error":"slow down"}',
        behaviour.retryAfter === undefined ? {} : { 'retry-after': behaviour.retryAfter },
      );
      return;
    }
    if (typeof behaviour === 'object' && 'slowMs' in behaviour) {
      await new Promise((resolve) => setTimeout(resolve, behaviour.slowMs));
    }
    finish(200, answer(numbers));
  }
}

/** The mapper a JSONata expression `results{number: registered}` amounts to. */
export function mapResults(body: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of (body as { results: { number: string; registered: unknown }[] }).results)
    out[r.number] = r.registered;
  return out;
}
