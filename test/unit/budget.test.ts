import { describe, expect, it } from 'vitest';
import {
  MIN_MEASURED_ITEMS,
  budgetState,
  chunkCapUsd,
  decideDispatch,
  overshootUsd,
  reservedOutputTokens,
  shouldSwitchModel,
  type Ledger,
} from '../../src/domain/budget.ts';

const ledger = (over: Partial<Ledger> = {}): Ledger => ({ limitUsd: 40, spentUsd: 0, reservedUsd: 0, warnAt: 0.8, ...over });

describe('budgetState', () => {
  it('is none without a limit, whatever was spent', () => {
    expect(budgetState(ledger({ limitUsd: undefined, spentUsd: 1e6 }))).toBe('none');
  });

  it('turns yellow at warnAt and red at 100%, inclusive', () => {
    expect(budgetState(ledger({ spentUsd: 0 }))).toBe('green');
    expect(budgetState(ledger({ spentUsd: 31.99 }))).toBe('green');
    expect(budgetState(ledger({ spentUsd: 32 }))).toBe('yellow');
    expect(budgetState(ledger({ spentUsd: 39.99 }))).toBe('yellow');
    expect(budgetState(ledger({ spentUsd: 40 }))).toBe('red');
    expect(budgetState(ledger({ spentUsd: 41.5 }))).toBe('red');
  });

  it('counts spend only, not reservations', () => {
    expect(budgetState(ledger({ spentUsd: 10, reservedUsd: 30 }))).toBe('green');
  });
});

describe('overshootUsd', () => {
  it('is how far spend went past the limit, never negative', () => {
    expect(overshootUsd(ledger({ spentUsd: 30 }))).toBe(0);
    expect(overshootUsd(ledger({ spentUsd: 40 }))).toBe(0);
    expect(overshootUsd(ledger({ spentUsd: 42.5 }))).toBe(2.5);
    expect(overshootUsd(ledger({ limitUsd: undefined, spentUsd: 99 }))).toBe(0);
  });
});

describe('decideDispatch', () => {
  it('dispatches with the full reservation when the work fits (boundary included)', () => {
    expect(decideDispatch(ledger({ spentUsd: 10, reservedUsd: 20 }), { pending: 100, usd: 5 })).toEqual({ kind: 'dispatch', reserveUsd: 5 });
    // 10 + 20 + 10 = 40: exactly the limit still fits.
    expect(decideDispatch(ledger({ spentUsd: 10, reservedUsd: 20 }), { pending: 100, usd: 10 })).toEqual({ kind: 'dispatch', reserveUsd: 10 });
  });

  it('waits when it does not fit but reservations are in flight', () => {
    expect(decideDispatch(ledger({ spentUsd: 10, reservedUsd: 20 }), { pending: 100, usd: 10.5 })).toEqual({ kind: 'wait' });
    // Even when nothing at all is left, chunks in flight may give back their reservations.
    expect(decideDispatch(ledger({ spentUsd: 39, reservedUsd: 1 }), { pending: 10, usd: 1 })).toEqual({ kind: 'wait' });
  });

  it('dispatches the part that fits when nothing is in flight', () => {
    // 100 items at $0.25 each = $25; $7.90 is available → 31 items, $7.75 reserved.
    const d = decideDispatch(ledger({ spentUsd: 32.1 }), { pending: 100, usd: 25 });
    expect(d.kind).toBe('dispatch');
    if (d.kind !== 'dispatch') return;
    expect(d.maxItems).toBe(31);
    expect(d.reserveUsd).toBeCloseTo(7.75, 10);
    expect(d.reserveUsd).toBeLessThanOrEqual(40 - 32.1);
  });

  it('is exhausted when not even one item fits and nothing is in flight', () => {
    // $0.20 available, $0.25 per item.
    expect(decideDispatch(ledger({ spentUsd: 39.8 }), { pending: 100, usd: 25 })).toEqual({ kind: 'exhausted' });
    // Past the limit: available is negative.
    expect(decideDispatch(ledger({ spentUsd: 41 }), { pending: 100, usd: 25 })).toEqual({ kind: 'exhausted' });
  });

  it('dispatches anything without a limit, and empty work always', () => {
    expect(decideDispatch(ledger({ limitUsd: undefined, spentUsd: 1e6, reservedUsd: 1e6 }), { pending: 10, usd: 3 })).toEqual({
      kind: 'dispatch',
      reserveUsd: 3,
    });
    expect(decideDispatch(ledger({ spentUsd: 45 }), { pending: 0, usd: 0 })).toEqual({ kind: 'dispatch', reserveUsd: 0 });
  });
});

describe('reservedOutputTokens', () => {
  it('stays at max_tokens (undefined) below MIN_MEASURED_ITEMS', () => {
    expect(MIN_MEASURED_ITEMS).toBe(20);
    expect(reservedOutputTokens({ items: 0, completionTokens: 0 }, 0.25)).toBeUndefined();
    expect(reservedOutputTokens({ items: 19, completionTokens: 1900 }, 0.25)).toBeUndefined();
  });

  it('is the measured mean plus the margin, rounded up, from MIN_MEASURED_ITEMS on', () => {
    // 2,010 / 20 = 100.5 → × 1.25 = 125.625 → 126.
    expect(reservedOutputTokens({ items: 20, completionTokens: 2010 }, 0.25)).toBe(126);
    // 3,000 / 30 = 100 → × 1.1 = 110 (110.00000000000001 in floats, which must not round up to 111).
    expect(reservedOutputTokens({ items: 30, completionTokens: 3000 }, 0.1)).toBe(110);
    expect(reservedOutputTokens({ items: 20, completionTokens: 2001 }, 0.1)).toBe(111); // 100.05 × 1.1 = 110.055
    expect(reservedOutputTokens({ items: 40, completionTokens: 4000 }, 0)).toBe(100);
    // Never below one token.
    expect(reservedOutputTokens({ items: 25, completionTokens: 0 }, 0.25)).toBe(1);
  });
});

describe('chunkCapUsd', () => {
  it('is the reservation times the factor', () => {
    expect(chunkCapUsd(8, 1.5)).toBe(12);
  });
});

describe('shouldSwitchModel', () => {
  it('switches once, from yellow on, when a fallback is given', () => {
    expect(shouldSwitchModel('green', 'gpt-4o-mini', false)).toBe(false);
    expect(shouldSwitchModel('none', 'gpt-4o-mini', false)).toBe(false);
    expect(shouldSwitchModel('yellow', 'gpt-4o-mini', false)).toBe(true);
    expect(shouldSwitchModel('red', 'gpt-4o-mini', false)).toBe(true);
    expect(shouldSwitchModel('yellow', 'gpt-4o-mini', true)).toBe(false);
    expect(shouldSwitchModel('yellow', undefined, false)).toBe(false);
  });
});
