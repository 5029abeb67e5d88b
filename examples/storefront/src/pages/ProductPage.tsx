// A product by its handle, with its live stock level (stockChanged) and an
// add-to-cart that explains every refusal.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation, useParams } from 'react-router';
import { useSession } from '../account/SessionContext';
import { useClient, useQuery, useSubscription } from 'urql';
import { useCart } from '../cart/CartContext';
import { Crumbs, Gallery, Notice, Price, Spinner, StockNote, retryText } from '../components';
import { ActionKeys } from '../idempotency';
import { mutate, TransportError, type RetryNotice } from '../mutate';
import { AddToCartMutation, ProductByHandleQuery, StockSubscription } from '../operations';
import { DEAD_CART, describeRefusal, type UserError } from '../refusals';

export function ProductPage() {
  const { handle = '' } = useParams();
  const [{ data, error }] = useQuery({ query: ProductByHandleQuery, variables: { handle } });
  const product = data?.productByHandle;
  const [{ data: level }] = useSubscription({
    query: StockSubscription,
    variables: { productIds: product ? [product.id] : [] },
    pause: !product,
  });

  if (error && !data) return <Notice kind="error">We could not load this product. Please reload the page.</Notice>;
  if (!data) return <Spinner />;
  if (!product) {
    return (
      <div className="missing">
        <h1>Not found</h1>
        <p>We have no product called “{handle}”. <Link to="/">Back to the shop</Link></p>
      </div>
    );
  }
  const available = level && level.stockChanged.productId === product.id ? level.stockChanged.available : product.available;

  return (
    <article className="product">
      <Gallery key={handle} images={product.images} name={product.name} />
      <div className="details">
        <Crumbs collections={product.collections} />
        <h1>{product.name}</h1>
        <p className="big-price"><Price money={product.price} /></p>
        <p><StockNote available={available} live /></p>
        {product.description && <p className="description">{product.description}</p>}
        {product.group && (
          <p className="muted">
            One variant of <Link to={`/groups/${product.group.handle}`}>{product.group.title}</Link>: see all its options.
          </p>
        )}
        {product.limitPerCustomer != null && <LimitNote limit={product.limitPerCustomer} />}
        <AddToCart productId={product.id} available={available} limitPerCustomer={product.limitPerCustomer} />
      </div>
    </article>
  );
}

/** The sign-in page, coming back here afterwards. */
export function useSignInLink(): string {
  const here = useLocation();
  return `/account?next=${encodeURIComponent(here.pathname + here.search)}`;
}

/** "Limited to N per customer" (and, for a guest, that signing in is needed). */
export function LimitNote({ limit }: { limit: number }) {
  const { session } = useSession();
  const signIn = useSignInLink();
  return (
    <p className="limit" data-testid="limit">
      Limited to {limit} per customer
      {session ? '.' : <>: <Link to={signIn}>sign in</Link> to buy it.</>}
    </p>
  );
}

type AddState =
  | { kind: 'idle' }
  | { kind: 'busy'; notice?: RetryNotice }
  | { kind: 'added'; quantity: number; reduced: boolean }
  | { kind: 'refused'; error: UserError; requested: number }
  | { kind: 'failed'; message: string };

/** Adds productId (a product, or the chosen variant of a group) to the cart. */
export function AddToCart({ productId, available, disabled, limitPerCustomer }: {
  productId: string;
  available: number;
  disabled?: boolean;
  /** The product's limit per customer, if it has one (for the refusal's words). */
  limitPerCustomer?: number | null;
}) {
  const client = useClient();
  const cart = useCart();
  const signIn = useSignInLink();
  const [quantity, setQuantity] = useState('1');
  const [state, setState] = useState<AddState>({ kind: 'idle' });
  const keys = useRef(new ActionKeys('add')).current;

  const add = async (qty: number, allowPartial: boolean) => {
    setState({ kind: 'busy' });
    try {
      let cartId = await cart.ensureCart();
      for (let round = 0; ; round++) {
        const input = { cartId, productId, quantity: qty, allowPartial };
        const data = await mutate(client, AddToCartMutation, { input: { ...input, idempotencyKey: keys.keyFor(input) } }, {
          onRetry: (notice) => setState({ kind: 'busy', notice }),
        });
        keys.answered();
        const answer = data.addToCart;
        const refusal = answer.userErrors[0];
        if (refusal && DEAD_CART.has(refusal.code) && round === 0) {
          // The cart expired (or was checked out elsewhere): a new one.
          cartId = (await cart.startNewCart()).id;
          continue;
        }
        cart.accept(answer.cart);
        if (refusal) {
          setState({ kind: 'refused', error: refusal, requested: qty });
          return;
        }
        const reduced = answer.warnings.find((w) => w.code === 'QUANTITY_REDUCED' && w.productId === productId);
        setState({ kind: 'added', quantity: reduced?.reserved ?? qty, reduced: !!reduced });
        return;
      }
    } catch (e) {
      setState({ kind: 'failed', message: e instanceof TransportError ? e.message : 'Something went wrong. Please try again.' });
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const n = Number(quantity);
    if (!Number.isInteger(n) || n < 1) {
      setState({ kind: 'failed', message: 'Please choose a quantity of 1 or more.' });
      return;
    }
    void add(n, false);
  };

  const busy = state.kind === 'busy';
  const soldOut = available === 0;
  // A new variant chosen: the last one's outcome no longer applies.
  useEffect(() => setState({ kind: 'idle' }), [productId]);
  return (
    <form className="add" onSubmit={onSubmit} aria-label="Add to cart">
      <div className="add-row">
        <label>
          Quantity{' '}
          <input type="number" min={1} step={1} inputMode="numeric" value={quantity} onChange={(e) => setQuantity(e.target.value)} disabled={soldOut || disabled} />
        </label>
        <button type="submit" className="primary" disabled={busy || soldOut || disabled}>
          {disabled ? 'Unavailable' : soldOut ? 'Sold out' : busy ? 'Adding…' : 'Add to cart'}
        </button>
      </div>
      <div className="add-status" aria-live="polite">
        {state.kind === 'busy' && state.notice && <Notice kind="info">{retryText(state.notice)}</Notice>}
        {state.kind === 'added' && (
          <Notice kind="ok">
            {state.reduced
              ? `Added ${state.quantity}: all that was left.`
              : `Added ${state.quantity} to your cart.`}{' '}
            <Link to="/cart">View cart</Link>
          </Notice>
        )}
        {state.kind === 'refused' && (
          <Notice kind="warn">
            {describeRefusal(state.error, { action: 'add', limitPerCustomer })}
            {state.error.code === 'INSUFFICIENT_STOCK' && !!state.error.available && (
              <>
                {' '}
                <button type="button" className="link" onClick={() => void add(state.requested, true)}>
                  Add the {state.error.available} left
                </button>
              </>
            )}
            {/* allowPartial does not shrink a request to the allowance: ask for it. */}
            {state.error.code === 'PER_CUSTOMER_LIMIT' && !!state.error.available && (
              <>
                {' '}
                <button type="button" className="link" onClick={() => void add(state.error.available!, false)}>
                  Add {state.error.available}
                </button>
              </>
            )}
            {state.error.code === 'CUSTOMER_REQUIRED' && (
              <>
                {' '}
                <Link to={signIn}>Sign in or create an account</Link>
              </>
            )}
          </Notice>
        )}
        {state.kind === 'failed' && <Notice kind="error">{state.message}</Notice>}
      </div>
    </form>
  );
}
