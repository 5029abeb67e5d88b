// Signing up, in and out, with what each does to the cart: at sign-in the
// guest cart (if any) is attached to the customer, who keeps its items
// (merged into their own cart if they have one: CART_MERGED names the cart
// to use from now on); without a guest cart, the cart they last used
// (customer.activeCart) comes back. Signing out forgets the cart, which
// answers to the customer's token only.
import { useCallback } from 'react';
import { useClient } from 'urql';
import { useCart } from '../cart/CartContext';
import { mutate, TransportError, type MutateOptions } from '../mutate';
import {
  CartAttachCustomerMutation, CustomerActiveCartQuery, CustomerCreateMutation, CustomerSignInMutation, CustomerSignOutMutation,
} from '../operations';
import { describeMerge, type UserError } from '../refusals';
import { useSession } from './SessionContext';

export type SignInOutcome =
  | {
      kind: 'signed-in';
      /** What happened to the guest's items, for people (empty: nothing to say). */
      notices: string[];
      /** Whether the customer's cart holds anything now. */
      hasItems: boolean;
    }
  | { kind: 'refused'; error: UserError };

const refusedWithout = (message: string): UserError => ({ code: 'INVALID_INPUT', message, field: null, available: null });

export function useAccount() {
  const client = useClient();
  const { session, begin, end } = useSession();
  const cart = useCart();

  /** The guest cart joins the customer's (or the customer's last cart comes back). */
  const takeCart = useCallback(async (): Promise<{ notices: string[]; hasItems: boolean }> => {
    const guestId = cart.cartId;
    if (guestId) {
      const names = new Map((cart.cart?.id === guestId ? cart.cart.lines : []).map((l) => [l.product.id, l.product.name]));
      try {
        const answer = (await mutate(client, CartAttachCustomerMutation, { cartId: guestId })).cartAttachCustomer;
        if (answer.userErrors.length === 0 && answer.cart) {
          cart.accept(answer.cart);
          return { notices: describeMerge(answer.warnings, names), hasItems: answer.cart.totalQuantity > 0 };
        }
        // A dead guest cart (expired, checked out): the customer's own, if any.
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        return {
          notices: ['We could not move the items you added before signing in to your account: they stay in this browser’s cart.'],
          hasItems: (cart.cart?.totalQuantity ?? 0) > 0,
        };
      }
    }
    const r = await client.query(CustomerActiveCartQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    const active = r.data?.customer?.activeCart;
    if (active) cart.accept(active);
    else if (guestId) cart.forget();
    return { notices: [], hasItems: (active?.totalQuantity ?? 0) > 0 };
  }, [client, cart]);

  const signIn = useCallback(async (email: string, password: string, opts?: MutateOptions): Promise<SignInOutcome> => {
    const data = await mutate(client, CustomerSignInMutation, { input: { email: email.trim(), password } }, opts);
    const { customerAccessToken: t, userErrors } = data.customerAccessTokenCreate;
    if (!t) return { kind: 'refused', error: userErrors[0] ?? refusedWithout('sign-in failed') };
    // From here on every request carries the token (the client reads it
    // when each request leaves).
    begin({ accessToken: t.accessToken, expiresAt: t.expiresAt, email: email.trim().toLowerCase() });
    return { kind: 'signed-in', ...(await takeCart()) };
  }, [client, begin, takeCart]);

  const signUp = useCallback(async (
    input: { email: string; password: string; firstName?: string },
    opts?: MutateOptions,
  ): Promise<SignInOutcome> => {
    const data = await mutate(client, CustomerCreateMutation, {
      input: { email: input.email.trim(), password: input.password, firstName: input.firstName?.trim() || undefined },
    }, opts);
    const { customer, userErrors } = data.customerCreate;
    if (!customer) return { kind: 'refused', error: userErrors[0] ?? refusedWithout('sign-up failed') };
    return signIn(input.email, input.password, opts);
  }, [client, signIn]);

  /** Revokes the token (if the server can be reached), then forgets it and the customer's cart. */
  const signOut = useCallback(async () => {
    try {
      await mutate(client, CustomerSignOutMutation, {}, { attempts: 2 });
    } catch {
      // Signed out here all the same; the token expires by itself.
    }
    end();
    cart.forget();
  }, [client, end, cart]);

  /** The server no longer knows the token (expired, revoked): sign out here. */
  const sessionLost = useCallback(() => {
    end();
    cart.forget();
  }, [end, cart]);

  return { session, signIn, signUp, signOut, sessionLost };
}
