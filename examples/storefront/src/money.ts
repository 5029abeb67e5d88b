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
