/**
 * The calling policy dialog's admin routes (nodes/dnc-policy.html, resources/dnc-policy-form.js), both
 * behind the permission dnc-policy.read and registered once per admin app by nodes/dnc-policy.ts:
 *
 * - POST dnc-policy/check `{ policy?, preset?, contact?, channel?, at?, defaultCountry? }`: the definition
 *   (an object or JSON text; blank: the preset) compiled and, with a contact, previewed
 *   (lib/policy-preview.ts). 200 answers whether the definition compiles: `{ ok: true, ... }`, or
 *   `{ ok: false, error: { code, message, field } }` with the engine's error, which the dialog shows
 *   beside the form (a 4xx would also put a network error in the browser's console on every invalid
 *   keystroke). 400 `{ code, message, field }` when the request itself is bad: not a JSON object
 *   (malformed JSON included), an unknown field, a field of the wrong type, policy text that is not
 *   JSON, a channel or instant that cannot be read.
 * - GET dnc-policy/holidays[?country=XX[&state=YY]]: the countries date-holidays knows; with a country,
 *   its states or regions and this year's holidays (with a state: the state's).
 *
 * Errors carry a stable code and no stack or path.
 */
import Holidays from 'date-holidays';
import type { NextFunction, Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { previewPolicy } from '../../lib/policy-preview';

/** The request fields the check route reads. */
const CHECK_FIELDS = ['policy', 'preset', 'contact', 'channel', 'at', 'defaultCountry'] as const;

function badRequest(res: Response, message: string, field?: string): void {
  res
    .status(400)
    .json(
      field === undefined
        ? { code: 'DNC_INVALID_INPUT', message }
        : { code: 'DNC_INVALID_INPUT', message, field },
    );
}

const holidayData = new Holidays();

function entries(map: Record<string, string> | undefined): Array<{ code: string; name: string }> {
  return Object.entries(map ?? {})
    .map(([code, name]) => ({ code, name }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** This year's holidays of a calendar (public and bank), as `YYYY-MM-DD` and name. */
function holidaysOf(
  country: string,
  state: string | undefined,
): Array<{ date: string; name: string; type: string }> {
  const calendar = state === undefined ? new Holidays(country) : new Holidays(country, state);
  return (calendar.getHolidays(new Date().getUTCFullYear()) || [])
    .filter((h) => h.type === 'public' || h.type === 'bank')
    .map((h) => ({ date: h.date.slice(0, 10), name: h.name, type: h.type }));
}

export function mountPolicyRoutes(RED: NodeAPI): void {
  const read = RED.auth.needsPermission('dnc-policy.read');

  RED.httpAdmin.post('/dnc-policy/check', read, (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      badRequest(res, 'the request must be a JSON object');
      return;
    }
    const fields = body as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      if (!(CHECK_FIELDS as readonly string[]).includes(key)) {
        badRequest(res, `unknown field "${key}" (allowed: ${CHECK_FIELDS.join(', ')})`, key);
        return;
      }
    }
    for (const key of ['preset', 'channel', 'defaultCountry'] as const) {
      const value = fields[key];
      if (value !== undefined && value !== null && typeof value !== 'string') {
        badRequest(res, `${key} must be text`, key);
        return;
      }
    }
    let policy = fields.policy;
    if (typeof policy === 'string' && policy.trim() !== '') {
      try {
        policy = JSON.parse(policy) as unknown;
      } catch (err) {
        badRequest(res, `the policy is not valid JSON: ${(err as Error).message}`, 'policy');
        return;
      }
    }
    const result = previewPolicy({
      policy,
      preset: fields.preset,
      contact: fields.contact,
      channel: fields.channel,
      at: fields.at,
      defaultCountry:
        typeof fields.defaultCountry === 'string' && fields.defaultCountry !== ''
          ? fields.defaultCountry
          : undefined,
    });
    if (!result.ok && (result.error.field === 'channel' || result.error.field === 'at'))
      res.status(400).json(result.error);
    else res.json(result);
  });
  // A body that is not JSON fails in the admin app's body parser: answer it here, without a stack.
  RED.httpAdmin.use('/dnc-policy/check', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, type } = err as { status?: unknown; type?: unknown };
    if (status === 413) {
      res.status(413).json({ code: 'DNC_INVALID_INPUT', message: 'the request is too large' });
      return;
    }
    // Only the body parser's refusals are the request's fault; anything else is ours, said without detail.
    if ((typeof type === 'string' && type.startsWith('entity.')) || status === 400) {
      badRequest(res, 'the request is not valid JSON');
      return;
    }
    res.status(500).json({ code: 'DNC_INTERNAL', message: 'the policy could not be checked' });
  });

  RED.httpAdmin.get('/dnc-policy/holidays', read, (req: Request, res: Response) => {
    const country = typeof req.query.country === 'string' ? req.query.country.trim().toUpperCase() : '';
    const stateQuery = typeof req.query.state === 'string' ? req.query.state.trim() : '';
    if (country === '') {
      res.json({ countries: entries(holidayData.getCountries()) });
      return;
    }
    const countries = holidayData.getCountries() ?? {};
    if (!/^[A-Z]{2}$/.test(country) || !(country in countries)) {
      badRequest(res, `"${country.slice(0, 8)}" is not a country with a holiday calendar`, 'country');
      return;
    }
    const states = entries(holidayData.getStates(country));
    let state: string | undefined;
    if (stateQuery !== '') {
      state = states.find((s) => s.code.toUpperCase() === stateQuery.toUpperCase())?.code;
      if (state === undefined) {
        badRequest(res, `"${stateQuery.slice(0, 16)}" is not a state or region of ${country}`, 'state');
        return;
      }
    }
    res.json({
      country,
      name: countries[country],
      states,
      ...(state === undefined ? {} : { state }),
      holidays: holidaysOf(country, state),
    });
  });
}
