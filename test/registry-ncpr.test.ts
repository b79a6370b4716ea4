import assert from 'node:assert/strict';
import { DncError } from '../lib/errors';
import { decideNcpr, formatNcprPreference, parseNcprPreference } from '../lib/registries/ncpr';

function errorOf(fn: () => unknown): DncError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DncError);
    return err;
  }
  assert.fail('expected a DncError');
}

describe('India NCPR preferences', () => {
  it('reads 0 as fully blocked and lists of categories in the usual forms', () => {
    assert.deepEqual(parseNcprPreference(0), { fullyBlocked: true });
    assert.deepEqual(parseNcprPreference('0'), { fullyBlocked: true });
    assert.deepEqual(parseNcprPreference([0]), { fullyBlocked: true });
    const expected = { fullyBlocked: false, acceptedCategories: [1, 3, 8] };
    assert.deepEqual(parseNcprPreference([8, 1, 3, 3]), expected);
    assert.deepEqual(parseNcprPreference('1,3,8'), expected);
    assert.deepEqual(parseNcprPreference(' 3 1; 8 '), expected);
    assert.deepEqual(parseNcprPreference(['1', '3', '8']), expected);
    assert.deepEqual(parseNcprPreference({ fullyBlocked: false, acceptedCategories: [3, 1, 8] }), expected);
    assert.deepEqual(parseNcprPreference({ fullyBlocked: true }), { fullyBlocked: true });
    assert.equal(formatNcprPreference(parseNcprPreference('8,1,3')), '1,3,8');
    assert.equal(formatNcprPreference(parseNcprPreference(0)), '0');
  });

  it('rejects anything else with DNC_INVALID_INPUT on the ncpr field', () => {
    for (const bad of [
      [],
      [0, 3],
      9,
      -1,
      1.5,
      '1,x',
      '',
      'all',
      null,
      undefined,
      {},
      [true],
      { fullyBlocked: 'yes' },
    ]) {
      const error = errorOf(() => parseNcprPreference(bad));
      assert.equal(error.code, 'DNC_INVALID_INPUT', JSON.stringify(bad));
      assert.equal(error.field, 'ncpr');
    }
  });

  it('decides a campaign category against a preference', () => {
    const accepts = parseNcprPreference('1,3');
    assert.deepEqual(decideNcpr(accepts, 3), {
      allowed: true,
      reason: 'NCPR_CATEGORY_ACCEPTED',
      category: 3,
    });
    assert.deepEqual(decideNcpr(accepts, 2), {
      allowed: false,
      reason: 'NCPR_CATEGORY_BLOCKED',
      category: 2,
    });
    assert.deepEqual(decideNcpr(parseNcprPreference(0), 1), {
      allowed: false,
      reason: 'NCPR_FULLY_BLOCKED',
      category: 1,
    });
    assert.deepEqual(decideNcpr(null, 5), { allowed: true, reason: 'NCPR_NO_PREFERENCE', category: 5 });
    assert.equal(decideNcpr(accepts, '1').allowed, true);
    for (const bad of [0, 9, 'x', undefined, 2.5]) {
      assert.equal(errorOf(() => decideNcpr(accepts, bad)).field, 'category');
    }
  });
});
