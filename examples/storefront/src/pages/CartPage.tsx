// The cart: lines to change or remove, a countdown to expiresAt (kept
// current by cartChanged), and checkout. An expired cart says so and offers
// a new one.
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useClient } from 'urql';
import { formatCountdown, useCart, useCountdown, type Cart } from '../cart/CartContext';
import { directCheckout } from '../checkout';
import { Notice, Price, ProductImage, Spinner, retryText } from '../components';
import { ActionKeys } from '../idempotency';
import { mutate, TransportError, type RetryNotice } from '../mutate';
import { RemoveCartLineMutation, UpdateCartLineMutation } from '../operations';
import { describeRefusal, type UserError } from '../refusals';

export function CartPage() {
  const { cart, loading, expired, lastHeldLines } = useCart();
  if (loading) return <Spinner label="Loading your cart…" />;
  if (cart?.status === 'CHECKED_OUT') {
    return (
      <div className="cart-page">
        <h1>Your cart</h1>
        <Notice kind="info">This cart has been checked out. <Link to="/">Keep shopping</Link></Notice>
      </div>
    );
  }
  // An expired cart has no lines left: show what it held, if known.
  const lines = expired ? lastHeldLines ?? [] : cart?.lines ?? [];
  const emptyAndExpired = expired && lastHeldLines !== null && lastHeldLines.length === 0;
  if (!cart || emptyAndExpired || (!expired && lines.length === 0)) {
    return (
      <div className="cart-page">
        <h1>Your cart</h1>
        <p className="empty">Your cart is empty. <Link to="/">Find something you like</Link>.</p>
      </div>
    );
  }
  return (
    <div className="cart-page">
      <h1>Your cart</h1>
      {expired ? <Expired cart={cart} /> : <Countdown cart={cart} />}
      {lines.length > 0 && (
        <div className="cart-layout">
          <ul className={expired ? 'lines expired' : 'lines'} aria-label="Cart lines">
            {lines.map((line) => (
              <CartLine key={line.product.id} cart={cart} line={line} disabled={expired} />
            ))}
          </ul>
          {!expired && (
            <aside className="summary" aria-label="Summary">
              <p className="subtotal">
                <span>Subtotal ({cart.totalQuantity} {cart.totalQuantity === 1 ? 'item' : 'items'})</span>
                <strong data-testid="subtotal"><Price money={cart.subtotal} /></strong>
              </p>
              <CheckoutForm cart={cart} />
            </aside>
          )}
        </div>
      )}
    </div>
  );
}

function Countdown({ cart }: { cart: Cart }) {
  const left = useCountdown(cart.expiresAt) ?? 0;
  return (
    <p className={left < 60_000 ? 'countdown soon' : 'countdown'} data-testid="countdown">
      Your items are held for{' '}
      <time dateTime={cart.expiresAt}>{formatCountdown(left)}</time>
    </p>
  );
}

function Expired({ cart }: { cart: Cart }) {
  const { startNewCart } = useCart();
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  const at = new Date(cart.expiresAt).toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' });
  return (
    <Notice kind="warn">
      <span data-testid="expired">Your cart expired at {at}: its items went back on the shelf.</span>{' '}
      <button
        type="button"
        className="primary small"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await startNewCart();
          } catch (e) {
            setFailed(e instanceof TransportError ? e.message : 'Could not start a new cart. Please try again.');
          } finally {
            setBusy(false);
          }
        }}
      >
        Start a new cart
      </button>
      {failed && <span className="error-text"> {failed}</span>}
    </Notice>
  );
}

type LineState =
  | { kind: 'idle' }
  | { kind: 'busy'; notice?: RetryNotice }
  | { kind: 'refused'; error: UserError; heldBefore: number }
  | { kind: 'failed'; message: string };

function CartLine({ cart, line, disabled }: { cart: Cart; line: Cart['lines'][number]; disabled: boolean }) {
  const client = useClient();
  const { accept } = useCart();
  const keys = useMemo(() => ({ update: new ActionKeys('update'), remove: new ActionKeys('remove') }), []);
  const [draft, setDraft] = useState<string | null>(null);
  const [state, setState] = useState<LineState>({ kind: 'idle' });
  const p = line.product;

  const run = async (action: 'update' | 'remove', quantity: number) => {
    setState({ kind: 'busy' });
    try {
      const onRetry = (notice: RetryNotice) => setState({ kind: 'busy', notice });
      const base = { cartId: cart.id, productId: p.id };
      const answer =
        action === 'remove' || quantity === 0
          ? (await mutate(client, RemoveCartLineMutation, { input: { ...base, idempotencyKey: keys.remove.keyFor(base) } }, { onRetry }))
              .removeCartLine
          : (await mutate(client, UpdateCartLineMutation, {
              input: { ...base, quantity, idempotencyKey: keys.update.keyFor({ ...base, quantity }) },
            }, { onRetry })).updateCartLine;
      keys.update.answered();
      keys.remove.answered();
      accept(answer.cart);
      const refusal = answer.userErrors[0];
      setDraft(null);
      setState(refusal ? { kind: 'refused', error: refusal, heldBefore: line.quantity } : { kind: 'idle' });
    } catch (e) {
      setState({ kind: 'failed', message: e instanceof TransportError ? e.message : 'Something went wrong. Please try again.' });
    }
  };

  const commit = (e?: FormEvent) => {
    e?.preventDefault();
    if (draft === null) return;
    const n = Number(draft);
    if (!Number.isInteger(n) || n < 0) {
      setState({ kind: 'failed', message: 'Please enter a whole number.' });
      return;
    }
    if (n === line.quantity) {
      setDraft(null);
      return;
    }
    void run('update', n);
  };

  const busy = state.kind === 'busy' || disabled;
  const refusal = state.kind === 'refused' ? state : null;
  // updateCartLine's `available` counts what is free beyond this line's holds.
  const most = refusal?.error.code === 'INSUFFICIENT_STOCK' && refusal.error.available != null
    ? refusal.heldBefore + refusal.error.available
    : null;

  return (
    <li className="line" data-testid="cart-line" data-product={p.handle}>
      <Link to={`/products/${p.handle}`} className="line-img">
        <ProductImage image={p.images[0]} name={p.name} size="thumb" />
      </Link>
      <div className="line-main">
        <Link to={`/products/${p.handle}`} className="line-name">{p.name}</Link>
        <span className="muted"><Price money={p.price} /> each</span>
        {state.kind === 'busy' && state.notice && <Notice kind="info">{retryText(state.notice)}</Notice>}
        {refusal && (
          <Notice kind="warn">
            {most != null && most > 0 ? `Only ${most} available for your cart.` : describeRefusal(refusal.error)}
            {most != null && most > 0 && most !== line.quantity && (
              <>
                {' '}
                <button type="button" className="link" onClick={() => void run('update', most)}>Set to {most}</button>
              </>
            )}
          </Notice>
        )}
        {state.kind === 'failed' && <Notice kind="error">{state.message}</Notice>}
      </div>
      <form className="qty" onSubmit={commit} aria-label={`Quantity of ${p.name}`}>
        <button type="button" aria-label="One less" disabled={busy} onClick={() => void run('update', line.quantity - 1)}>−</button>
        <input
          type="number"
          min={0}
          step={1}
          inputMode="numeric"
          aria-label="Quantity"
          value={draft ?? String(line.quantity)}
          disabled={busy}
          onChange={(e) => setDraft(e.target.value)}
          onBlur={() => commit()}
        />
        <button type="button" aria-label="One more" disabled={busy} onClick={() => void run('update', line.quantity + 1)}>+</button>
      </form>
      <strong className="line-total"><Price money={line.lineTotal} /></strong>
      <button type="button" className="link remove" disabled={busy} onClick={() => void run('remove', 0)}>Remove</button>
    </li>
  );
}

function CheckoutForm({ cart }: { cart: Cart }) {
  const client = useClient();
  const { forget } = useCart();
  const navigate = useNavigate();
  // One flow per page, so that a retry of the same checkout reuses its key.
  const flow = useRef(directCheckout(client)).current;
  const [email, setEmail] = useState('');
  const [state, setState] = useState<
    { kind: 'idle' } | { kind: 'busy'; notice?: RetryNotice } | { kind: 'error'; message: string }
  >({ kind: 'idle' });

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setState({ kind: 'busy' });
    try {
      const outcome = await flow.placeOrder(
        { cartId: cart.id, email: email.trim() },
        { onRetry: (notice) => setState({ kind: 'busy', notice }) },
      );
      switch (outcome.kind) {
        case 'placed':
          forget();
          navigate(`/orders/${encodeURIComponent(outcome.order.id)}`, { state: { order: outcome.order } });
          return;
        case 'redirect':
          window.location.assign(outcome.url);
          return;
        case 'refused':
          setState({ kind: 'error', message: describeRefusal(outcome.error) });
      }
    } catch (err) {
      setState({ kind: 'error', message: err instanceof TransportError ? err.message : 'Something went wrong. Please try again.' });
    }
  };

  return (
    <form className="checkout" onSubmit={onSubmit} aria-label="Checkout">
      <label>
        Email for the receipt
        <input type="email" required autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} placeholder="you@example.com" />
      </label>
      <button type="submit" className="primary" disabled={state.kind === 'busy'}>
        {state.kind === 'busy' ? 'Placing order…' : 'Place order'}
      </button>
      {state.kind === 'busy' && state.notice && <Notice kind="info">{retryText(state.notice)}</Notice>}
      {state.kind === 'error' && <Notice kind="error">{state.message}</Notice>}
    </form>
  );
}
