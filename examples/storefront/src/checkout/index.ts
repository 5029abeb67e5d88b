// Checkout, as the API offers it today: checkout(input: {cartId, email?})
// turns the cart's holds into an order at once. A payment step (a
// beginCheckout that hands the shopper to a payment page, then an order
// once paid) would be another CheckoutFlow: the cart page only knows this
// interface and the outcomes below.
import type { Client } from '@urql/core';
import type { OrderFieldsFragment } from '../gql/graphql';
import { ActionKeys } from '../idempotency';
import { mutate, type MutateOptions } from '../mutate';
import { CheckoutMutation } from '../operations';
import type { UserError } from '../refusals';

export type Order = OrderFieldsFragment;

export interface CheckoutRequest {
  cartId: string;
  /** The receipt's address; a signed-in customer's cart may leave it out (their account's email). */
  email?: string;
}

export type CheckoutOutcome =
  | { kind: 'placed'; order: Order }
  | { kind: 'refused'; error: UserError }
  // For a flow with payments: the shopper continues elsewhere.
  | { kind: 'redirect'; url: string };

export interface CheckoutFlow {
  /** Throws TransportError when no answer came (after retries). */
  placeOrder(req: CheckoutRequest, opts?: MutateOptions): Promise<CheckoutOutcome>;
}

/** checkout(input) in one step. A retry of the same request (same cart and
 * email) after no answer reuses its idempotency key; the API also answers a
 * second checkout of a cart with the same order. */
export function directCheckout(client: Client): CheckoutFlow {
  const keys = new ActionKeys('checkout');
  return {
    async placeOrder(req, opts) {
      const data = await mutate(client, CheckoutMutation, { input: { ...req, idempotencyKey: keys.keyFor(req) } }, opts);
      keys.answered();
      const { order, userErrors } = data.checkout;
      if (order) return { kind: 'placed', order };
      return { kind: 'refused', error: userErrors[0] ?? { code: 'INVALID_INPUT', message: 'checkout failed', field: null, available: null } };
    },
  };
}
