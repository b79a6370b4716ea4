import assert from 'node:assert/strict';
import { summarise } from '../lib/batch-summary';
import type { Decision, Reason } from '../lib/decision';

function blocked(contact: string, reasons: Reason[], matched: string[] = []): Decision {
  return {
    allowed: false,
    contact,
    keys: [contact],
    channel: null,
    labels: [],
    matched,
    reasons,
    checkedAt: 'now',
  };
}

describe('batch summary', () => {
  it('counts a contact once per reason code, even when its reasons of one code are not adjacent', () => {
    // Two registries listing a number with a third that cannot answer between them (completeSync
    // appends one reason per registry and number, in plan order).
    const decisions: Decision[] = [
      blocked('+12015550123', [
        { code: 'REGISTRY', message: 'on A' },
        { code: 'REGISTRY_UNAVAILABLE', message: 'B cannot answer' },
        { code: 'REGISTRY', message: 'on C' },
      ]),
      blocked(
        '+12015550124',
        [
          { code: 'LABEL', message: 'DNC', label: 'DNC' },
          { code: 'LABEL', message: 'DNC_Sales', label: 'DNC_Sales' },
        ],
        ['DNC', 'DNC_Sales'],
      ),
      { ...blocked('+12015550125', []), allowed: true },
    ];
    const result = summarise(['a', 'b', 'c'], decisions, 'now');
    assert.deepEqual(result.summary, {
      total: 3,
      allowed: 1,
      blocked: 2,
      reasons: { REGISTRY: 1, REGISTRY_UNAVAILABLE: 1, LABEL: 1 },
      labels: { DNC: 1, DNC_Sales: 1 },
    });
    assert.deepEqual(result.allowed, ['c']);
    assert.deepEqual(
      result.blocked.map((b) => b.item),
      ['a', 'b'],
    );
  });
});
