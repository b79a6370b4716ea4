/**
 * One request to a wash or lookup service: the numbers written in the service's format, the URL, headers
 * and body from their templates (secrets substituted, never logged), and the answer read into listed / not listed per E.164 number by the response mapper.
 * Every way an attempt can fail becomes an AttemptError that says whether another attempt may help; the
 * exchange itself, the retries and the circuit breaker are service-calls.ts's; the cache is the source's
 * (service-source.ts).
 */
import { nationalPrefixOf } from './national';
import { AttemptError, statusFailure, type ServiceCalls } from './service-calls';
import type { ResolvedServiceOptions, ResponseMapping } from './service-options';

function substitute(template: string, values: Readonly<Record<string, string>>, encode: boolean): string {
  return template.replace(/\{([A-Za-z][A-Za-z0-9_]*)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name)
      ? encode
        ? encodeURIComponent(values[name])
        : values[name]
      : whole,
  );
}

/** Writes a service source's requests and reads their answers; `calls` sends them. */
export class ServiceClient {
  constructor(
    private readonly options: ResolvedServiceOptions,
    private readonly calls: ServiceCalls,
  ) {}

  /**
   * One attempt for a batch of E.164 numbers: listed / not listed per number the service answered for.
   * Rejects with AttemptError, or ClosedError once closed; `onStatus` hears the HTTP status first.
   */
  async send(
    numbers: readonly string[],
    onStatus: (status: number | null) => void,
  ): Promise<Map<string, boolean>> {
    const sent = numbers.map((n) => this.format(n));
    const secrets = this.options.secrets;
    const values: Record<string, string> = {
      ...secrets,
      registry: this.options.id,
      numbers: sent.join(','),
      number: sent[0] ?? '',
      numbersJson: JSON.stringify(sent),
    };
    const url = substitute(this.options.url.trim(), values, true);
    const method = this.options.method;
    const headers = new Headers();
    for (const [name, value] of Object.entries(this.options.headers)) {
      headers.set(name, substitute(value, secrets, false));
    }
    let body: string | undefined;
    if (method !== 'GET') {
      body = substitute(this.options.body, values, false);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    if (!headers.has('accept')) headers.set('accept', 'application/json');

    const { response, text } = await this.calls.fetchText(url, { method, headers, body }, onStatus);
    const status = response.status;
    const failure = statusFailure(response, this.options.now(), () => text.slice(0, 200));
    if (failure !== null) throw failure;
    let parsed: unknown;
    try {
      parsed = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      throw new AttemptError(`the answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`, false, status);
    }
    let mapping: ResponseMapping;
    try {
      mapping = await this.options.mapResponse(parsed, numbers, { sent, status, headers: response.headers });
    } catch (err) {
      throw new AttemptError(
        `the response mapping failed: ${err instanceof Error ? err.message : String(err)}`,
        false,
        status,
      );
    }
    return readMapping(mapping, numbers, sent);
  }

  private format(e164: string): string {
    const format = this.options.numberFormat;
    if (format === 'e164') return e164;
    if (format === 'digits') return e164.slice(1);
    const code = this.options.callingCodes?.find((c) => e164.startsWith(c, 1));
    if (code === undefined) return e164;
    // The calling code's own national prefix (libphonenumber-js metadata): `0` in Australia, none in Italy
    // or Singapore, where the national number is written as it follows the calling code.
    return `${this.options.trunkPrefix ?? nationalPrefixOf(code)}${e164.slice(1 + code.length)}`;
  }
}

/** The mapper's answer, keyed by the E.164 numbers asked for; anything unrecognised is left out. */
function readMapping(
  mapping: ResponseMapping,
  numbers: readonly string[],
  sent: readonly string[],
): Map<string, boolean> {
  const byName = new Map<string, string>();
  numbers.forEach((e164, i) => {
    byName.set(e164, e164);
    byName.set(e164.slice(1), e164);
    byName.set(sent[i], e164);
  });
  const out = new Map<string, boolean>();
  const take = (key: unknown, value: unknown) => {
    if (typeof key !== 'string' && typeof key !== 'number') return;
    const e164 = byName.get(String(key).replace(/[\s().-]/g, ''));
    if (e164 === undefined) return;
    const listed =
      value === true || value === 'listed'
        ? true
        : value === false || value === 'not-listed' || value === 'not listed'
          ? false
          : undefined;
    if (listed === undefined) return;
    // The same number answered twice, once each way: listed wins (the safe direction).
    out.set(e164, (out.get(e164) ?? false) || listed);
  };
  if (mapping instanceof Map) {
    for (const [key, value] of mapping) take(key, value);
  } else if (Array.isArray(mapping)) {
    for (const item of mapping as readonly unknown[]) {
      if (item !== null && typeof item === 'object') {
        const { number, listed } = item as { number?: unknown; listed?: unknown };
        take(number, listed);
      }
    }
  } else if (mapping !== null && typeof mapping === 'object') {
    for (const [key, value] of Object.entries(mapping)) take(key, value);
  } else {
    throw new AttemptError(
      'the response mapping must give an object, a Map or a list of { number, listed }',
      false,
      null,
    );
  }
  return out;
}
