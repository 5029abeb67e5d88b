// What a shopper reads when the API refuses (a userError), and what they
// can do next.
import type { CartWarningFieldsFragment, ErrorCode, UserErrorFieldsFragment } from './gql/graphql';

export type UserError = UserErrorFieldsFragment;
export type CartWarning = CartWarningFieldsFragment;

/** Cart states that no change can fix: the shopper needs a new cart. */
export const DEAD_CART: ReadonlySet<ErrorCode> = new Set(['CART_EXPIRED', 'CART_CHECKED_OUT', 'CART_NOT_FOUND']);

export interface RefusalContext {
  /** What the shopper was doing: CUSTOMER_REQUIRED means another thing for a code. */
  action?: 'add' | 'discount' | 'giftCard' | 'signIn' | 'signUp';
  /** The product's limitPerCustomer, when the page knows it. */
  limitPerCustomer?: number | null;
}

export function describeRefusal(e: UserError, ctx: RefusalContext = {}): string {
  switch (e.code) {
    case 'INSUFFICIENT_STOCK':
      if (e.available === 0) return 'Sorry, this is sold out: the last one just went to another cart.';
      if (e.available != null) return `Only ${e.available} left: we could not reserve that many.`;
      return 'Not enough stock for that quantity.';
    case 'PER_CUSTOMER_LIMIT':
      return perCustomerLimit(e.available, ctx.limitPerCustomer);
    case 'CUSTOMER_REQUIRED':
      if (ctx.action === 'discount') return 'Sign in to use this code: it can be used once per customer.';
      return 'Sign in to buy this product: it is limited per customer.';
    case 'CART_LIMIT_EXCEEDED':
      return `Sorry, that is more than one cart may hold: ${plain(e.message)}.`;
    case 'CART_EXPIRED':
      return 'Your cart expired and its items went back on the shelf.';
    case 'CART_CHECKED_OUT':
      return 'That cart has already been checked out.';
    case 'CART_NOT_FOUND':
      return 'We could not find your cart.';
    case 'CART_EMPTY':
      return 'Your cart is empty.';
    case 'PRODUCT_NOT_FOUND':
      return 'This product is no longer sold.';
    case 'CURRENCY_MISMATCH':
      return 'This product is priced in another currency than the rest of your cart.';
    case 'INVALID_QUANTITY':
      return 'Please choose a quantity of 1 or more.';
    // Accounts.
    case 'EMAIL_TAKEN':
      return 'There is already an account with this email: sign in instead.';
    case 'INVALID_CREDENTIALS':
      return 'That email and password do not match an account.';
    case 'PASSWORD_TOO_WEAK':
      return 'Choose a password of 8 to 256 characters that is not your email address.';
    // Discount codes.
    case 'DISCOUNT_CODE_NOT_FOUND':
      return 'We do not know that code: please check its spelling.';
    case 'DISCOUNT_CODE_NOT_ACTIVE':
      return 'This code cannot be used now: it has not started, has ended, or was switched off.';
    case 'DISCOUNT_CODE_EXHAUSTED':
      return 'Sorry, this code has no uses left: they have all been taken.';
    case 'DISCOUNT_CODE_ALREADY_USED':
      return 'You have already used this code: it can be used once per customer.';
    case 'MINIMUM_SUBTOTAL_NOT_MET':
      return 'Your subtotal is below the minimum this code needs.';
    case 'DISCOUNT_CODE_NOT_APPLICABLE':
      return 'None of the items in your cart is eligible for this code.';
    // Gift cards.
    case 'GIFT_CARD_NOT_FOUND':
      return 'We found no gift card with that code (or it has expired or been disabled): please check it.';
    case 'GIFT_CARD_EMPTY':
      return 'This gift card has nothing left on it.';
    case 'GIFT_CARD_CURRENCY_MISMATCH':
      return 'This gift card is in another currency than your cart.';
    case 'INVALID_INPUT':
      if (e.field?.includes('email')) return 'Please enter a valid email address.';
      return capitalise(e.message);
    default:
      return capitalise(e.message);
  }
}

function perCustomerLimit(available: number | null | undefined, limit: number | null | undefined): string {
  const left = available ?? 0;
  if (limit != null) {
    return left > 0
      ? `Limited to ${limit} per customer: you can add ${left} more.`
      : `Limited to ${limit} per customer: you already have ${limit} in your cart or orders.`;
  }
  return left > 0
    ? `This product is limited per customer: you can add ${left} more.`
    : 'This product is limited per customer: you already have all you may buy.';
}

/** Why a code on the cart gives nothing now (CartDiscount.reason), in words. */
export function describeDiscountReason(reason: ErrorCode | null | undefined): string {
  switch (reason) {
    case 'MINIMUM_SUBTOTAL_NOT_MET':
      return 'Not applied yet: your subtotal is below the minimum for this code.';
    case 'DISCOUNT_CODE_NOT_APPLICABLE':
      return 'Not applied: none of the items in your cart is eligible for this code.';
    case 'DISCOUNT_CODE_NOT_ACTIVE':
      return 'Not applied: this code cannot be used now.';
    case 'CURRENCY_MISMATCH':
      return 'Not applied: this code is for another currency.';
    default:
      return 'Not applied to this cart.';
  }
}

/** A limit on guessing (gift card codes): how long to wait. */
export function rateLimitedText(what: string, ms: number | undefined): string {
  const secs = Math.max(1, Math.ceil((ms ?? 1000) / 1000));
  return `Too many ${what}: please wait ${secs} s and try again.`;
}

const capReasons: Record<string, string> = {
  MAX_LINE_QUANTITY: 'a cart line may not hold more',
  MAX_CART_QUANTITY: 'a cart may not hold more units',
  MAX_CART_LINES: 'a cart may not hold more products',
};

/**
 * What signing in did to the guest's cart, for people: whether it joined
 * the account's cart, and each product of which fewer units were kept
 * (MERGE_QUANTITY_REDUCED), named from the guest cart's lines.
 */
export function describeMerge(warnings: readonly CartWarning[], names: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  if (warnings.some((w) => w.code === 'CART_MERGED')) {
    out.push('The items you added before signing in are now in your account’s cart, with what it already held.');
  }
  for (const w of warnings) {
    if (w.code !== 'MERGE_QUANTITY_REDUCED') continue;
    const name = (w.productId && names.get(w.productId)) || 'A product';
    const why = /\(([^)]+)\)/.exec(w.message)?.[1];
    const reason = why ? capReasons[why] ?? why : undefined;
    const kept = w.reserved ?? 0;
    const had = w.requested ?? kept;
    const what = kept === 0 ? `${name}: we could not keep the ${had} you had added` : `${name}: we kept ${kept} of the ${had} you had added`;
    out.push(`${what}${reason ? ` (${reason})` : ''}; ${kept === 0 ? 'they went' : 'the rest went'} back on the shelf.`);
  }
  return out;
}

/** The server's message without the setting it names ("(MAX_LINE_QUANTITY)"). */
const plain = (s: string) => s.replace(/\s*\([A-Z0-9_]+\)/g, '').replace(/\.$/, '');
const capitalise = (s: string) => (s ? s[0].toUpperCase() + s.slice(1) : s);
