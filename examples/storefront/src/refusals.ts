// What a shopper reads when the API refuses (a userError), and what they
// can do next.
import type { ErrorCode, UserErrorFieldsFragment } from './gql/graphql';

export type UserError = UserErrorFieldsFragment;

/** Cart states that no change can fix: the shopper needs a new cart. */
export const DEAD_CART: ReadonlySet<ErrorCode> = new Set(['CART_EXPIRED', 'CART_CHECKED_OUT', 'CART_NOT_FOUND']);

export function describeRefusal(e: UserError): string {
  switch (e.code) {
    case 'INSUFFICIENT_STOCK':
      if (e.available === 0) return 'Sorry, this is sold out: the last one just went to another cart.';
      if (e.available != null) return `Only ${e.available} left: we could not reserve that many.`;
      return 'Not enough stock for that quantity.';
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
    case 'INVALID_INPUT':
      if (e.field?.includes('email')) return 'Please enter a valid email address.';
      return capitalise(e.message);
    default:
      return capitalise(e.message);
  }
}

/** The server's message without the setting it names ("(MAX_LINE_QUANTITY)"). */
const plain = (s: string) => s.replace(/\s*\([A-Z0-9_]+\)/g, '').replace(/\.$/, '');
const capitalise = (s: string) => (s ? s[0].toUpperCase() + s.slice(1) : s);
