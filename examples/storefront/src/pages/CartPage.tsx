// The cart: lines to change or remove, a countdown to expiresAt (kept
// current by cartChanged), a discount code and gift cards, totals that add
// up (subtotal − discount − gift cards = total, as the API computes them),
// and checkout (a signed-in customer's receipt goes to their account's
// email). An expired cart says so and offers a new one.
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useClient } from 'urql';
import { useSession } from '../account/SessionContext';
import { formatCountdown, useCart, useCountdown, type Cart } from '../cart/CartContext';
import { directCheckout } from '../checkout';
import { Notice, Price, ProductImage, Spinner, retryText } from '../components';
import { ActionKeys } from '../idempotency';
import { formatDeduction, formatMoney as formatMoneyText, isZero, type MoneyLike } from '../money';
import { mutate, TransportError, type RetryNotice } from '../mutate';
import {
  ApplyDiscountCodeMutation, ApplyGiftCardMutation, RemoveCartLineMutation, RemoveDiscountCodeMutation, RemoveGiftCardMutation,
  UpdateCartLineMutation,
} from '../operations';
import { describeDiscountReason, describeRefusal, rateLimitedText, type UserError } from '../refusals';

/** A line's amount (the API sends no currency per line: a cart has one, the subtotal's). */
const inCart = (cart: Cart, amount: string): MoneyLike => ({ amount, currencyCode: cart.subtotal.currencyCode });

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
              <Totals cart={cart} />
              <DiscountCodeForm cart={cart} />
              <GiftCardForm cart={cart} />
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
  // updateCartLine's `available` counts what is free beyond this line's
  // holds: the units left, or the customer's allowance left.
  const bounded = refusal?.error.code === 'INSUFFICIENT_STOCK' || refusal?.error.code === 'PER_CUSTOMER_LIMIT';
  const most = bounded && refusal.error.available != null ? refusal.heldBefore + refusal.error.available : null;
  const mostText = refusal?.error.code === 'PER_CUSTOMER_LIMIT'
    ? `At most ${most} for you: this product is limited per customer.`
    : `Only ${most} available for your cart.`;

  return (
    <li className="line" data-testid="cart-line" data-product={p.handle}>
      <Link to={`/products/${p.handle}`} className="line-img">
        <ProductImage image={p.images[0]} name={p.name} size="thumb" />
      </Link>
      <div className="line-main">
        <Link to={`/products/${p.handle}`} className="line-name">{p.name}</Link>
        <span className="muted"><Price money={inCart(cart, p.price.amount)} /> each</span>
        {state.kind === 'busy' && state.notice && <Notice kind="info">{retryText(state.notice)}</Notice>}
        {refusal && (
          <Notice kind="warn">
            {most != null && most > 0 ? mostText : describeRefusal(refusal.error)}
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
      <span className="line-total" data-testid="line-total">
        {line.discountedTotal.amount !== line.lineTotal.amount && (
          <><s className="muted"><Price money={inCart(cart, line.lineTotal.amount)} /></s>{' '}</>
        )}
        <strong><Price money={inCart(cart, line.discountedTotal.amount)} /></strong>
      </span>
      <button type="button" className="link remove" disabled={busy} onClick={() => void run('remove', 0)}>Remove</button>
    </li>
  );
}

function CheckoutForm({ cart }: { cart: Cart }) {
  const client = useClient();
  const { forget } = useCart();
  const { session } = useSession();
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
        // A customer's order goes to their account's email (the API's default).
        session ? { cartId: cart.id } : { cartId: cart.id, email: email.trim() },
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
      {session ? (
        <p className="muted small" data-testid="receipt-to">The receipt goes to <strong>{session.email}</strong>.</p>
      ) : (
        <label>
          Email for the receipt
          <input type="email" required autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} placeholder="you@example.com" />
        </label>
      )}
      <button type="submit" className="primary" disabled={state.kind === 'busy'}>
        {state.kind === 'busy' ? 'Placing order…' : 'Place order'}
      </button>
      {state.kind === 'busy' && state.notice && <Notice kind="info">{retryText(state.notice)}</Notice>}
      {state.kind === 'error' && <Notice kind="error">{state.message}</Notice>}
    </form>
  );
}

/** Subtotal, the code's discount, each gift card, total: the API's figures, which add up. */
function Totals({ cart }: { cart: Cart }) {
  const applied = cart.discounts.filter((d) => d.applicable && !isZero(d.amount));
  const cards = cart.giftCards.filter((g) => !isZero(g.amountUsed));
  return (
    <dl className="totals" aria-label="Totals">
      <div className="subtotal">
        <dt>Subtotal ({cart.totalQuantity} {cart.totalQuantity === 1 ? 'item' : 'items'})</dt>
        <dd data-testid="subtotal"><Price money={cart.subtotal} /></dd>
      </div>
      {applied.map((d) => (
        <div key={d.code} className="deduction">
          <dt>Discount <code>{d.code}</code></dt>
          <dd data-testid="discount-total">{formatDeduction(cart.discountTotal)}</dd>
        </div>
      ))}
      {cards.map((g) => (
        <div key={g.lastCharacters} className="deduction">
          <dt>Gift card ••••{g.lastCharacters}</dt>
          <dd data-testid="gift-card-used">{formatDeduction(g.amountUsed)}</dd>
        </div>
      ))}
      <div className="total">
        <dt>Total</dt>
        <dd data-testid="total"><Price money={cart.total} /></dd>
      </div>
    </dl>
  );
}

type CodeState =
  | { kind: 'idle' }
  | { kind: 'busy'; notice?: RetryNotice }
  | { kind: 'refused'; message: string; code?: string }
  | { kind: 'failed'; message: string };

/**
 * Runs a discount or gift card mutation on the cart: takes its cart,
 * explains a refusal. A dead cart is the cart page's business (it says
 * so); a rate limit on guessing is told, not waited out.
 */
function useCartCodeAction(what: 'discount' | 'giftCard') {
  const { accept } = useCart();
  const [state, setState] = useState<CodeState>({ kind: 'idle' });
  const run = async (
    send: (opts: { onRetry: (n: RetryNotice) => void; retryRateLimited: boolean }) => Promise<{ cart?: Cart | null; userErrors: UserError[] }>,
  ): Promise<boolean> => {
    setState({ kind: 'busy' });
    try {
      const answer = await send({ onRetry: (notice) => setState({ kind: 'busy', notice }), retryRateLimited: what !== 'giftCard' });
      accept(answer.cart);
      const refusal = answer.userErrors[0];
      if (refusal) {
        setState({ kind: 'refused', message: describeRefusal(refusal, { action: what }), code: refusal.code });
        return false;
      }
      setState({ kind: 'idle' });
      return true;
    } catch (e) {
      if (e instanceof TransportError && e.reason === 'rate-limited' && what === 'giftCard') {
        setState({ kind: 'refused', message: rateLimitedText('gift card attempts', e.retryAfterMs) });
      } else {
        setState({ kind: 'failed', message: e instanceof TransportError ? e.message : 'Something went wrong. Please try again.' });
      }
      return false;
    }
  };
  return { state, run };
}

function CodeStatus({ state }: { state: CodeState }) {
  return (
    <>
      {state.kind === 'busy' && state.notice && <Notice kind="info">{retryText(state.notice)}</Notice>}
      {state.kind === 'refused' && (
        <Notice kind="warn">
          {state.message}
          {state.code === 'CUSTOMER_REQUIRED' && <> <Link to="/account?next=%2Fcart">Sign in</Link></>}
        </Notice>
      )}
      {state.kind === 'failed' && <Notice kind="error">{state.message}</Notice>}
    </>
  );
}

function DiscountCodeForm({ cart }: { cart: Cart }) {
  const client = useClient();
  const [code, setCode] = useState('');
  const { state, run } = useCartCodeAction('discount');
  const current = cart.discounts[0];
  const busy = state.kind === 'busy';

  const apply = async (e: FormEvent) => {
    e.preventDefault();
    const typed = code.trim();
    if (!typed) return;
    const ok = await run(async (opts) => (await mutate(client, ApplyDiscountCodeMutation, { cartId: cart.id, code: typed }, opts)).cartApplyDiscountCode);
    if (ok) setCode('');
  };
  const remove = () =>
    void run(async (opts) => (await mutate(client, RemoveDiscountCodeMutation, { cartId: cart.id, code: current!.code }, opts)).cartRemoveDiscountCode);

  return (
    <form className="code-form" onSubmit={apply} aria-label="Apply a discount code">
      {current && (
        <div className={current.applicable ? 'applied' : 'applied idle'}>
          <span data-testid="discount">
            <code>{current.code}</code>{' '}
            {current.applicable ? <>applied: {formatDeduction(current.amount)}</> : describeDiscountReason(current.reason)}
          </span>
          <button type="button" className="link" disabled={busy} onClick={remove} aria-label={`Remove code ${current.code}`}>Remove</button>
        </div>
      )}
      <label htmlFor="discount-code">Discount code</label>
      <div className="code-row">
        <input id="discount-code" type="text" autoComplete="off" autoCapitalize="characters" spellCheck={false} maxLength={64}
          value={code} onChange={(e) => setCode(e.target.value)} disabled={busy} />
        <button type="submit" disabled={busy || !code.trim()}>Apply code</button>
      </div>
      <CodeStatus state={state} />
    </form>
  );
}

function GiftCardForm({ cart }: { cart: Cart }) {
  const client = useClient();
  const [code, setCode] = useState('');
  const { state, run } = useCartCodeAction('giftCard');
  const busy = state.kind === 'busy';

  const apply = async (e: FormEvent) => {
    e.preventDefault();
    const typed = code.trim();
    if (!typed) return;
    const ok = await run(async (opts) => (await mutate(client, ApplyGiftCardMutation, { cartId: cart.id, code: typed }, opts)).cartApplyGiftCard);
    if (ok) setCode('');
  };
  const remove = (lastCharacters: string) =>
    void run(async (opts) => (await mutate(client, RemoveGiftCardMutation, { cartId: cart.id, lastCharacters }, opts)).cartRemoveGiftCard);

  return (
    <form className="code-form" onSubmit={apply} aria-label="Apply a gift card">
      {cart.giftCards.map((g) => (
        <div key={g.lastCharacters} className="applied">
          <span data-testid="gift-card">
            Gift card ••••{g.lastCharacters}: {isZero(g.amountUsed) ? 'nothing to pay now' : <>pays {formatMoneyText(g.amountUsed)}</>}
            <span className="muted small">, {formatMoneyText(g.balanceAfter)} left on it after this order</span>
          </span>
          <button type="button" className="link" disabled={busy} onClick={() => remove(g.lastCharacters)} aria-label={`Remove gift card ending ${g.lastCharacters}`}>
            Remove
          </button>
        </div>
      ))}
      <label htmlFor="gift-card-code">Gift card</label>
      <div className="code-row">
        <input id="gift-card-code" type="text" autoComplete="off" autoCapitalize="characters" spellCheck={false} maxLength={64}
          value={code} onChange={(e) => setCode(e.target.value)} disabled={busy} />
        <button type="submit" disabled={busy || !code.trim()}>Apply gift card</button>
      </div>
      <CodeStatus state={state} />
    </form>
  );
}
