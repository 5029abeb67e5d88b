// Customer accounts in the storefront (examples/storefront), in a real
// browser against the main server of `make test-browser`: a guest's cart
// follows them into a new account and, at a later sign-in, merges into the
// account's cart (quantities of the same product add up); the account's
// cart on another device; checkout without typing an email; the order
// history; and a drop limited to one per customer.
import { test, expect, type Page } from '@playwright/test';
import {
  addStatus, addToCart, cartCount, cartLine, createProduct, expectClean, gql, lineQuantity, stockOf, watch,
} from './support/shop';

const SERVER = process.env.HOLDFAST_URL!;
// Unique to the run: the database may be reused.
const RUN = Date.now().toString(36);
const PASSWORD = 'correct horse battery';

const flash = (page: Page) => page.getByTestId('flash');
const navLink = (page: Page, name: 'Sign in' | 'Account') => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const storedCartId = (page: Page) => page.evaluate(() => localStorage.getItem('holdfast.cartId'));

/**
 * The ids of the carts whose cartChanged pushes the page received. The
 * server pushes the current cart first, once the subscription is
 * registered, so a change made after that push reaches the page.
 */
function cartPushes(page: Page): string[] {
  const ids: string[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      try {
        const m = JSON.parse(payload.toString());
        if (m.type === 'next' && m.payload?.data?.cartChanged) ids.push(m.payload.data.cartChanged.id);
      } catch {
        // not JSON: not a push
      }
    }),
  );
  return ids;
}

async function fillCredentials(page: Page, email: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
}

async function signUp(page: Page, email: string) {
  await expect(page.getByRole('heading', { name: 'Create an account' })).toBeVisible();
  await fillCredentials(page, email);
  await page.getByRole('button', { name: 'Create account' }).click();
}

async function signIn(page: Page, email: string) {
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await fillCredentials(page, email);
  await page.getByRole('form', { name: 'Sign in' }).getByRole('button', { name: 'Sign in' }).click();
}

test('a guest\'s cart follows them into their account, and later merges into it: quantities add up', async ({ page, browser, request }) => {
  const mug = await createProduct(request, { name: 'Merge mug', handle: `merge-mug-${RUN}`, price: '12.00', stock: 20 });
  const spoon = await createProduct(request, { name: 'Tasting spoon', handle: `tasting-spoon-${RUN}`, price: '4.00', stock: 20 });
  const email = `ada-${RUN}@example.com`;
  const w = await watch(page, SERVER);

  // As a guest: 2 mugs and a spoon.
  await page.goto(`/shop/products/${mug.handle}`);
  await addToCart(page, 2);
  await expect(addStatus(page)).toHaveText(/^Added 2 to your cart\./);
  await page.goto(`/shop/products/${spoon.handle}`);
  await addToCart(page, 1);
  await expect(addStatus(page)).toHaveText(/^Added 1 to your cart\./);
  await expect(cartCount(page)).toHaveText('3');
  const guestCart = await storedCartId(page);
  expect(guestCart).toBeTruthy();

  // A new account: the guest cart becomes the customer's, items and all.
  await navLink(page, 'Sign in').click();
  await page.getByRole('link', { name: 'Create an account' }).click();
  await signUp(page, email);
  await expect(page).toHaveURL(/\/shop\/cart$/);
  await expect(flash(page)).toContainText('You are signed in.');
  await expect(navLink(page, 'Account')).toBeVisible();
  await expect(lineQuantity(page, mug)).toHaveValue('2');
  await expect(lineQuantity(page, spoon)).toHaveValue('1');
  expect(await storedCartId(page)).toBe(guestCart);
  // From now on the cart answers to the customer's token only.
  expect((await gql(request, 'query($id: ID!) { cart(id: $id) { id } }', { id: guestCart })).cart).toBeNull();

  // Signing out leaves the cart with the account.
  await navLink(page, 'Account').click();
  await expect(page.getByTestId('account-email')).toHaveText(email);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(flash(page)).toContainText('You are signed out.');
  await expect(navLink(page, 'Sign in')).toBeVisible();
  await expect(cartCount(page)).toHaveText('0');
  expect(await page.evaluate(() => localStorage.getItem('holdfast.customer'))).toBeNull();

  // A guest again, with one more mug; signing in merges it into the
  // account's cart: 2 + 1 mugs, and the spoon.
  await page.goto(`/shop/products/${mug.handle}`);
  await addToCart(page, 1);
  await expect(addStatus(page)).toHaveText(/^Added 1 to your cart\./);
  await expect(cartCount(page)).toHaveText('1');
  const secondGuestCart = await storedCartId(page);
  expect(secondGuestCart).not.toBe(guestCart);
  await navLink(page, 'Sign in').click();
  await signIn(page, email);
  await expect(page).toHaveURL(/\/shop\/cart$/);
  await expect(flash(page)).toContainText('The items you added before signing in are now in your account’s cart');
  await expect(lineQuantity(page, mug)).toHaveValue('3');
  await expect(lineQuantity(page, spoon)).toHaveValue('1');
  await expect(page.getByTestId('cart-line')).toHaveCount(2);
  await expect(cartCount(page)).toHaveText('4');
  await expect(page.getByTestId('subtotal')).toHaveText('$40.00');
  expect(await storedCartId(page)).toBe(guestCart);
  expect((await gql(request, 'query($id: ID!) { cart(id: $id) { status } }', { id: secondGuestCart })).cart).toEqual({ status: 'MERGED' });
  // The merge moved the held units; it took none twice.
  expect(await stockOf(request, mug.id)).toMatchObject({ held: 3 });

  // Another device: signing in there brings the account's cart.
  const other = await browser.newContext({ baseURL: SERVER });
  const otherPage = await other.newPage();
  const ow = await watch(otherPage, SERVER);
  const pushes = cartPushes(otherPage);
  await otherPage.goto('/shop/account');
  await signIn(otherPage, email);
  await expect(otherPage).toHaveURL(/\/shop\/cart$/);
  await expect(cartCount(otherPage)).toHaveText('4');
  await expect(lineQuantity(otherPage, mug)).toHaveValue('3');
  // Live there too: its websocket carries the customer's token (a
  // customer's cart is unknown to anyone else: no push without it), so a
  // change made here shows there.
  await expect.poll(() => pushes.includes(guestCart!), { message: 'the account cart\'s first push' }).toBe(true);
  await otherPage.evaluate(() => ((window as any).__sameDocument = true));
  await cartLine(page, spoon).getByRole('button', { name: 'One more' }).click();
  await expect(lineQuantity(page, spoon)).toHaveValue('2');
  await expect(lineQuantity(otherPage, spoon)).toHaveValue('2');
  await expect(cartCount(otherPage)).toHaveText('5');
  expect(await otherPage.evaluate(() => (window as any).__sameDocument)).toBe(true);
  await expectClean(ow);
  await other.close();

  // Checkout as the customer: the receipt goes to the account's email.
  await expect(page.getByTestId('receipt-to')).toHaveText(`The receipt goes to ${email}.`);
  await expect(page.getByLabel('Email for the receipt')).toHaveCount(0);
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByRole('heading', { name: 'Thank you for your order' })).toBeVisible();
  await expect(page.locator('.order')).toContainText(email);
  await expect(page.getByTestId('order-total')).toHaveText('$44.00');
  const orderId = await page.getByTestId('order-id').innerText();

  // The account lists the order; its link opens it.
  await navLink(page, 'Account').click();
  const rows = page.getByTestId('order-row');
  await expect(rows).toHaveCount(1);
  await expect(rows).toContainText('Placed');
  await expect(rows).toContainText('$44.00');
  await rows.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/shop/orders/${orderId}$`));
  await expect(page.getByTestId('order-total')).toHaveText('$44.00');
  await expectClean(w);
});

test('a drop limited to one per customer: a guest is asked to sign in; a customer gets one, not two', async ({ page, request }) => {
  const drop = await createProduct(request, {
    name: 'Numbered print', handle: `numbered-print-${RUN}`, price: '60.00', stock: 10, limitPerCustomer: 1,
  });
  const email = `grace-${RUN}@example.com`;
  const w = await watch(page, SERVER);

  await page.goto(`/shop/products/${drop.handle}`);
  await expect(page.getByTestId('limit')).toHaveText('Limited to 1 per customer: sign in to buy it.');
  await addToCart(page, 1);
  await expect(addStatus(page)).toContainText('Sign in to buy this product: it is limited per customer.');
  await expect(cartCount(page)).toHaveText('0');

  // Signing up from the refusal comes back to the product.
  await addStatus(page).getByRole('link', { name: 'Sign in or create an account' }).click();
  await page.getByRole('link', { name: 'Create an account' }).click();
  await signUp(page, email);
  await expect(page).toHaveURL(new RegExp(`/shop/products/${drop.handle}$`));
  await expect(flash(page)).toContainText('You are signed in.');
  await expect(page.getByTestId('limit')).toHaveText('Limited to 1 per customer.');

  await addToCart(page, 1);
  await expect(addStatus(page)).toHaveText(/^Added 1 to your cart\./);
  await expect(cartCount(page)).toHaveText('1');
  await addToCart(page, 1);
  await expect(addStatus(page)).toHaveText('Limited to 1 per customer: you already have 1 in your cart or orders.');
  await expect(cartCount(page)).toHaveText('1');
  expect(await stockOf(request, drop.id)).toMatchObject({ held: 1 });

  // In the cart, more than the limit is refused the same way.
  await page.goto('/shop/cart');
  await cartLine(page, drop).getByRole('button', { name: 'One more' }).click();
  await expect(cartLine(page, drop).getByRole('alert')).toContainText('limited per customer');
  await expect(lineQuantity(page, drop)).toHaveValue('1');
  expect(await stockOf(request, drop.id)).toMatchObject({ held: 1 });
  await expectClean(w);
});
