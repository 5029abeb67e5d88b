// Unit tests of the storefront's logic (no browser: `npm test`). The pages
// themselves are tested in a real browser by ../../e2e (make test-browser).
import { CombinedError, type Client } from '@urql/core';
import { describe, expect, it } from 'vitest';
import { formatCountdown, isNewer, type Cart } from '../cart/CartContext';
import { graphqlURL, websocketURL } from '../config';
import { ActionKeys, KEY_PATTERN, newIdempotencyKey } from '../idempotency';
import { formatMoney } from '../money';
import { mutate, parseRetryAfter, retryAfter, TransportError } from '../mutate';
import { describeRefusal } from '../refusals';

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
});

describe('cart news', () => {
  const cart = (updatedAt: string, status: Cart['status'] = 'ACTIVE', id = 'c') =>
    ({ id, status, updatedAt, expiresAt: updatedAt, totalQuantity: 0, subtotal: { amount: '0.00', currencyCode: 'USD' }, lines: [] }) as Cart;
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
