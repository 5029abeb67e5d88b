// Unit tests of the storefront's logic (no browser: `npm test`). The pages
// themselves are tested in a real browser by ../../e2e (make test-browser).
import { CombinedError, type Client } from '@urql/core';
import { describe, expect, it } from 'vitest';
import { formatCountdown, isNewer, type Cart } from '../cart/CartContext';
import { graphqlURL, websocketURL } from '../config';
import { ActionKeys, KEY_PATTERN, newIdempotencyKey } from '../idempotency';
import { parseSession } from '../account/session';
import { authHeaders } from '../client';
import { formatDeduction, formatMoney, fromMinorUnits, isZero, minorUnits } from '../money';
import { nextPath } from '../pages/AccountPage';
import { mutate, parseRetryAfter, retryAfter, TransportError } from '../mutate';
import type { ProductListFragment } from '../gql/graphql';
import { countText } from '../pages/CatalogPage';
import { fillPage, needsMore } from '../paging';
import { describeDiscountReason, describeMerge, describeRefusal, rateLimitedText } from '../refusals';
import { canBuy, initialSelection, pricesDiffer, variantFor } from '../variants';

describe('idempotency keys', () => {
  it('are what the API accepts, and new each time', () => {
    const a = newIdempotencyKey('add');
    expect(a).toMatch(KEY_PATTERN);
    expect(a.startsWith('add:')).toBe(true);
    expect(newIdempotencyKey('add')).not.toBe(a);
    expect(newIdempotencyKey('a b/c!')).toMatch(/^abc:/);
    expect(newIdempotencyKey('')).toMatch(/^op:/);
  });

  it('are reused by a retry of the same input until an answer comes', () => {
    const keys = new ActionKeys('update');
    const first = keys.keyFor({ cartId: 'c', quantity: 2 });
    expect(keys.keyFor({ cartId: 'c', quantity: 2 })).toBe(first);
    const other = keys.keyFor({ cartId: 'c', quantity: 3 });
    expect(other).not.toBe(first);
    keys.answered();
    expect(keys.keyFor({ cartId: 'c', quantity: 3 })).not.toBe(other);
  });
});

describe('URLs', () => {
  it('derive the websocket from the GraphQL URL', () => {
    expect(graphqlURL('/graphql', 'http://127.0.0.1:8080/shop/cart')).toBe('http://127.0.0.1:8080/graphql');
    expect(websocketURL('http://127.0.0.1:8080/graphql')).toBe('ws://127.0.0.1:8080/graphql');
    expect(websocketURL('https://shop.example/api/graphql?x=1')).toBe('wss://shop.example/api/graphql?x=1');
    expect(() => websocketURL('ftp://x/graphql')).toThrow(/scheme/);
  });
});

const rateLimited = (retryAfterHeader: string | null, retryAfterMs?: number) =>
  new CombinedError({
    graphQLErrors: [{ message: 'rate limited', extensions: { code: 'RATE_LIMITED', retryAfterMs } }],
    response: new Response('{}', { status: 429, headers: retryAfterHeader ? { 'Retry-After': retryAfterHeader } : {} }),
  });

describe('retries', () => {
  it('wait for Retry-After on RATE_LIMITED', () => {
    expect(retryAfter(rateLimited('2'), 1)).toEqual({ reason: 'rate-limited', delayMs: 2000 });
    expect(retryAfter(rateLimited(null, 1500), 1)).toEqual({ reason: 'rate-limited', delayMs: 1500 });
    expect(retryAfter(rateLimited('3600'), 1)?.delayMs).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('back off on no answer and on a server that is unavailable, never on other errors', () => {
    const network = new CombinedError({ networkError: new TypeError('Failed to fetch') });
    expect(retryAfter(network, 1)).toEqual({ reason: 'network', delayMs: 500 });
    expect(retryAfter(network, 3)).toEqual({ reason: 'network', delayMs: 2000 });
    const down = new CombinedError({
      graphQLErrors: [{ message: 'database unreachable', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
      response: new Response('{}', { status: 503, headers: { 'Retry-After': '1' } }),
    });
    expect(retryAfter(down, 1)).toEqual({ reason: 'unavailable', delayMs: 1000 });
    const invalid = new CombinedError({ graphQLErrors: [{ message: 'bad', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    expect(retryAfter(invalid, 1)).toBeUndefined();
  });

  it('resend the very same variables, idempotency key included', async () => {
    const sent: unknown[] = [];
    const answers = [
      { error: rateLimited('1') },
      { error: new CombinedError({ networkError: new TypeError('Failed to fetch') }) },
      { data: { ok: true } },
    ];
    const client = {
      mutation: (_doc: unknown, variables: unknown) => {
        sent.push(variables);
        return { toPromise: async () => answers.shift()! };
      },
    } as unknown as Client;
    const waits: number[] = [];
    const notices: string[] = [];
    const vars = { input: { cartId: 'c', idempotencyKey: 'add:1' } };
    const data = await mutate(client, {} as never, vars, {
      sleep: async (ms) => void waits.push(ms),
      onRetry: (n) => notices.push(n.reason),
    });
    expect(data).toEqual({ ok: true });
    expect(sent).toEqual([vars, vars, vars]);
    expect(waits).toEqual([1000, 1000]);
    expect(notices).toEqual(['rate-limited', 'network']);
  });

  it('give up after the last attempt with a message for the shopper', async () => {
    const client = {
      mutation: () => ({ toPromise: async () => ({ error: rateLimited('1') }) }),
    } as unknown as Client;
    const err = (await mutate(client, {} as never, {}, { attempts: 2, sleep: async () => {} }).catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.message).toMatch(/busy/);
  });
});

describe('a rate limit meant to stop guessing', () => {
  it('is told, not waited out, when the caller says so', async () => {
    let calls = 0;
    const client = {
      mutation: () => ({ toPromise: async () => (calls++, { error: rateLimited('9') }) }),
    } as unknown as Client;
    const err = (await mutate(client, {} as never, {}, { retryRateLimited: false, sleep: async () => {} }).catch((e: unknown) => e)) as TransportError;
    expect(calls).toBe(1);
    expect(err.reason).toBe('rate-limited');
    expect(err.retryAfterMs).toBe(9000);
    expect(rateLimitedText('gift card attempts', err.retryAfterMs)).toBe('Too many gift card attempts: please wait 9 s and try again.');
  });
});

describe('refusals', () => {
  const e = (code: string, extra: object = {}) =>
    ({ code, message: 'msg', field: null, available: null, ...extra }) as Parameters<typeof describeRefusal>[0];
  it('say what a shopper can do', () => {
    expect(describeRefusal(e('INSUFFICIENT_STOCK', { available: 0 }))).toMatch(/sold out/);
    expect(describeRefusal(e('INSUFFICIENT_STOCK', { available: 3 }))).toMatch(/^Only 3 left/);
    expect(describeRefusal(e('CART_LIMIT_EXCEEDED', { message: 'a cart line may not hold that many units (MAX_LINE_QUANTITY)' })))
      .toBe('Sorry, that is more than one cart may hold: a cart line may not hold that many units.');
    expect(describeRefusal(e('INVALID_INPUT', { field: ['input', 'email'] }))).toMatch(/email/);
    expect(describeRefusal(e('CART_EXPIRED'))).toMatch(/expired/);
  });

  it('say what a limit per customer leaves, and when signing in is needed', () => {
    expect(describeRefusal(e('PER_CUSTOMER_LIMIT', { available: 0 }), { limitPerCustomer: 1 }))
      .toBe('Limited to 1 per customer: you already have 1 in your cart or orders.');
    expect(describeRefusal(e('PER_CUSTOMER_LIMIT', { available: 2 }), { limitPerCustomer: 3 }))
      .toBe('Limited to 3 per customer: you can add 2 more.');
    expect(describeRefusal(e('PER_CUSTOMER_LIMIT', { available: 0 }))).toMatch(/^This product is limited per customer/);
    expect(describeRefusal(e('CUSTOMER_REQUIRED'), { action: 'add' })).toBe('Sign in to buy this product: it is limited per customer.');
    expect(describeRefusal(e('CUSTOMER_REQUIRED'), { action: 'discount' })).toMatch(/^Sign in to use this code/);
  });

  it('explain account, discount and gift card refusals in words', () => {
    for (const code of [
      'EMAIL_TAKEN', 'INVALID_CREDENTIALS', 'PASSWORD_TOO_WEAK', 'DISCOUNT_CODE_NOT_FOUND', 'DISCOUNT_CODE_NOT_ACTIVE',
      'DISCOUNT_CODE_EXHAUSTED', 'DISCOUNT_CODE_ALREADY_USED', 'MINIMUM_SUBTOTAL_NOT_MET', 'GIFT_CARD_NOT_FOUND',
      'GIFT_CARD_EMPTY', 'GIFT_CARD_CURRENCY_MISMATCH',
    ]) {
      const text = describeRefusal(e(code, { message: 'raw server message' }));
      expect(text, code).not.toBe('Raw server message');
      expect(text, code).not.toMatch(/[A-Z]{2,}_[A-Z]/);
    }
    expect(describeRefusal(e('DISCOUNT_CODE_EXHAUSTED'))).toMatch(/no uses left/);
    expect(describeDiscountReason('MINIMUM_SUBTOTAL_NOT_MET')).toMatch(/below the minimum/);
    expect(describeDiscountReason('DISCOUNT_CODE_NOT_APPLICABLE')).toMatch(/eligible/);
  });

  it('tell what a sign-in merge kept', () => {
    const names = new Map([['7', 'Wool cap']]);
    const w = (code: 'CART_MERGED' | 'MERGE_QUANTITY_REDUCED', extra: object = {}) =>
      ({ code, message: '', productId: null, requested: null, reserved: null, cartId: null, ...extra });
    expect(describeMerge([], names)).toEqual([]);
    expect(describeMerge([
      w('CART_MERGED', { cartId: 'c2' }),
      w('MERGE_QUANTITY_REDUCED', { productId: '7', requested: 5, reserved: 2, message: 'merging kept 2 of 5 units (MAX_LINE_QUANTITY); the rest were released' }),
      w('MERGE_QUANTITY_REDUCED', { productId: '8', requested: 1, reserved: 0, message: "merging kept 0 of 1 units (the product's limit per customer); the rest were released" }),
    ], names)).toEqual([
      'The items you added before signing in are now in your account’s cart, with what it already held.',
      'Wool cap: we kept 2 of the 5 you had added (a cart line may not hold more); the rest went back on the shelf.',
      "A product: we could not keep the 1 you had added (the product's limit per customer); they went back on the shelf.",
    ]);
  });
});

describe('money in minor units', () => {
  it('adds up without floats', () => {
    expect(minorUnits('24.90')).toBe(2490);
    expect(minorUnits('0.1')).toBe(10);
    expect(minorUnits('-5.00')).toBe(-500);
    expect(minorUnits('1,000.00')).toBeNaN();
    expect(fromMinorUnits(30, 'USD')).toEqual({ amount: '0.30', currencyCode: 'USD' });
    expect(fromMinorUnits(['19.99', '0.01', '80.00'].reduce((n, a) => n + minorUnits(a), 0), 'USD').amount).toBe('100.00');
    expect(fromMinorUnits(-1205, 'USD').amount).toBe('-12.05');
    expect(isZero({ amount: '0.00', currencyCode: 'USD' })).toBe(true);
    expect(formatDeduction({ amount: '12.00', currencyCode: 'USD' })).toBe('−$12.00');
  });
});

describe('a customer session', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const stored = (expiresAt: string) => JSON.stringify({ accessToken: 'hfc_x', expiresAt, email: 'ada@example.com' });
  it('is kept until its token expires, and goes with every request', () => {
    expect(parseSession(stored('2026-01-31T00:00:00Z'), now)).toEqual({ accessToken: 'hfc_x', expiresAt: '2026-01-31T00:00:00Z', email: 'ada@example.com' });
    expect(parseSession(stored('2025-12-31T00:00:00Z'), now)).toBeNull();
    expect(parseSession('{"accessToken":1}', now)).toBeNull();
    expect(parseSession('not json', now)).toBeNull();
    expect(parseSession(null, now)).toBeNull();
    expect(authHeaders('hfc_x')).toEqual({ Authorization: 'Bearer hfc_x' });
    expect(authHeaders(null)).toEqual({});
  });
  it('goes back where the shopper was after signing in, never off the shop', () => {
    expect(nextPath('/products/print', false)).toBe('/products/print');
    expect(nextPath(null, true)).toBe('/cart');
    expect(nextPath(null, false)).toBe('/account');
    expect(nextPath('//evil.example/x', false)).toBe('/account');
    expect(nextPath('https://evil.example/', true)).toBe('/cart');
    expect(nextPath('/account', false)).toBe('/account');
  });
});

const usd = (amount: string) => ({ amount, currencyCode: 'USD' });

describe('cart news', () => {
  const cart = (updatedAt: string, status: Cart['status'] = 'ACTIVE', id = 'c') =>
    ({
      id, status, updatedAt, expiresAt: updatedAt, totalQuantity: 0, lines: [], discounts: [], giftCards: [],
      subtotal: usd('0.00'), discountTotal: usd('0.00'), total: usd('0.00'),
    }) as Cart;
  it('keeps the newest state of a cart', () => {
    expect(isNewer(null, cart('2026-01-01T00:00:00Z'))).toBe(true);
    expect(isNewer(cart('2026-01-01T00:00:01Z'), cart('2026-01-01T00:00:00Z'))).toBe(false);
    expect(isNewer(cart('2026-01-01T00:00:00Z'), cart('2026-01-01T00:00:01Z'))).toBe(true);
    expect(isNewer(cart('2026-01-01T00:00:00Z'), cart('2026-01-01T00:00:00Z', 'EXPIRED'))).toBe(true);
    expect(isNewer(cart('2026-01-01T00:00:00Z', 'EXPIRED'), cart('2026-01-01T00:00:00Z'))).toBe(false);
    expect(isNewer(cart('2026-01-01T00:00:09Z'), cart('2026-01-01T00:00:00Z', 'ACTIVE', 'd'))).toBe(true);
  });
  it('formats what is left', () => {
    expect(formatCountdown(754_000)).toBe('12:34');
    expect(formatCountdown(4_200)).toBe('0:05');
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatMoney({ amount: '24.90', currencyCode: 'USD' })).toBe('$24.90');
  });
});

describe('a group\'s option pickers', () => {
  const options = [
    { name: 'Size', values: ['S', 'M', 'L'] },
    { name: 'Colour', values: ['Black', 'White'] },
  ];
  const v = (id: string, size: string, colour: string, available: number) => ({
    id,
    available,
    selectedOptions: [{ name: 'Size', value: size }, { name: 'Colour', value: colour }],
  });
  // No white L; black S sold out.
  const variants = [v('1', 'S', 'Black', 0), v('2', 'S', 'White', 4), v('3', 'M', 'Black', 2), v('4', 'M', 'White', 1), v('5', 'L', 'Black', 3)];

  it('name the variant with every chosen value, and none until all are chosen', () => {
    expect(variantFor(options, variants, { Size: 'M', Colour: 'White' })?.id).toBe('4');
    expect(variantFor(options, variants, { Size: 'L', Colour: 'White' })).toBeNull();
    expect(variantFor(options, variants, { Size: 'M' })).toBeNull();
  });

  it('disable the values nobody can buy with the others chosen', () => {
    const sel = { Size: 'S', Colour: 'Black' };
    const buyable = (option: string, value: string, levels = {}) => canBuy(options, variants, sel, option, value, levels);
    expect(options[0].values.map((s) => buyable('Size', s))).toEqual([false, true, true]);
    expect(options[1].values.map((c) => buyable('Colour', c))).toEqual([false, true]);
    // Nothing chosen for the other option: any variant with the value counts.
    expect(canBuy(options, variants, {}, 'Size', 'S')).toBe(true);
    expect(canBuy(options, variants, { Size: 'L' }, 'Colour', 'White')).toBe(false);
  });

  it('follow the live levels over the loaded ones', () => {
    const sel = { Size: 'M', Colour: 'Black' };
    expect(canBuy(options, variants, sel, 'Size', 'M')).toBe(true);
    expect(canBuy(options, variants, sel, 'Size', 'M', { '3': 0 })).toBe(false);
    expect(canBuy(options, variants, sel, 'Size', 'S', { '1': 5 })).toBe(true);
  });

  it('start at the first variant with units left', () => {
    expect(initialSelection(variants)).toEqual({ Size: 'S', Colour: 'White' });
    expect(initialSelection(variants, { '2': 0 })).toEqual({ Size: 'M', Colour: 'Black' });
    expect(initialSelection([])).toEqual({});
  });

  it('say "from" only when the prices differ', () => {
    const usd = (amount: string) => ({ amount, currencyCode: 'USD' });
    expect(pricesDiffer({ min: usd('24.90'), max: usd('24.90') })).toBe(false);
    expect(pricesDiffer({ min: usd('189.00'), max: usd('199.00') })).toBe(true);
  });
});

describe('the catalog count', () => {
  it('says what the listing holds', () => {
    expect(countText(1, 0)).toBe('1 product');
    expect(countText(10, 0)).toBe('10 products');
    expect(countText(12, 2)).toBe('2 articles · 12 products (variants included)');
    expect(countText(2, 1)).toBe('1 article · 2 products (variants included)');
  });
});

describe('catalog pages without the grouped products', () => {
  // Products 1..n in order; those in `grouped` are variants. Pages of the
  // API, forward (after) and backward (before), by cursor "c<i>".
  const api = (n: number, grouped: Set<number>) => {
    const edge = (i: number) => ({
      cursor: `c${i}`,
      node: { id: String(i), handle: `p${i}`, name: `P${i}`, available: 1, price: { amount: '1.00', currencyCode: 'USD' }, images: [], group: grouped.has(i) ? { id: 'g' } : null },
    });
    const page = (from: number, to: number) => ({
      totalCount: n,
      edges: Array.from({ length: Math.max(0, to - from + 1) }, (_, k) => edge(from + k)),
      pageInfo: { hasPreviousPage: from > 1, hasNextPage: to < n, startCursor: `c${from}`, endCursor: `c${to}` },
    });
    const calls: string[] = [];
    return {
      calls,
      first: (size: number, after = 0) => page(after + 1, Math.min(n, after + size)),
      last: (size: number, before = n + 1) => page(Math.max(1, before - size), before - 1),
      forward: (size: number) => async (cursor: string) => {
        calls.push(`after ${cursor}`);
        const after = Number(cursor.slice(1));
        return page(after + 1, Math.min(n, after + size));
      },
      backward: (size: number) => async (cursor: string) => {
        calls.push(`before ${cursor}`);
        const before = Number(cursor.slice(1));
        return page(Math.max(1, before - size), before - 1);
      },
    };
  };
  const ids = (p: ProductListFragment) => p.edges.map((e) => Number(e.node.id));

  it('fill a page forward from the next ones, and page on after the last kept', async () => {
    // 13 products, 2 and 6..13 grouped: the demo catalog.
    const a = api(13, new Set([2, 6, 7, 8, 9, 10, 11, 12, 13]));
    const p1 = a.first(4);
    expect(needsMore(p1, 'forward', 4)).toBe(true);
    const got = await fillPage(p1, 'forward', 4, a.forward(4));
    expect(ids(got)).toEqual([1, 3, 4, 5]);
    // Not trimmed: the next page starts after the variants 6..8 too.
    expect(got.pageInfo).toEqual({ hasPreviousPage: false, startCursor: 'c1', hasNextPage: true, endCursor: 'c8' });
    const rest = await fillPage(a.first(4, 8), 'forward', 4, a.forward(4));
    expect(ids(rest)).toEqual([]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it('trim a page to its size, its cursor on the last product kept', async () => {
    const a = api(10, new Set([1, 2, 3]));
    const got = await fillPage(a.first(4), 'forward', 4, a.forward(4));
    expect(ids(got)).toEqual([4, 5, 6, 7]);
    expect(got.pageInfo).toMatchObject({ hasNextPage: true, endCursor: 'c7' });
    expect(a.calls).toEqual(['after c4']);
  });

  it('fill backward likewise', async () => {
    const a = api(10, new Set([7, 8, 9]));
    const got = await fillPage(a.last(4), 'backward', 4, a.backward(4));
    expect(ids(got)).toEqual([4, 5, 6, 10]);
    expect(got.pageInfo).toMatchObject({ hasPreviousPage: true, startCursor: 'c4', hasNextPage: false });
  });

  it('stop after a few requests, or when one fails', async () => {
    const a = api(40, new Set(Array.from({ length: 39 }, (_, i) => i + 1)));
    const got = await fillPage(a.first(4), 'forward', 4, a.forward(4), 3);
    expect(ids(got)).toEqual([]);
    expect(got.pageInfo).toMatchObject({ hasNextPage: true, endCursor: 'c12' });
    expect(a.calls).toHaveLength(2);
    const failed = await fillPage(a.first(4), 'forward', 4, async () => {
      throw new Error('down');
    });
    expect(failed.pageInfo).toMatchObject({ hasNextPage: true, endCursor: 'c4' });
    expect(needsMore(api(3, new Set([1])).first(4), 'forward', 4)).toBe(false);
  });
});
