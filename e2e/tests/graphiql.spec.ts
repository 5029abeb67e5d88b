// GraphiQL, as served at / by httpapi/graphiql: it loads from the server
// alone, runs the example query and a subscription, and breaks no rule of
// its Content-Security-Policy.
import { test, expect, type Page, type APIRequestContext } from '@playwright/test';
import * as path from 'node:path';

const server = new URL(process.env.HOLDFAST_URL!);
const SCREENSHOT = path.join(__dirname, '..', '..', 'docs', 'img', 'graphiql.png');

type Watch = {
  offOrigin: string[]; // requests (and websockets) to anywhere but the server
  consoleErrors: string[];
  pageErrors: string[];
  cspViolations: () => Promise<string[]>;
  websockets: string[];
};

// watch blocks and records every request that leaves the server's origin
// and collects console errors, uncaught exceptions and CSP violations.
async function watch(page: Page): Promise<Watch> {
  const w: Watch = {
    offOrigin: [],
    consoleErrors: [],
    pageErrors: [],
    websockets: [],
    cspViolations: async () =>
      page.evaluate(() => (window as any).__cspViolations as string[]),
  };
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== server.origin) {
      w.offOrigin.push(route.request().url());
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  page.on('request', (req) => {
    const u = req.url();
    if (/^(https?|wss?):/.test(u) && new URL(u).origin !== server.origin && !w.offOrigin.includes(u)) {
      w.offOrigin.push(u);
    }
  });
  page.on('websocket', (ws) => {
    w.websockets.push(ws.url());
    const u = new URL(ws.url());
    if (u.host !== server.host) w.offOrigin.push(ws.url());
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') w.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => w.pageErrors.push(String(err)));
  // Runs before the page's own scripts (and is not subject to its CSP).
  await page.addInitScript(() => {
    const v: string[] = ((window as any).__cspViolations = []);
    document.addEventListener('securitypolicyviolation', (e) => {
      v.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return w;
}

async function expectClean(w: Watch) {
  expect(w.offOrigin, 'requests beyond the server').toEqual([]);
  expect(await w.cspViolations(), 'CSP violations').toEqual([]);
  expect(w.pageErrors, 'uncaught exceptions').toEqual([]);
  expect(w.consoleErrors, 'console errors').toEqual([]);
}

// The CodeMirror 5 instances behind GraphiQL's editors.
const editorValue = (page: Page, selector: string) =>
  page.evaluate((s) => (document.querySelector(`${s} .CodeMirror`) as any).CodeMirror.getValue() as string, selector);
const QUERY = '.graphiql-query-editor';
const RESPONSE = '.graphiql-response';

// setQuery replaces the query editor's text and waits until GraphiQL has
// parsed it (it does so 100 ms after a change; until then it would run the
// previous operation's name, or take a subscription for a query).
async function setQuery(page: Page, text: string) {
  await page.evaluate(
    ([s, t]) => (document.querySelector(`${s} .CodeMirror`) as any).CodeMirror.setValue(t),
    [QUERY, text],
  );
  await expect
    .poll(() =>
      page.evaluate((s) => {
        const cm = (document.querySelector(`${s} .CodeMirror`) as any).CodeMirror;
        return cm.documentAST?.loc?.source?.body === cm.getValue();
      }, QUERY),
    )
    .toBe(true);
}

async function openGraphiQL(page: Page) {
  const resp = await page.goto('/');
  expect(resp?.status()).toBe(200);
  const csp = resp!.headers()['content-security-policy'];
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toMatch(/unsafe-|https?:|\*/);
  await expect(page.locator(`${QUERY} .CodeMirror`)).toBeVisible();
  await expect(page.getByText('Loading GraphiQL')).toHaveCount(0);
}

async function execute(page: Page) {
  await page.locator('.graphiql-execute-button').click();
}

test('GraphiQL loads from the server alone and runs the example query', async ({ page }) => {
  const w = await watch(page);
  await openGraphiQL(page);

  const query = await editorValue(page, QUERY);
  expect(query).toContain('query Products');
  expect(query).toContain('Authorization": "Bearer <ADMIN_TOKEN>"');
  for (const field of ['name', 'price', 'available']) expect(query).toContain(field);

  await execute(page);
  await expect.poll(() => editorValue(page, RESPONSE)).toContain('"data"');
  const result = JSON.parse(await editorValue(page, RESPONSE));
  expect(result.errors).toBeUndefined();
  const names = result.data.products.edges.map((e: any) => e.node.name);
  expect(names).toContain('Holdfast T-shirt, black, M');
  await expect(page.locator(RESPONSE)).toContainText('Holdfast T-shirt, black, M');

  // The schema came in through introspection: the docs pane can show it.
  await page.getByRole('button', { name: /documentation explorer/i }).click();
  await expect(page.locator('.graphiql-doc-explorer')).toContainText('Query');
  await page.getByRole('button', { name: /documentation explorer/i }).click();

  await page.screenshot({ path: SCREENSHOT });
  await expectClean(w);
});

test('admin fields answer with the token sent from the Headers tab', async ({ page }) => {
  expect(process.env.HOLDFAST_ADMIN_TOKEN, 'HOLDFAST_ADMIN_TOKEN (the server\'s ADMIN_TOKEN)').toBeTruthy();
  const w = await watch(page);
  await openGraphiQL(page);
  const setEditor = (selector: string, value: string) =>
    page.locator(`${selector} .CodeMirror`).evaluate((el, v) => (el as any).CodeMirror.setValue(v), value);
  const run = async () => {
    await execute(page);
    await expect.poll(() => editorValue(page, RESPONSE)).toMatch(/"(data|errors)"/);
    return JSON.parse(await editorValue(page, RESPONSE));
  };

  await setQuery(page, '{ products(first: 1) { edges { node { stock } } } }');
  const anonymous = await run();
  expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

  await page.getByRole('button', { name: 'Headers', exact: true }).click();
  const headers = page.getByRole('region', { name: 'Headers' });
  await expect(headers).toBeVisible();
  await setEditor('[aria-label="Headers"] .graphiql-editor:not(.hidden)', JSON.stringify({ Authorization: `Bearer ${process.env.HOLDFAST_ADMIN_TOKEN}` }));
  await setQuery(page, '{ products(first: 1) { edges { node { name stock } } } }');
  const admin = await run();
  expect(admin.errors).toBeUndefined();
  expect(admin.data.products.edges[0].node.stock).toBe(50);
  await expectClean(w);
});

async function addToCart(request: APIRequestContext, productId: string, quantity: number) {
  const gql = async (query: string, variables: object) => {
    const r = await request.post('/graphql', { data: { query, variables } });
    expect(r.status()).toBe(200);
    const body = await r.json();
    expect(body.errors).toBeUndefined();
    return body.data;
  };
  const { createCart } = await gql('mutation { createCart { cart { id } } }', {});
  const { addToCart } = await gql(
    'mutation($c: ID!, $p: ID!, $q: Int!) { addToCart(input: {cartId: $c, productId: $p, quantity: $q}) { userErrors { message } } }',
    { c: createCart.cart.id, p: productId, q: quantity },
  );
  expect(addToCart.userErrors).toEqual([]);
}

test('a subscription run from GraphiQL streams results over a same-origin websocket', async ({ page, request }) => {
  const w = await watch(page);
  await openGraphiQL(page);

  await setQuery(page, 'subscription { stockChanged(productIds: ["1"]) { productId available } }');
  expect(
    await page.evaluate((s) => (document.querySelector(`${s} .CodeMirror`) as any).CodeMirror.operations[0].operation, QUERY),
  ).toBe('subscription');
  await execute(page);

  // First the current level...
  await expect.poll(() => editorValue(page, RESPONSE)).toContain('"stockChanged"');
  const first = JSON.parse(await editorValue(page, RESPONSE)).data.stockChanged;
  expect(first.productId).toBe('1');
  expect(w.websockets).toHaveLength(1);
  expect(w.websockets[0]).toBe(`ws://${server.host}/graphql`);

  // ...then every change, as it commits.
  await addToCart(request, '1', 2);
  await expect
    .poll(async () => JSON.parse(await editorValue(page, RESPONSE)).data.stockChanged.available)
    .toBe(first.available - 2);

  // The execute button now stops the subscription.
  await execute(page);
  await expectClean(w);
});

test("GraphiQL's editing aids, panes and dialogs work under the CSP", async ({ page }) => {
  const w = await watch(page);
  await openGraphiQL(page);

  // Autocompletion (CodeMirror's hint widget) from the introspected schema.
  await page.evaluate((s) => {
    const cm = (document.querySelector(`${s} .CodeMirror`) as any).CodeMirror;
    cm.setValue('{ products { edges { node { na');
    cm.setCursor(cm.lineCount(), 0);
    cm.focus();
  }, QUERY);
  await page.keyboard.type('m');
  await expect(page.locator('.CodeMirror-hints')).toContainText('name');
  await page.keyboard.press('Escape');

  // Prettify, the history pane, and the shortcuts and settings dialogs.
  await setQuery(page, '{ products { edges { node { name } } } }');
  await page.getByRole('button', { name: /prettify/i }).click();
  await expect.poll(() => editorValue(page, QUERY)).toContain('\n  products {');
  await page.getByRole('button', { name: /history/i }).click();
  await expect(page.locator('.graphiql-history')).toBeVisible();
  for (const name of [/short ?keys|keyboard shortcuts/i, /settings/i]) {
    await page.getByRole('button', { name }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toBeVisible();
    // react-remove-scroll's <style> got in: it carries the page's nonce.
    expect(await page.evaluate(() => document.querySelectorAll('style[nonce]').length)).toBeGreaterThan(0);
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
  }
  await expectClean(w);
});
