// Helpers of the storefront's browser tests: a watch on what a page loads
// and logs, and the admin API for setting up products.
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import * as path from 'node:path';

export const ADMIN_TOKEN = process.env.HOLDFAST_ADMIN_TOKEN ?? '';

/** Where the tests write the README's screenshots. */
export const screenshotPath = (name: string) => path.join(__dirname, '..', '..', '..', 'docs', 'img', name);

export type Watch = {
  offOrigin: string[];
  consoleErrors: string[];
  pageErrors: string[];
  cspViolations: () => Promise<string[]>;
};

// watch blocks (and records) every request that leaves the page's origin,
// and collects console errors, uncaught exceptions and CSP violations.
export async function watch(page: Page, origin: string): Promise<Watch> {
  const w: Watch = {
    offOrigin: [],
    consoleErrors: [],
    pageErrors: [],
    cspViolations: async () => page.evaluate(() => (window as any).__cspViolations as string[]),
  };
  const host = new URL(origin).host;
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    // data: images are not requests; anything else must be the server's.
    if (url.origin !== new URL(origin).origin) {
      w.offOrigin.push(route.request().url());
      return route.abort('blockedbyclient');
    }
    return route.fallback();
  });
  page.on('request', (req) => {
    const u = req.url();
    if (/^(https?|wss?):/.test(u) && new URL(u).host !== host && !w.offOrigin.includes(u)) w.offOrigin.push(u);
  });
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).host !== host) w.offOrigin.push(ws.url());
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') w.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => w.pageErrors.push(String(err)));
  await page.addInitScript(() => {
    const v: string[] = ((window as any).__cspViolations = []);
    document.addEventListener('securitypolicyviolation', (e) => {
      v.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return w;
}

/** No request beyond the server, no CSP violation, no error; allowed: console errors that match. */
export async function expectClean(w: Watch, allowed?: RegExp) {
  expect(w.offOrigin, 'requests beyond the server').toEqual([]);
  expect(await w.cspViolations(), 'CSP violations').toEqual([]);
  expect(w.pageErrors, 'uncaught exceptions').toEqual([]);
  expect(w.consoleErrors.filter((e) => !allowed?.test(e)), 'console errors').toEqual([]);
}

export async function gql(request: APIRequestContext, query: string, variables: object = {}, admin = false) {
  const r = await request.post('/graphql', {
    data: { query, variables },
    headers: admin ? { Authorization: `Bearer ${ADMIN_TOKEN}` } : {},
  });
  expect(r.status(), await r.text()).toBe(200);
  const body = await r.json();
  expect(body.errors).toBeUndefined();
  return body.data;
}

/** A square SVG placeholder as a data: URL, like the demo catalog's. */
export function svgImage(colour: string, label: string): string {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400">` +
    `<rect width="400" height="400" fill="${colour}"/>` +
    `<text x="200" y="215" font-family="sans-serif" font-size="56" fill="#fff" text-anchor="middle">${label}</text></svg>`;
  return 'data:image/svg+xml;base64,' + Buffer.from(svg).toString('base64');
}

export type NewProduct = {
  name: string;
  handle: string;
  sku?: string;
  price?: string;
  stock: number;
  description?: string;
  images?: { url: string; altText: string }[];
  /** A variant of this group, with its value of each option. */
  groupId?: string;
  selectedOptions?: { name: string; value: string }[];
  /** At most this many units per customer (only customers' carts may add it). */
  limitPerCustomer?: number;
};

export type Product = { id: string; handle: string; name: string };

export async function createProduct(request: APIRequestContext, p: NewProduct): Promise<Product> {
  const data = await gql(
    request,
    `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id handle name } userErrors { code message } } }`,
    {
      in: {
        sku: p.sku ?? p.handle.toUpperCase(),
        name: p.name,
        handle: p.handle,
        description: p.description,
        priceAmount: p.price ?? '10.00',
        currencyCode: 'USD',
        stock: p.stock,
        images: p.images ?? [{ url: svgImage('#334155', p.name.split(' ')[0]), altText: p.name }],
        groupId: p.groupId,
        selectedOptions: p.selectedOptions,
        limitPerCustomer: p.limitPerCustomer,
      },
    },
    true,
  );
  expect(data.createProduct.userErrors).toEqual([]);
  return data.createProduct.product;
}

export type NewGroup = {
  title: string;
  handle: string;
  options: { name: string; values: string[] }[];
  images?: { url: string; altText: string }[];
};

export async function createGroup(request: APIRequestContext, g: NewGroup): Promise<{ id: string; handle: string }> {
  const data = await gql(
    request,
    `mutation($in: CreateProductGroupInput!) { createProductGroup(input: $in) { productGroup { id handle } userErrors { code message } } }`,
    { in: { ...g, images: g.images ?? [{ url: svgImage('#334155', g.title.split(' ')[0]), altText: g.title }] } },
    true,
  );
  expect(data.createProductGroup.userErrors).toEqual([]);
  return data.createProductGroup.productGroup;
}

export async function adjustStock(request: APIRequestContext, productId: string, delta: number) {
  const data = await gql(
    request,
    `mutation($in: AdjustStockInput!) { adjustStock(input: $in) { userErrors { code message } } }`,
    { in: { productId, delta, reason: 'e2e' } },
    true,
  );
  expect(data.adjustStock.userErrors).toEqual([]);
}

export async function stockOf(request: APIRequestContext, productId: string) {
  const data = await gql(request, `query($id: ID!) { product(id: $id) { available stock held } }`, { id: productId }, true);
  return data.product as { available: number; stock: number; held: number };
}

export type NewDiscountCode = {
  code: string;
  kind: 'PERCENTAGE' | 'FIXED_AMOUNT';
  value: string;
  currencyCode?: string;
  minimumSubtotalAmount?: string;
  usageLimit?: number;
  oncePerCustomer?: boolean;
};

export async function createDiscountCode(request: APIRequestContext, d: NewDiscountCode): Promise<{ id: string; code: string }> {
  const data = await gql(
    request,
    `mutation($in: CreateDiscountCodeInput!) { createDiscountCode(input: $in) { discountCode { id code } userErrors { code message } } }`,
    { in: d },
    true,
  );
  expect(data.createDiscountCode.userErrors).toEqual([]);
  return data.createDiscountCode.discountCode;
}

export async function discountUses(request: APIRequestContext, id: string): Promise<{ usesHeld: number; usesCount: number }> {
  // discountCodes lists newest first; the tests' codes are among the newest.
  const data = await gql(request, `{ discountCodes(first: 100) { edges { node { id usesHeld usesCount } } } }`, {}, true);
  const node = data.discountCodes.edges.map((e: { node: { id: string } }) => e.node).find((n: { id: string }) => n.id === id);
  expect(node, `discount code ${id}`).toBeTruthy();
  return { usesHeld: node.usesHeld, usesCount: node.usesCount };
}

/** A gift card of initialValue USD; its code is shown this once. */
export async function createGiftCard(request: APIRequestContext, initialValue: string): Promise<{ id: string; code: string; lastCharacters: string }> {
  const data = await gql(
    request,
    `mutation($in: CreateGiftCardInput!) { createGiftCard(input: $in) { giftCard { id lastCharacters } code userErrors { code message } } }`,
    { in: { initialValue, currencyCode: 'USD' } },
    true,
  );
  expect(data.createGiftCard.userErrors).toEqual([]);
  return { ...data.createGiftCard.giftCard, code: data.createGiftCard.code };
}

export async function giftCardBalance(request: APIRequestContext, id: string): Promise<{ balance: string; held: string }> {
  const data = await gql(request, `query($id: ID!) { giftCard(id: $id) { balance { amount } held { amount } } }`, { id }, true);
  return { balance: data.giftCard.balance.amount, held: data.giftCard.held.amount };
}

/** The product page's add-to-cart: quantity, then the button. */
export async function addToCart(page: Page, quantity: number) {
  await page.getByLabel('Quantity', { exact: true }).fill(String(quantity));
  await page.getByRole('button', { name: 'Add to cart' }).click();
}

/** What the last add-to-cart said. */
export const addStatus = (page: Page) => page.locator('.add-status .notice');
export const cartCount = (page: Page) => page.getByTestId('cart-count');
/** A cart page's line of a product. */
export const cartLine = (page: Page, p: { handle: string }) => page.locator(`[data-testid="cart-line"][data-product="${p.handle}"]`);
export const lineQuantity = (page: Page, p: { handle: string }) => cartLine(page, p).getByLabel('Quantity', { exact: true });

/** "$1,234.50" or "−$8.00" → minor units (negative for a deduction). */
export function cents(text: string): number {
  const m = /^\s*([−-])?\$([\d,]+)\.(\d\d)\s*$/.exec(text);
  if (!m) throw new Error(`not an amount in dollars: ${JSON.stringify(text)}`);
  const n = Number(m[2].replace(/,/g, '')) * 100 + Number(m[3]);
  return m[1] ? -n : n;
}
