// The storefront (examples/storefront), as the server serves it at /shop/,
// in a real browser: catalog, product page with live stock, the race for a
// last unit between two shoppers, a product group's option pickers that
// follow the stock live, refusals, the cart, checkout, and (on a
// second server with HOLD_TTL=20s) expiry and rate limits. Nothing loads from
// anywhere but the server. Writes docs/img/storefront-{catalog,product,group,cart}.png.
import { test, expect, type Locator, type Page } from '@playwright/test';
import {
  adjustStock, createGroup, createProduct, expectClean, gql, screenshotPath, stockOf, svgImage, watch,
} from './support/shop';

const SERVER = process.env.HOLDFAST_URL!;
const SHORT_TTL_SERVER = process.env.HOLDFAST_SHORT_TTL_URL;
// Products made here are unique to the run (the database may be reused).
const RUN = Date.now().toString(36);
const KEY = /^[A-Za-z0-9\-_.:]{1,255}$/;

const cards = (page: Page) => page.getByRole('list', { name: 'Products' }).getByRole('listitem');
const cardNames = (page: Page) => page.locator('.grid .card-name').allInnerTexts();
const addStatus = (page: Page) => page.locator('.add-status .notice');
const cartCount = (page: Page) => page.getByTestId('cart-count');

async function addToCart(page: Page, quantity: number) {
  await page.getByLabel('Quantity', { exact: true }).fill(String(quantity));
  await page.getByRole('button', { name: 'Add to cart' }).click();
}

async function imagesLoaded(images: Locator) {
  await expect
    .poll(() => images.evaluateAll((els) => els.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0)))
    .toBe(true);
}

test('the catalog: demo groups and products with images, collections, a strict CSP', async ({ page }) => {
  const w = await watch(page, SERVER);
  const resp = await page.goto('/shop/');
  expect(resp?.status()).toBe(200);
  const csp = resp!.headers()['content-security-policy'];
  for (const d of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) expect(csp).toContain(d);
  expect(csp).not.toMatch(/unsafe-|\*/);

  await expect(page.getByRole('heading', { name: 'All products' })).toBeVisible();
  // The two demo groups (the same price for every variant: no "from"),
  // then the ungrouped products; grouped products show as their group.
  const demo = ['Holdfast T-shirt', 'Enamel camp mug', 'Limited drop sneaker', 'Screen-printed poster, A2', 'Sticker pack'];
  for (const name of demo) {
    await expect(cards(page).filter({ hasText: name })).toHaveCount(1);
    await imagesLoaded(cards(page).filter({ hasText: name }).locator('img'));
  }
  await expect.poll(() => cardNames(page)).toEqual(expect.arrayContaining(demo));
  expect((await cardNames(page)).slice(0, 2)).toEqual(['Holdfast T-shirt', 'Limited drop sneaker']);
  await expect(cards(page).filter({ hasText: /, size 4\d|T-shirt, (black|white)/ })).toHaveCount(0);
  await expect(cards(page).filter({ hasText: 'Holdfast T-shirt' }).locator('.price')).toHaveText('$24.90');
  await expect(cards(page).filter({ hasText: 'Limited drop sneaker' }).locator('.price')).toHaveText('$189.00');
  await expect(cards(page).filter({ hasText: 'Sticker pack' }).getByTestId('stock')).toHaveText(/\d+ left/);
  await page.screenshot({ path: screenshotPath('storefront-catalog.png') });

  // A collection shows its products only.
  await page.getByRole('button', { name: 'Limited drops' }).click();
  await expect(page).toHaveURL(/[?&]c=limited-drops/);
  await expect(page.getByRole('heading', { name: 'Limited drops' })).toBeVisible();
  await expect(page.getByTestId('count')).toHaveText('1 article · 2 products (variants included)');
  await expect.poll(() => cardNames(page)).toEqual(['Limited drop sneaker', 'Screen-printed poster, A2']);
  await page.getByRole('button', { name: 'All products' }).click();
  await expect(page.getByRole('heading', { name: 'All products' })).toBeVisible();

  // A card opens its product page.
  await cards(page).filter({ hasText: 'Enamel camp mug' }).getByRole('link').click();
  await expect(page).toHaveURL(/\/shop\/products\/enamel-camp-mug$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Enamel camp mug');
  await expectClean(w);
});

test('a product page by handle: images, a live "N left", add to cart', async ({ page, request }) => {
  const handle = `canvas-tote-${RUN}`;
  const p = await createProduct(request, {
    name: 'Canvas tote bag',
    handle,
    price: '18.00',
    stock: 12,
    description: 'Heavy cotton canvas, long handles and an inside pocket.',
    images: [
      { url: svgImage('#0f766e', 'Tote 1'), altText: 'Canvas tote, front' },
      { url: svgImage('#115e59', 'Tote 2'), altText: 'Canvas tote, inside pocket' },
    ],
  });
  const w = await watch(page, SERVER);
  // A deep link: the server answers the app's routes with the app.
  const resp = await page.goto(`/shop/products/${handle}`);
  expect(resp?.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Canvas tote bag');
  await expect(page.locator('.big-price')).toHaveText('$18.00');
  const stock = page.getByTestId('stock');
  await expect(stock).toHaveText('12 left');
  await imagesLoaded(page.locator('.gallery img'));
  await expect(page.locator('.gallery .img-large')).toHaveAttribute('alt', 'Canvas tote, front');
  await page.getByRole('button', { name: 'Canvas tote, inside pocket' }).click();
  await expect(page.locator('.gallery .img-large')).toHaveAttribute('alt', 'Canvas tote, inside pocket');

  // A restock shows at once, without a reload (stockChanged).
  await adjustStock(request, p.id, 3);
  await expect(stock).toHaveText('15 left');

  await addToCart(page, 2);
  await expect(addStatus(page)).toHaveText(/^Added 2 to your cart\./);
  await expect(stock).toHaveText('13 left');
  await expect(cartCount(page)).toHaveText('2');
  await page.getByRole('button', { name: 'Canvas tote, front' }).click();
  await page.screenshot({ path: screenshotPath('storefront-product.png') });

  await page.goto('/shop/products/no-such-thing');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await expectClean(w);
});

test('two shoppers race for the last unit: one gets it, the other is refused and sees 0 left', async ({ browser, request }) => {
  const handle = `last-lamp-${RUN}`;
  const p = await createProduct(request, { name: 'Brass desk lamp', handle, price: '89.00', stock: 1 });
  const shoppers = await Promise.all(
    [0, 1].map(async () => {
      const context = await browser.newContext({ baseURL: SERVER });
      const page = await context.newPage();
      return { context, page, w: await watch(page, SERVER) };
    }),
  );
  // Each shopper's addToCart waits until both have clicked; then both go
  // to the server together.
  let arrived = 0;
  let release!: () => void;
  const both = new Promise<void>((resolve) => (release = resolve));
  const keys: string[] = [];
  for (const { page } of shoppers) {
    await page.route('**/graphql', async (route) => {
      const body = route.request().method() === 'POST' ? route.request().postDataJSON() : null;
      if (body?.operationName === 'AddToCart') {
        keys.push(body.variables.input.idempotencyKey);
        if (++arrived === 2) release();
        await both;
      }
      await route.continue();
    });
    await page.goto(`/shop/products/${handle}`);
    await expect(page.getByTestId('stock')).toHaveText('1 left');
    await page.evaluate(() => ((window as any).__sameDocument = true));
  }

  await Promise.all(shoppers.map(({ page }) => page.getByRole('button', { name: 'Add to cart' }).click()));
  const outcomes = await Promise.all(
    shoppers.map(async ({ page }) => {
      await expect(addStatus(page)).toBeVisible();
      return addStatus(page).innerText();
    }),
  );
  const winner = outcomes.findIndex((t) => t.startsWith('Added 1 to your cart.'));
  const loser = outcomes.findIndex((t) => t.includes('sold out: the last one just went to another cart'));
  expect(winner, `outcomes: ${JSON.stringify(outcomes)}`).toBeGreaterThanOrEqual(0);
  expect(loser, `outcomes: ${JSON.stringify(outcomes)}`).toBe(1 - winner);

  for (const { page } of shoppers) {
    // Both see the unit gone, live: no reload happened.
    await expect(page.getByTestId('stock')).toHaveText('Sold out');
    await expect(page.getByTestId('stock')).toHaveAttribute('data-available', '0');
    await expect(page.getByRole('button', { name: 'Sold out' })).toBeDisabled();
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  }
  await expect(cartCount(shoppers[winner].page)).toHaveText('1');
  await expect(cartCount(shoppers[loser].page)).toHaveText('0');
  expect(await stockOf(request, p.id)).toEqual({ available: 0, stock: 1, held: 1 });
  expect(keys).toHaveLength(2);
  for (const k of keys) expect(k).toMatch(KEY);
  expect(keys[0]).not.toBe(keys[1]);

  for (const { context, w } of shoppers) {
    await expectClean(w);
    await context.close();
  }
});

test('a group page: a size sold out elsewhere is disabled live, without a reload', async ({ page, browser, request }) => {
  // A drop of its own (the server is shared with the other tests): 43 is
  // sold out from the start, 42 has 2 pairs, 44 costs more.
  const word = `trailrunner${RUN}`;
  const group = await createGroup(request, {
    title: `Trail runner ${RUN}`,
    handle: word,
    options: [{ name: 'Size', values: ['41', '42', '43', '44'] }],
    images: [{ url: svgImage('#1d4ed8', 'Trail'), altText: 'Trail runner, side view' }],
  });
  const sizes: Record<string, { id: string }> = {};
  for (const [size, stock, price] of [['41', 3, '129.00'], ['42', 2, '129.00'], ['43', 0, '129.00'], ['44', 1, '139.00']] as const) {
    sizes[size] = await createProduct(request, {
      name: `Trail runner ${RUN}, size ${size}`, handle: `${word}-${size}`, price, stock,
      groupId: group.id, selectedOptions: [{ name: 'Size', value: size }],
    });
  }
  const w = await watch(page, SERVER);
  await page.goto(`/shop/?q=${word}`);
  // The group's card stands for its variants: "from" the lowest price.
  await expect.poll(() => cardNames(page)).toEqual([`Trail runner ${RUN}`]);
  await expect(cards(page).locator('.price')).toHaveText('from $129.00');
  await expect(cards(page).getByTestId('stock')).toHaveText('6 left');
  await cards(page).getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/shop/groups/${word}$`));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Trail runner ${RUN}`);
  await page.evaluate(() => ((window as any).__sameDocument = true));

  const size = (p: Page, s: string) => p.getByRole('group', { name: 'Size' }).getByRole('button', { name: s, exact: true });
  const stock = page.getByTestId('stock');
  // The first size with pairs left is chosen; a sold-out size cannot be.
  await expect(size(page, '41')).toHaveAttribute('aria-pressed', 'true');
  await expect(size(page, '43')).toBeDisabled();
  await size(page, '44').click();
  await expect(page.locator('.big-price')).toHaveText('$139.00');
  await expect(stock).toHaveText('1 left');
  await size(page, '42').click();
  await expect(size(page, '42')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('.big-price')).toHaveText('$129.00');
  await expect(stock).toHaveText('2 left');
  await addToCart(page, 1);
  await expect(addStatus(page)).toHaveText(/^Added 1 to your cart\./);
  await expect(stock).toHaveText('1 left');
  await expect(size(page, '42')).toBeEnabled();

  // Another shopper takes the last pair of 42, through the storefront.
  const other = await browser.newContext({ baseURL: SERVER });
  const otherPage = await other.newPage();
  const ow = await watch(otherPage, SERVER);
  await otherPage.goto(`/shop/groups/${word}`);
  await size(otherPage, '42').click();
  await expect(otherPage.getByTestId('stock')).toHaveText('1 left');
  await addToCart(otherPage, 1);
  await expect(addStatus(otherPage)).toHaveText(/^Added 1 to your cart\./);
  await expect(size(otherPage, '42')).toBeDisabled();

  // The first page sees it at once: 42 sold out and disabled, the others not.
  await expect(size(page, '42')).toBeDisabled();
  await expect(stock).toHaveText('Sold out');
  await expect(page.getByRole('button', { name: 'Sold out' })).toBeDisabled();
  await expect(size(page, '41')).toBeEnabled();
  await expect(size(page, '44')).toBeEnabled();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  await expect(cartCount(page)).toHaveText('1');
  expect(await stockOf(request, sizes['42'].id)).toEqual({ available: 0, stock: 2, held: 2 });
  await page.screenshot({ path: screenshotPath('storefront-group.png') });

  await page.goto('/shop/groups/no-such-thing');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await expectClean(w);
  await expectClean(ow);
  await other.close();
});

test('refusals: fewer left than asked offers the rest; too many for a cart says so', async ({ page, request }) => {
  const few = await createProduct(request, { name: 'Signed print', handle: `signed-print-${RUN}`, price: '40.00', stock: 3 });
  const bulk = await createProduct(request, { name: 'Box of nails', handle: `nails-${RUN}`, price: '0.05', stock: 5000 });
  const w = await watch(page, SERVER);

  await page.goto(`/shop/products/${few.handle}`);
  await expect(page.getByTestId('stock')).toHaveText('3 left');
  await addToCart(page, 5);
  await expect(addStatus(page)).toContainText('Only 3 left: we could not reserve that many.');
  await expect(cartCount(page)).toHaveText('0');
  await page.getByRole('button', { name: 'Add the 3 left' }).click();
  await expect(addStatus(page)).toHaveText(/^Added 3: all that was left\./);
  await expect(page.getByTestId('stock')).toHaveText('Sold out');
  await expect(cartCount(page)).toHaveText('3');

  await page.goto(`/shop/products/${bulk.handle}`);
  await addToCart(page, 1001);
  await expect(addStatus(page)).toHaveText('Sorry, that is more than one cart may hold: a cart line may not hold that many units.');
  await expect(cartCount(page)).toHaveText('3');
  expect((await stockOf(request, bulk.id)).held).toBe(0);
  await expectClean(w);
});

test('search, sort and pages both ways', async ({ page, request }) => {
  const word = `lantern${RUN}`;
  // Ten lanterns A..J with shuffled prices; J is out of stock.
  const prices = [12, 5, 30, 8, 21, 3, 17, 26, 9, 14];
  const letters = 'ABCDEFGHIJ'.split('');
  for (const [i, letter] of letters.entries()) {
    await createProduct(request, {
      name: `Lantern ${letter}`,
      handle: `${word}-${letter.toLowerCase()}`,
      description: `Storm lantern ${word}.`,
      price: `${prices[i]}.00`,
      stock: letter === 'J' ? 0 : 5,
      images: [{ url: svgImage('#78350f', `Lantern ${letter}`), altText: `Lantern ${letter}` }],
    });
  }
  const byPrice = letters.map((l, i) => ({ name: `Lantern ${l}`, price: prices[i] })).sort((a, b) => a.price - b.price).map((x) => x.name);
  const w = await watch(page, SERVER);
  await page.goto('/shop/');

  await page.getByRole('searchbox', { name: 'Search products' }).fill(word);
  await page.getByRole('searchbox', { name: 'Search products' }).press('Enter');
  await expect(page).toHaveURL(new RegExp(`[?&]q=${word}`));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Results for “${word}”`);
  await expect(page.getByTestId('count')).toHaveText('10 products');
  await expect(cards(page)).toHaveCount(8);

  const sort = page.getByRole('combobox', { name: 'Sort by' });
  await expect(sort.locator('option:checked')).toHaveText('Best match');
  await sort.selectOption({ label: 'Price: low to high' });
  await expect.poll(() => cardNames(page)).toEqual(byPrice.slice(0, 8));
  const previous = page.getByRole('button', { name: '← Previous' });
  const next = page.getByRole('button', { name: 'Next →' });
  await expect(previous).toBeDisabled();

  await next.click();
  await expect(page).toHaveURL(/[?&]after=/);
  await expect.poll(() => cardNames(page)).toEqual(byPrice.slice(8));
  await expect(next).toBeDisabled();
  await expect(previous).toBeEnabled();

  await previous.click();
  await expect(page).toHaveURL(/[?&]before=/);
  await expect.poll(() => cardNames(page)).toEqual(byPrice.slice(0, 8));
  await expect(previous).toBeDisabled();
  await expect(next).toBeEnabled();

  await sort.selectOption({ label: 'Price: high to low' });
  await expect.poll(() => cardNames(page)).toEqual([...byPrice].reverse().slice(0, 8));
  await expect(page).not.toHaveURL(/[?&](after|before)=/);
  await sort.selectOption({ label: 'Name: Z to A' });
  await expect.poll(() => cardNames(page)).toEqual([...letters].reverse().slice(0, 8).map((l) => `Lantern ${l}`));
  await expect(cards(page).filter({ hasText: 'Lantern J' }).getByTestId('stock')).toHaveText('Sold out');

  // The box is controlled by the URL (?stock=1), which the router updates
  // in a transition: right after the click the box may still show the old
  // state, so check() (which insists on the new state at once) is flaky.
  // Click, then wait for the URL and the box.
  const inStockOnly = page.getByLabel('In stock only');
  await inStockOnly.click();
  await expect(page).toHaveURL(/[?&]stock=1/);
  await expect(inStockOnly).toBeChecked();
  await expect(page.getByTestId('count')).toHaveText('9 products');
  await expect(cards(page).filter({ hasText: 'Lantern J' })).toHaveCount(0);

  // The state is the URL's: back goes to the previous view.
  await page.goBack();
  await expect(page.getByTestId('count')).toHaveText('10 products');
  await expect.poll(() => cardNames(page)).toEqual([...letters].reverse().slice(0, 8).map((l) => `Lantern ${l}`));
  await expectClean(w);
});

test('the cart: quantities, a refused update, removal, checkout', async ({ page, request }) => {
  const mug = await createProduct(request, {
    name: 'Stoneware mug', handle: `stoneware-mug-${RUN}`, price: '14.00', stock: 10,
    images: [{ url: svgImage('#0e7490', 'Mug'), altText: 'Stoneware mug' }],
  });
  const cap = await createProduct(request, {
    name: 'Wool cap', handle: `wool-cap-${RUN}`, price: '22.00', stock: 2,
    images: [{ url: svgImage('#9f1239', 'Cap'), altText: 'Wool cap' }],
  });
  const w = await watch(page, SERVER);
  for (const p of [mug, cap]) {
    await page.goto(`/shop/products/${p.handle}`);
    await addToCart(page, 1);
    await expect(addStatus(page)).toHaveText(/^Added 1 to your cart\./);
  }
  await page.getByRole('link', { name: 'View cart' }).click();
  await expect(page).toHaveURL(/\/shop\/cart$/);
  await expect(page.getByTestId('countdown')).toHaveText(/^Your items are held for 1[45]:\d\d$/);
  const line = (p: { handle: string }) => page.locator(`[data-testid="cart-line"][data-product="${p.handle}"]`);
  await expect(page.getByTestId('cart-line')).toHaveCount(2);
  const subtotal = page.getByTestId('subtotal');
  await expect(subtotal).toHaveText('$36.00');

  // updateCartLine: typed quantities and the + button.
  await line(mug).getByLabel('Quantity', { exact: true }).fill('3');
  await line(mug).getByLabel('Quantity', { exact: true }).press('Enter');
  await expect(subtotal).toHaveText('$64.00');
  await line(mug).getByRole('button', { name: 'One more' }).click();
  await expect(line(mug).getByLabel('Quantity', { exact: true })).toHaveValue('4');
  await expect(subtotal).toHaveText('$78.00');

  // More caps than there are: the most the cart can have is offered.
  await line(cap).getByLabel('Quantity', { exact: true }).fill('5');
  await line(cap).getByLabel('Quantity', { exact: true }).press('Enter');
  await expect(line(cap).getByRole('alert')).toContainText('Only 2 available for your cart.');
  await expect(line(cap).getByLabel('Quantity', { exact: true })).toHaveValue('1');
  await line(cap).getByRole('button', { name: 'Set to 2' }).click();
  await expect(line(cap).getByLabel('Quantity', { exact: true })).toHaveValue('2');
  await expect(subtotal).toHaveText('$100.00');
  await expect(cartCount(page)).toHaveText('6');
  await imagesLoaded(page.locator('.lines img'));
  await page.screenshot({ path: screenshotPath('storefront-cart.png') });

  await line(mug).getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('cart-line')).toHaveCount(1);
  await expect(subtotal).toHaveText('$44.00');
  expect((await stockOf(request, mug.id)).held).toBe(0);

  await page.getByLabel('Email for the receipt').fill('ada@example.com');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByRole('heading', { name: 'Thank you for your order' })).toBeVisible();
  await expect(page.getByTestId('order-total')).toHaveText('$44.00');
  await expect(page.locator('.order')).toContainText('ada@example.com');
  const orderId = await page.getByTestId('order-id').innerText();
  await expect(cartCount(page)).toHaveText('0');
  expect(await page.evaluate(() => localStorage.getItem('holdfast.cartId'))).toBeNull();
  const { order } = await gql(request, 'query($id: ID!) { order(id: $id) { status total { amount } lines { sku quantity } } }', { id: orderId });
  expect(order).toEqual({ status: 'PLACED', total: { amount: '44.00' }, lines: [{ sku: `WOOL-CAP-${RUN}`.toUpperCase(), quantity: 2 }] });
  expect(await stockOf(request, cap.id)).toEqual({ available: 0, stock: 0, held: 0 });

  // The order page is a link of its own; the cart starts afresh.
  await page.reload();
  await expect(page.getByTestId('order-total')).toHaveText('$44.00');
  await page.goto('/shop/cart');
  await expect(page.getByText('Your cart is empty.')).toBeVisible();
  await expectClean(w);
});

test.describe('on a second server with HOLD_TTL=20s and a per-cart rate limit', () => {
  test.skip(!SHORT_TTL_SERVER, 'HOLDFAST_SHORT_TTL_URL is not set (make test-browser sets it)');
  test.use({ baseURL: SHORT_TTL_SERVER });

  test('a cart counts down to its expiry, says so, and offers a new cart', async ({ page, request }) => {
    const p = await createProduct(request, { name: 'Pocket knife', handle: `pocket-knife-${RUN}`, price: '45.00', stock: 4 });
    const w = await watch(page, SHORT_TTL_SERVER!);
    await page.goto(`/shop/products/${p.handle}`);
    await addToCart(page, 2);
    await expect(addStatus(page)).toHaveText(/^Added 2 to your cart\./);
    await expect(page.getByTestId('stock')).toHaveText('2 left');
    await page.getByRole('link', { name: 'View cart' }).click();

    const clock = page.getByTestId('countdown').locator('time');
    const seconds = async () => Number((await clock.innerText()).split(':')[1]);
    // 20 s: room for a slow browser to get here before the hold runs out.
    await expect(clock).toHaveText(/^0:(0[1-9]|1\d|20)$/);
    const first = await seconds();
    await expect.poll(seconds).toBeLessThan(first);

    await expect(page.getByTestId('expired')).toHaveText(/^Your cart expired at .*: its items went back on the shelf\.$/, { timeout: 40_000 });
    await expect(page.getByTestId('countdown')).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Place order' })).toHaveCount(0);
    await expect(cartCount(page)).toHaveText('0');
    // The reaper gave the held units back.
    await expect.poll(async () => (await stockOf(request, p.id)).held, { timeout: 10_000 }).toBe(0);

    const oldCart = await page.evaluate(() => localStorage.getItem('holdfast.cartId'));
    await page.getByRole('button', { name: 'Start a new cart' }).click();
    await expect(page.getByText('Your cart is empty.')).toBeVisible();
    const newCart = await page.evaluate(() => localStorage.getItem('holdfast.cartId'));
    expect(newCart).toBeTruthy();
    expect(newCart).not.toBe(oldCart);
    const { cart } = await gql(request, 'query($id: ID!) { cart(id: $id) { status totalQuantity } }', { id: newCart });
    expect(cart).toEqual({ status: 'ACTIVE', totalQuantity: 0 });

    await page.getByRole('link', { name: 'Catalog' }).click();
    await page.goto(`/shop/products/${p.handle}`);
    await expect(page.getByTestId('stock')).toHaveText('4 left');
    await expectClean(w);
  });

  test('a burst of adds is rate limited (429) and retried after Retry-After, with the same idempotency key', async ({ page, request }) => {
    const p = await createProduct(request, { name: 'Enamel pin', handle: `enamel-pin-${RUN}`, price: '6.00', stock: 20 });
    const w = await watch(page, SHORT_TTL_SERVER!);
    const adds: { key: string; status: number; retryAfter?: string }[] = [];
    page.on('response', (r) => {
      const req = r.request();
      const body = req.method() === 'POST' && req.url().endsWith('/graphql') ? req.postDataJSON() : null;
      if (body?.operationName === 'AddToCart') {
        adds.push({ key: body.variables.input.idempotencyKey, status: r.status(), retryAfter: r.headers()['retry-after'] });
      }
    });
    await page.goto(`/shop/products/${p.handle}`);
    // The server allows a burst of 2 mutations per cart, then 1 per 8 s:
    // the third click comes well within 8 s of the first, however slow the
    // browser.
    for (const n of [1, 2]) {
      await addToCart(page, 1);
      await expect(cartCount(page)).toHaveText(String(n));
    }
    await addToCart(page, 1);
    await expect(addStatus(page)).toHaveText(/^The shop is busy: trying again in \d s…$/);
    await expect(addStatus(page)).toHaveText(/^Added 1 to your cart\./, { timeout: 20_000 });
    await expect(cartCount(page)).toHaveText('3');

    expect(adds.map((a) => a.status)).toEqual([200, 200, 429, 200]);
    expect(Number(adds[2].retryAfter)).toBeGreaterThanOrEqual(1);
    for (const a of adds) expect(a.key).toMatch(KEY);
    expect(adds[3].key, 'the retry is the same action').toBe(adds[2].key);
    expect(new Set(adds.slice(0, 3).map((a) => a.key)).size, 'three clicks, three actions').toBe(3);
    expect(await stockOf(request, p.id)).toMatchObject({ held: 3 });
    // Chromium logs the 429 itself.
    await expectClean(w, /status of 429/);
  });
});
