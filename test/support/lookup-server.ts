/**
 * A stand-in on 127.0.0.1 for a service that queries the FCC Reassigned Numbers Database for its customers,
 * speaking Twilio Lookup v2's documented Reassigned Number interface
 * (https://www.twilio.com/docs/lookup/v2-api/reassigned-number):
 *   GET /v2/PhoneNumbers/{number}?Fields=reassigned_number&LastVerifiedDate=YYYYMMDD
 * with HTTP Basic authentication, answering
 *   { "phone_number", "valid", "country_code", "reassigned_number": { "last_verified_date",
 *     "is_number_reassigned", "error_code" }, "url" }
 * and Twilio's error body `{ "code", "message", "more_info", "status" }` (401 code 20003 for wrong credentials,
 * 400 code 60617 when LastVerifiedDate is missing or not a date, 429 code 20429).
 *
 * It answers like the database: "yes" when the number's permanent disconnection date (in `disconnected`) is
 * on or after the date asked, "no" when not, "no data" when the date is before 2021-01-27 and the number is
 * not in the data. Each request takes the next scripted behaviour (then `fallback`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type LookupBehaviour =
  | 'ok'
  | 500
  | { status: 429; retryAfter?: string }
  | 'hang'
  | 'malformed'
  | 'other-number'
  | 'other-date'
  | { errorCode: number }
  | { answer: unknown };

export interface LookupRequest {
  number: string;
  lastVerifiedDate: string | null;
  fields: string | null;
  authorization: string | undefined;
}

export class LookupServer {
  /** Number -> its permanent disconnection date (YYYY-MM-DD). */
  readonly disconnected = new Map<string, string>();
  readonly script: LookupBehaviour[] = [];
  fallback: LookupBehaviour = 'ok';
  readonly requests: LookupRequest[] = [];
  accountSid = 'AC0123456789abcdef0123456789abcdef';
  authToken = 'token-of-the-stand-in';
  private server: Server | null = null;
  private hanging = new Set<ServerResponse>();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
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

  private error(res: ServerResponse, status: number, code: number, message: string): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const match = /^\/v2\/PhoneNumbers\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || match === null) {
      this.error(res, 404, 20404, 'The requested resource was not found');
      return;
    }
    const number = decodeURIComponent(match[1]);
    const dateText = url.searchParams.get('LastVerifiedDate');
    this.requests.push({
      number,
      lastVerifiedDate: dateText,
      fields: url.searchParams.get('Fields'),
      authorization: req.headers.authorization,
    });
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      this.error(res, 401, 20003, 'Authenticate');
      return;
    }
    const behaviour = this.script.shift() ?? this.fallback;
    if (behaviour === 500) {
      this.error(res, 500, 20500, 'Internal Server Error');
      return;
    }
    if (behaviour === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (typeof behaviour === 'object' && 'status' in behaviour) {
      if (behaviour.retryAfter !== undefined) res.setHeader('retry-after', behaviour.retryAfter);
      this.error(res, 429, 20429, 'Too Many Requests');
      return;
    }
    if (behaviour === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"phone_number": "+1');
      return;
    }
    if (dateText === null || !/^\d{8}$/.test(dateText)) {
      this.error(res, 400, 60617, 'LastVerifiedDate is required in the format YYYYMMDD');
      return;
    }
    const date = `${dateText.slice(0, 4)}-${dateText.slice(4, 6)}-${dateText.slice(6)}`;
    const disconnected = this.disconnected.get(number);
    let answer: unknown =
      disconnected !== undefined && disconnected >= date ? 'yes' : date < '2021-01-27' ? 'no_data' : 'no';
    let errorCode: number | null = null;
    if (typeof behaviour === 'object' && 'answer' in behaviour) answer = behaviour.answer;
    if (typeof behaviour === 'object' && 'errorCode' in behaviour) {
      answer = null;
      errorCode = behaviour.errorCode;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        calling_country_code: '1',
        country_code: 'US',
        phone_number: behaviour === 'other-number' ? '+12025550199' : number,
        national_format: null,
        valid: true,
        validation_errors: [],
        reassigned_number: {
          last_verified_date: behaviour === 'other-date' ? '2020-01-01' : date,
          is_number_reassigned: answer,
          error_code: errorCode,
        },
        url: `${this.url}/v2/PhoneNumbers/${encodeURIComponent(number)}`,
      }),
    );
  }
}
