// Discount codes and gift cards in the storefront's cart, in a real browser
// against the main server of `make test-browser`: the last use of a code
// taken by another shopper, the applied code's discount and totals that add
// up, a code that waits for its minimum, and a gift card paying part of an
// order.
import { test, expect, type Page } from '@playwright/test';
import {
  addStatus, addToCart, cartLine, cents, createDiscountCode, createGiftCard, createProduct, discountUses, expectClean,
  giftCardBalance, gql, lineQuantity, watch,
} from './support/shop';

const SERVER = process.env.HOLDFAST_URL!;
// Unique to the run: the database may be reused.
const RUN = Date.now().toString(36);

const discountForm = (page: Page) => page.getByRole('form', { name: 'Apply a discount code' });
const giftCardForm = (page: Page) => page.getByRole('form', { name: 'Apply a gift card' });

async function applyCode(page: Page, code: string) {
  await discountForm(page).getByLabel('Discount code').fill(code);
  await discountForm(page).getByRole('button', { name: 'Apply code' }).click();
}

async function applyGiftCard(page: Page, code: string) {
  await giftCardForm(page).getByLabel('Gift card').fill(code);
  await giftCardForm(page).getByRole('button', { name: 'Apply gift card' }).click();
}

/** The summary's figures: subtotal − each deduction = total, to the cent. */
async function expectTotalsAddUp(page: Page) {
  const summary = page.getByRole('complementary', { name: 'Summary' });
  const subtotal = cents(await summary.getByTestId('subtotal').innerText());
  const deductions = await summary.locator('.deduction dd').allInnerTexts();
  const total = cents(await summary.getByTestId('total').innerText());
  expect(subtotal + deductions.map(cents).reduce((a, b) => a + b, 0), `${subtotal} ${deductions} ${total}`).toBe(total);
}

async function cartWith(page: Page, product: { handle: string }, quantity: number) {
  await page.goto(`/shop/products/${product.handle}`);
  await addToCart(page, quantity);
  await expect(addStatus(page)).toHaveText(new RegExp(`^Added ${quantity} to your cart\\.`));
  await page.goto('/shop/cart');
  await expect(lineQuantity(page, product)).toHaveValue(String(quantity));
}

test('a code with one use: another shopper takes it first, this one is told it has no uses left', async ({ browser, request }) => {
  const lamp = await createProduct(request, { name: 'Reading lamp', handle: `reading-lamp-${RUN}`, price: '40.00', stock: 10 });
  const code = await createDiscountCode(request, { code: `LAST1-${RUN}`.toUpperCase(), kind: 'PERCENTAGE', value: '15', usageLimit: 1 });
  const shoppers = await Promise.all(
    [0, 1].map(async () => {
      const context = await browser.newContext({ baseURL: SERVER });
      const page = await context.newPage();
      return { context, page, w: await watch(page, SERVER) };
    }),
  );
  const [first, other] = shoppers.map((s) => s.page);
  for (const { page } of shoppers) await cartWith(page, lamp, 2);

  // The other shopper applies the code first (typed in lower case: codes
  // match whatever their case) and takes its only use.
  await applyCode(other, code.code.toLowerCase());
  await expect(other.getByTestId('discount')).toHaveText(`${code.code} applied: −$12.00`);
  await expect(other.getByTestId('subtotal')).toHaveText('$80.00');
  await expect(other.getByTestId('discount-total')).toHaveText('−$12.00');
  await expect(other.getByTestId('total')).toHaveText('$68.00');
  // The line shows its total before and after its share of the discount.
  await expect(cartLine(other, lamp).getByTestId('line-total')).toHaveText('$80.00 $68.00');
  await expectTotalsAddUp(other);
  expect(await discountUses(request, code.id)).toEqual({ usesHeld: 1, usesCount: 0 });

  // This shopper is too late.
  await applyCode(first, code.code);
  await expect(discountForm(first).getByRole('alert')).toHaveText('Sorry, this code has no uses left: they have all been taken.');
  await expect(first.getByTestId('discount')).toHaveCount(0);
  await expect(first.getByTestId('discount-total')).toHaveCount(0);
  await expect(first.getByTestId('total')).toHaveText('$80.00');
  await expectTotalsAddUp(first);

  // Removing the code gives its use back: now this shopper gets it.
  await other.getByRole('button', { name: `Remove code ${code.code}` }).click();
  await expect(other.getByTestId('discount')).toHaveCount(0);
  await expect(other.getByTestId('total')).toHaveText('$80.00');
  await applyCode(first, code.code);
  await expect(first.getByTestId('discount')).toHaveText(`${code.code} applied: −$12.00`);
  await expect(first.getByTestId('total')).toHaveText('$68.00');
  expect(await discountUses(request, code.id)).toEqual({ usesHeld: 1, usesCount: 0 });

  for (const { context, w } of shoppers) {
    await expectClean(w);
    await context.close();
  }
});

test('a code below its minimum stays on the cart, says why, and applies once the cart reaches it', async ({ page, request }) => {
  const tin = await createProduct(request, { name: 'Tea tin', handle: `tea-tin-${RUN}`, price: '30.00', stock: 10 });
  const code = await createDiscountCode(request, {
    code: `OVER100-${RUN}`.toUpperCase(), kind: 'FIXED_AMOUNT', value: '10.00', currencyCode: 'USD', minimumSubtotalAmount: '100.00',
  });
  const w = await watch(page, SERVER);
  await cartWith(page, tin, 3);
  await applyCode(page, code.code);
  await expect(page.getByTestId('discount')).toHaveText(`${code.code} Not applied yet: your subtotal is below the minimum for this code.`);
  await expect(page.getByTestId('total')).toHaveText('$90.00');
  await expect(page.getByTestId('discount-total')).toHaveCount(0);

  await cartLine(page, tin).getByRole('button', { name: 'One more' }).click();
  await expect(lineQuantity(page, tin)).toHaveValue('4');
  await expect(page.getByTestId('discount')).toHaveText(`${code.code} applied: −$10.00`);
  await expect(page.getByTestId('subtotal')).toHaveText('$120.00');
  await expect(page.getByTestId('discount-total')).toHaveText('−$10.00');
  await expect(page.getByTestId('total')).toHaveText('$110.00');
  await expectTotalsAddUp(page);

  await applyCode(page, `NO-SUCH-CODE-${RUN}`);
  await expect(discountForm(page).getByRole('alert')).toHaveText('We do not know that code: please check its spelling.');
  // The code on the cart stays.
  await expect(page.getByTestId('discount')).toHaveText(`${code.code} applied: −$10.00`);
  await expectClean(w);
});

test('a gift card pays part of the order: the amount used, the total reduced, the card debited at checkout', async ({ page, request }) => {
  const kettle = await createProduct(request, { name: 'Stovetop kettle', handle: `stovetop-kettle-${RUN}`, price: '35.00', stock: 10 });
  const card = await createGiftCard(request, '50.00');
  const w = await watch(page, SERVER);
  await cartWith(page, kettle, 2);
  await expect(page.getByTestId('total')).toHaveText('$70.00');

  await applyGiftCard(page, 'AAAA-BBBB-CCCC-DDDD');
  await expect(giftCardForm(page).getByRole('alert')).toHaveText(
    'We found no gift card with that code (or it has expired or been disabled): please check it.',
  );
  await expect(page.getByTestId('total')).toHaveText('$70.00');

  // Typed in lower case with dashes: the API ignores both.
  await applyGiftCard(page, card.code.toLowerCase().replace(/(.{4})(?=.)/g, '$1-'));
  await expect(page.getByTestId('gift-card')).toHaveText(
    `Gift card ••••${card.lastCharacters}: pays $50.00, $0.00 left on it after this order`,
  );
  await expect(page.getByTestId('subtotal')).toHaveText('$70.00');
  await expect(page.getByTestId('gift-card-used')).toHaveText('−$50.00');
  await expect(page.getByTestId('total')).toHaveText('$20.00');
  await expectTotalsAddUp(page);
  // Applying reserves nothing: the card is debited at checkout.
  expect(await giftCardBalance(request, card.id)).toEqual({ balance: '50.00', held: '0.00' });

  await page.getByLabel('Email for the receipt').fill(`gift-${RUN}@example.com`);
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByRole('heading', { name: 'Thank you for your order' })).toBeVisible();
  await expect(page.getByTestId('order-items-total')).toHaveText('$70.00');
  await expect(page.getByTestId('order-gift-cards')).toHaveText('−$50.00');
  await expect(page.getByTestId('order-total')).toHaveText('$20.00');
  const orderId = await page.getByTestId('order-id').innerText();
  const { order } = await gql(request, 'query($id: ID!) { order(id: $id) { total { amount } giftCardTotal { amount } } }', { id: orderId });
  expect(order).toEqual({ total: { amount: '20.00' }, giftCardTotal: { amount: '50.00' } });
  expect(await giftCardBalance(request, card.id)).toEqual({ balance: '0.00', held: '0.00' });
  await expectClean(w);
});
