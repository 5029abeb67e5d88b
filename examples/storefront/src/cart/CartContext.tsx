// The shopper's cart: its id lives in localStorage (shared by the tabs of
// one browser); its contents come from a query, then from the cartChanged
// subscription and the answers of the cart's mutations, newest first.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useClient, useQuery, useSubscription } from 'urql';
import type { CartFieldsFragment } from '../gql/graphql';
import { mutate } from '../mutate';
import { CartQuery, CartSubscription, CreateCartMutation } from '../operations';

export type Cart = CartFieldsFragment;

export const CART_STORAGE_KEY = 'holdfast.cartId';

interface CartContextValue {
  cartId: string | null;
  cart: Cart | null;
  /** The cart's id is known but its contents are still on their way. */
  loading: boolean;
  /** The holds are gone: the server says EXPIRED, or expiresAt has passed. */
  expired: boolean;
  /**
   * The lines the cart held when last seen ACTIVE (an expired cart has
   * none): what an expired cart lost; null when it was never seen active.
   */
  lastHeldLines: Cart['lines'] | null;
  /** Takes a cart from a mutation's answer (adopting its id if it is new). */
  accept(cart: Cart | null | undefined): void;
  /** The id of a cart that can take changes, creating one when needed. */
  ensureCart(): Promise<string>;
  /** Replaces the cart by a new, empty one. */
  startNewCart(): Promise<Cart>;
  /** Drops the cart (after checkout): the next change starts a new one. */
  forget(): void;
}

const CartContext = createContext<CartContextValue | null>(null);

function readStoredId(): string | null {
  try {
    return window.localStorage.getItem(CART_STORAGE_KEY);
  } catch {
    return null;
  }
}

function storeId(id: string | null) {
  try {
    if (id) window.localStorage.setItem(CART_STORAGE_KEY, id);
    else window.localStorage.removeItem(CART_STORAGE_KEY);
  } catch {
    // Private mode without storage: the cart lives as long as the tab.
  }
}

/** Whether next should replace current (the same cart's older news never does). */
export function isNewer(current: Cart | null, next: Cart): boolean {
  if (!current || current.id !== next.id) return true;
  const a = Date.parse(current.updatedAt);
  const b = Date.parse(next.updatedAt);
  if (b !== a) return b > a;
  // Same change: a cart never goes back to ACTIVE.
  return !(current.status !== 'ACTIVE' && next.status === 'ACTIVE');
}

/** Time left before a usable cart is too close to expiry to add to. */
const MARGIN_MS = 2_000;

export function CartProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const [cartId, setCartId] = useState<string | null>(readStoredId);
  const [cart, setCart] = useState<Cart | null>(null);
  const [clockExpired, setClockExpired] = useState<string | null>(null);
  const cartRef = useRef<Cart | null>(null);
  const idRef = useRef<string | null>(cartId);
  const creating = useRef<Promise<Cart> | null>(null);
  const lastHeld = useRef<{ id: string; lines: Cart['lines'] } | null>(null);

  const adoptId = useCallback((id: string | null) => {
    idRef.current = id;
    setCartId(id);
    storeId(id);
  }, []);

  const take = useCallback((next: Cart | null | undefined, adopt: boolean) => {
    if (!next) return;
    if (next.id !== idRef.current) {
      if (!adopt) return; // news of a cart we left
      adoptId(next.id);
    }
    if (isNewer(cartRef.current, next)) {
      if (next.status === 'ACTIVE') lastHeld.current = { id: next.id, lines: next.lines };
      cartRef.current = next;
      setCart(next);
    }
  }, [adoptId]);

  // Another tab started or dropped a cart.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key !== CART_STORAGE_KEY || e.newValue === idRef.current) return;
      idRef.current = e.newValue;
      cartRef.current = null;
      setCart(null);
      setCartId(e.newValue);
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);

  const [query, reexecute] = useQuery({
    query: CartQuery,
    variables: { id: cartId ?? '' },
    pause: !cartId,
    requestPolicy: 'network-only',
  });
  useEffect(() => {
    if (!cartId || query.fetching || query.error || !query.data) return;
    if (query.operation?.variables.id !== cartId) return;
    if (query.data.cart === null) {
      // Unknown to the server (its database was reset, say): start afresh.
      if (idRef.current === cartId) {
        adoptId(null);
        cartRef.current = null;
        setCart(null);
      }
      return;
    }
    take(query.data.cart, false);
  }, [cartId, query, take, adoptId]);

  const [sub] = useSubscription({
    query: CartSubscription,
    variables: { cartId: cartId ?? '' },
    pause: !cartId || (!!cart && cart.id === cartId && cart.status === 'CHECKED_OUT'),
  });
  useEffect(() => {
    if (sub.data) take(sub.data.cartChanged, false);
  }, [sub.data, take]);

  // The clock passing expiresAt expires the cart here at once; the server
  // says so too (and its reaper releases the holds): ask it.
  const expiryKey = cart && cart.status === 'ACTIVE' ? `${cart.id}@${cart.expiresAt}` : null;
  useEffect(() => {
    if (!cart || !expiryKey) return;
    const ms = Date.parse(cart.expiresAt) - Date.now();
    const t = window.setTimeout(() => {
      setClockExpired(expiryKey);
      reexecute({ requestPolicy: 'network-only' });
    }, Math.max(0, ms) + 50);
    return () => window.clearTimeout(t);
    // Only a new expiry re-arms the timer.
  }, [expiryKey]);

  const startNewCart = useCallback(async () => {
    creating.current ??= mutate(client, CreateCartMutation, {})
      .then((data) => {
        const fresh = data.createCart.cart;
        if (!fresh) throw new Error(data.createCart.userErrors[0]?.message ?? 'could not create a cart');
        cartRef.current = null;
        take(fresh, true);
        return fresh;
      })
      .finally(() => {
        creating.current = null;
      });
    return creating.current;
  }, [client, take]);

  const ensureCart = useCallback(async () => {
    const usable = (c: Cart) => c.status === 'ACTIVE' && Date.parse(c.expiresAt) - Date.now() > MARGIN_MS;
    const id = idRef.current;
    const known = cartRef.current;
    if (id && known?.id === id && usable(known)) return id;
    if (id && known?.id !== id) {
      const r = await client.query(CartQuery, { id }, { requestPolicy: 'network-only' }).toPromise();
      const c = r.data?.cart;
      if (c && usable(c)) {
        take(c, false);
        return c.id;
      }
    }
    return (await startNewCart()).id;
  }, [client, startNewCart, take]);

  const forget = useCallback(() => {
    adoptId(null);
    cartRef.current = null;
    setCart(null);
  }, [adoptId]);

  const value = useMemo<CartContextValue>(() => {
    const current = cart && cart.id === cartId ? cart : null;
    const expired = !!current && (current.status === 'EXPIRED' ||
      (current.status === 'ACTIVE' && clockExpired === `${current.id}@${current.expiresAt}`));
    return {
      cartId,
      cart: current,
      loading: !!cartId && !current && !query.error,
      expired,
      lastHeldLines: current && lastHeld.current?.id === current.id ? lastHeld.current.lines : null,
      accept: (c) => take(c, true),
      ensureCart,
      startNewCart,
      forget,
    };
  }, [cart, cartId, clockExpired, query.error, take, ensureCart, startNewCart, forget]);

  return <CartContext.Provider value={value}>{children}</CartContext.Provider>;
}

export function useCart(): CartContextValue {
  const v = useContext(CartContext);
  if (!v) throw new Error('useCart outside CartProvider');
  return v;
}

/** Milliseconds until `at`, re-rendering every second (null: no `at`). */
export function useCountdown(at: string | null | undefined): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!at) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    setNow(Date.now());
    return () => window.clearInterval(t);
  }, [at]);
  return at ? Math.max(0, Date.parse(at) - now) : null;
}

/** 754000 → "12:34". */
export function formatCountdown(ms: number): string {
  const s = Math.ceil(ms / 1000);
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}
