export interface MoneyLike {
  amount: string;
  currencyCode: string;
}

const formats = new Map<string, Intl.NumberFormat>();

/** "24.90" USD → "$24.90" (en-US, so that every shopper sees the same). */
export function formatMoney(m: MoneyLike): string {
  let f = formats.get(m.currencyCode);
  if (!f) {
    try {
      f = new Intl.NumberFormat('en-US', { style: 'currency', currency: m.currencyCode });
    } catch {
      return `${m.amount} ${m.currencyCode}`;
    }
    formats.set(m.currencyCode, f);
  }
  return f.format(Number(m.amount));
}

/**
 * "24.90" → 2490: the API's amounts have two decimals (schema Money), so
 * sums and differences are done in integer minor units, never in floats.
 */
export function minorUnits(amount: string): number {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(amount.trim());
  if (!m) return NaN;
  const n = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -n : n;
}

/** 2490 → "24.90" in currencyCode (the inverse of minorUnits). */
export function fromMinorUnits(n: number, currencyCode: string): MoneyLike {
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  return { amount: `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`, currencyCode };
}

/** Whether an amount is zero ("0.00"). */
export const isZero = (m: MoneyLike) => minorUnits(m.amount) === 0;

/** −$8.00: what a discount or a gift card takes off (formatMoney of the amount, with a minus sign). */
export function formatDeduction(m: MoneyLike): string {
  return `−${formatMoney({ ...m, amount: m.amount.replace(/^-/, '') })}`;
}
