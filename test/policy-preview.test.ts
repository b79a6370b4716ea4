/**
 * lib/policy-preview.ts: the calling policy dialog's validation and live preview. A definition the
 * engine refuses is answered with the engine's code, message and field; a contact is judged by the very
 * evaluation Check DNC runs (the same reasons and nextAllowedAt as DncService.check), in the callee's
 * zone, with caps and cooling-off said to be unchecked rather than invented.
 */
import assert from 'node:assert/strict';
import { DncError } from '../lib/errors';
import { definitionFrom, localText, previewPolicy, type PreviewResultOk } from '../lib/policy-preview';
import { preset } from '../lib/policy';
import { DncService } from '../lib/service';
import type { DncStore } from '../lib/store/types';

/** 2026-03-04 12:00 in San Francisco (PST, UTC-8). */
const NOON_SF = Date.parse('2026-03-04T20:00:00Z');
/** 2026-03-03 22:00 in San Francisco. */
const LATE_SF = Date.parse('2026-03-04T06:00:00Z');
const SF = '+14155550199';

function ok(result: ReturnType<typeof previewPolicy>): PreviewResultOk {
  assert.equal(result.ok, true, JSON.stringify(result));
  return result;
}

function emptyStore(): DncStore {
  const store: Partial<DncStore> = {
    status: () => ({ state: 'ready', contacts: 0, keys: 0, seq: 0 }),
    lookup: () => undefined,
    lookupAll: () => [],
    attempts: () => [],
  };
  return store as DncStore;
}

describe('policy preview (the calling policy dialog)', () => {
  it('a number inside the window is allowed now, in its own zone and local time', () => {
    const result = ok(
      previewPolicy({ preset: 'us-federal', contact: SF, channel: 'voice', at: NOON_SF }, () => NOON_SF),
    );
    assert.equal(result.name, 'US federal (TCPA / TSR)');
    assert.equal(result.allowed, true);
    assert.deepEqual(result.reasons, []);
    assert.equal(result.zone, 'America/Los_Angeles');
    assert.equal(result.localTime, '2026-03-04 12:00 Wed');
    assert.equal(result.nextAllowedAt, null);
    assert.deepEqual(result.history, { rules: 0, checked: false });
  });

  it("outside the window: blocked until the next window opens, in the callee's local time", () => {
    const result = ok(
      previewPolicy({ preset: 'us-federal', contact: SF, channel: 'voice', at: LATE_SF }, () => LATE_SF),
    );
    assert.equal(result.allowed, false);
    assert.deepEqual(
      result.reasons?.map((r) => r.code),
      ['OUTSIDE_CALLING_HOURS'],
    );
    assert.match(result.reasons[0].rule ?? '', /64\.1200/);
    assert.equal(result.localTime, '2026-03-03 22:00 Tue');
    assert.equal(result.nextAllowedAt, '2026-03-04T16:00:00.000Z');
    assert.equal(result.nextAllowedLocal, '2026-03-04 08:00 Wed');
  });

  it('answers what Check DNC answers for the same policy, contact, channel and instant', () => {
    const service = new DncService({ labels: [{ name: 'DNC' }], store: emptyStore() });
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const contacts = [SF, '+12125550123', '+33142685300', '+61212345678', '+447911123456', 'not a number'];
    for (const name of ['us-federal', 'france', 'australia-telemarketing', 'canada']) {
      for (let h = 0; h < 24; h += 5) {
        const at = hour + h * 3_600_000;
        for (const contact of contacts) {
          const decision = service.check(contact, { policy: name, channel: 'voice', at });
          const preview = ok(previewPolicy({ preset: name, contact, channel: 'voice', at }));
          const where = `${name} ${contact} ${new Date(at).toISOString()}`;
          assert.equal(preview.allowed, decision.allowed, where);
          assert.deepEqual(
            preview.reasons?.map((r) => [r.code, r.message]),
            decision.reasons.map((r) => [r.code, r.message]),
            where,
          );
          assert.equal(preview.nextAllowedAt, decision.nextAllowedAt ?? null, where);
        }
      }
    }
  });

  it('a number that cannot be parsed is blocked INVALID_CONTACT (fail closed)', () => {
    const result = ok(previewPolicy({ preset: 'us-federal', contact: '12ab', at: NOON_SF }, () => NOON_SF));
    assert.equal(result.allowed, false);
    assert.deepEqual(
      result.reasons?.map((r) => r.code),
      ['INVALID_CONTACT'],
    );
    assert.equal(result.zone, null);
    assert.equal(result.nextAllowedAt, null);
  });

  it('a callee whose zone cannot be found is blocked TIMEZONE_UNKNOWN unless the policy names a fallback', () => {
    const policy = { name: 'always', windows: { daily: ['00:00-24:00'] } };
    const blocked = ok(previewPolicy({ policy, contact: 'ana@example.com', channel: 'email' }));
    assert.equal(blocked.allowed, false);
    assert.deepEqual(
      blocked.reasons?.map((r) => r.code),
      ['TIMEZONE_UNKNOWN'],
    );
    assert.equal(blocked.zone, null);
    const fallback = ok(
      previewPolicy(
        {
          policy: { ...policy, timezoneFallback: 'Europe/Paris' },
          contact: 'ana@example.com',
          channel: 'email',
          at: NOON_SF,
        },
        () => NOON_SF,
      ),
    );
    assert.equal(fallback.allowed, true);
    assert.equal(fallback.zone, 'Europe/Paris');
    assert.equal(fallback.localTime, '2026-03-04 21:00 Wed');
  });

  it('a holiday blocks, naming it; caps and cooling-off are said to be unchecked, not invented', () => {
    const christmas = Date.parse('2026-12-25T10:30:00Z');
    const result = ok(
      previewPolicy(
        { preset: 'france', contact: '+33142685300', channel: 'voice', at: christmas },
        () => christmas,
      ),
    );
    assert.equal(result.allowed, false);
    assert.deepEqual(
      result.reasons?.map((r) => r.code),
      ['HOLIDAY'],
    );
    assert.equal(result.localTime, '2026-12-25 11:30 Fri');
    assert.equal(result.nextAllowedLocal, '2026-12-28 10:00 Mon');
    // 4 calls per 30 days and 60 days after a refusal: two rules the preview has no history for.
    assert.deepEqual(result.history, { rules: 2, checked: false });
  });

  it('without a contact: the definition compiled, its name given', () => {
    const result = ok(previewPolicy({ policy: '{"name":"mine","windows":{"mon-fri":["09:00-17:00"]}}' }));
    assert.equal(result.name, 'mine');
    assert.equal(result.allowed, undefined);
  });

  it('a definition the engine refuses: its code, message and field', () => {
    const badDay = previewPolicy({ policy: { windows: { funday: ['08:00-09:00'] } }, contact: SF });
    assert.deepEqual(badDay, {
      ok: false,
      error: {
        code: 'DNC_INVALID_INPUT',
        message: 'policy: unknown day "funday" (use mon..sun, a range such as mon-fri, or daily)',
        field: 'policy.windows',
      },
    });
    const badJson = previewPolicy({ policy: '{"windows": ' });
    assert.equal(badJson.ok, false);
    assert.equal(!badJson.ok && badJson.error.field, 'policy');
    assert.match(!badJson.ok ? badJson.error.message : '', /not valid JSON/);
    const badCap = previewPolicy({ policy: { caps: [{ limit: 0, hours: 24 }] } });
    assert.equal(!badCap.ok && badCap.error.field, 'policy.caps[0].limit');
    const noPreset = previewPolicy({ preset: 'atlantis' });
    assert.deepEqual(!noPreset.ok && noPreset.error, {
      code: 'DNC_INVALID_INPUT',
      message: 'no preset named "atlantis"',
      field: 'preset',
    });
    const badChannel = previewPolicy({ preset: 'us-federal', contact: SF, channel: 'Voice Mail!' });
    assert.equal(!badChannel.ok && badChannel.error.field, 'channel');
    const badAt = previewPolicy({ preset: 'us-federal', contact: SF, at: 'yesterday' });
    assert.equal(!badAt.ok && badAt.error.field, 'at');
  });

  it('definitionFrom: blank policy text is the preset as shipped; an array is refused', () => {
    assert.deepEqual(definitionFrom('  ', 'canada'), preset('canada'));
    assert.throws(
      () => definitionFrom([], ''),
      (err: unknown) => err instanceof DncError && err.field === 'policy',
    );
  });

  it('localText renders an instant in a zone', () => {
    assert.equal(localText(Date.parse('2026-07-01T23:30:00Z'), 'Asia/Tokyo'), '2026-07-02 08:30 Thu');
  });
});
