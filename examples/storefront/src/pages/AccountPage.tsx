// The customer's pages: sign in (/account when signed out), create an
// account (/account/sign-up), and the account itself (/account when signed
// in): the email, sign out, and the order history (customer.orders, newest
// first), each order a link to its page.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useQuery } from 'urql';
import { useAccount, type SignInOutcome } from '../account/useAccount';
import { Notice, Price, Spinner, retryText } from '../components';
import type { OrderStatus } from '../gql/graphql';
import { TransportError, type RetryNotice } from '../mutate';
import { AccountQuery } from '../operations';
import { describeRefusal } from '../refusals';

/** Where to go after signing in: ?next= when it is a path of the shop, else the cart (with items) or the account. */
export function nextPath(next: string | null, hasItems: boolean): string {
  if (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/account')) return next;
  return hasItems ? '/cart' : '/account';
}

type FormState =
  | { kind: 'idle' }
  | { kind: 'busy'; notice?: RetryNotice }
  | { kind: 'refused'; message: string; code: string }
  | { kind: 'failed'; message: string };

/** Runs a sign-in or sign-up and goes on where the shopper was headed. */
function useSignInFlow() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [state, setState] = useState<FormState>({ kind: 'idle' });
  const run = async (action: (onRetry: (n: RetryNotice) => void) => Promise<SignInOutcome>, what: 'signIn' | 'signUp') => {
    setState({ kind: 'busy' });
    try {
      const outcome = await action((notice) => setState({ kind: 'busy', notice }));
      if (outcome.kind === 'refused') {
        setState({ kind: 'refused', message: describeRefusal(outcome.error, { action: what }), code: outcome.error.code });
        return;
      }
      navigate(nextPath(params.get('next'), outcome.hasItems), { state: { flash: ['You are signed in.', ...outcome.notices] } });
    } catch (e) {
      setState({ kind: 'failed', message: e instanceof TransportError ? e.message : 'Something went wrong. Please try again.' });
    }
  };
  return { state, run, next: params.get('next') };
}

function FormStatus({ state }: { state: FormState }) {
  return (
    <div className="form-status" aria-live="polite">
      {state.kind === 'busy' && state.notice && <Notice kind="info">{retryText(state.notice)}</Notice>}
      {state.kind === 'refused' && (
        <Notice kind="error">
          {state.message}
          {state.code === 'EMAIL_TAKEN' && <> <Link to="/account">Sign in</Link></>}
        </Notice>
      )}
      {state.kind === 'failed' && <Notice kind="error">{state.message}</Notice>}
    </div>
  );
}

const withNext = (path: string, next: string | null) => (next ? `${path}?next=${encodeURIComponent(next)}` : path);

/** /account: the account when signed in, else the sign-in form (kept while a sign-in finishes). */
export function AccountPage() {
  const { session, signIn } = useAccount();
  const { state, run, next } = useSignInFlow();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  if (session && state.kind !== 'busy') return <AccountView />;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void run((onRetry) => signIn(email, password, { onRetry }), 'signIn');
  };
  return (
    <div className="account-form">
      <h1>Sign in</h1>
      <p className="muted">Your cart comes with you: what you added as a guest is kept.</p>
      <form onSubmit={onSubmit} aria-label="Sign in">
        <label>
          Email
          <input type="email" required autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input type="password" required autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={state.kind === 'busy'}>{state.kind === 'busy' ? 'Signing in…' : 'Sign in'}</button>
        <FormStatus state={state} />
      </form>
      <p>New here? <Link to={withNext('/account/sign-up', next)}>Create an account</Link></p>
    </div>
  );
}

export function SignUpPage() {
  const { session, signUp } = useAccount();
  const { state, run, next } = useSignInFlow();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [firstName, setFirstName] = useState('');
  if (session && state.kind !== 'busy') return <AccountView />;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void run((onRetry) => signUp({ email, password, firstName }, { onRetry }), 'signUp');
  };
  return (
    <div className="account-form">
      <h1>Create an account</h1>
      <form onSubmit={onSubmit} aria-label="Create an account">
        <label>
          First name (optional)
          <input type="text" autoComplete="given-name" maxLength={200} value={firstName} onChange={(e) => setFirstName(e.target.value)} />
        </label>
        <label>
          Email
          <input type="email" required autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password <span className="muted small">(8 characters or more)</span>
          <input type="password" required autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={state.kind === 'busy'}>{state.kind === 'busy' ? 'Creating your account…' : 'Create account'}</button>
        <FormStatus state={state} />
      </form>
      <p>Already have an account? <Link to={withNext('/account', next)}>Sign in</Link></p>
    </div>
  );
}

const statusText: Record<OrderStatus, string> = {
  PLACED: 'Placed',
  CANCELLED: 'Cancelled',
  PENDING_PAYMENT: 'Awaiting payment',
  PAYMENT_EXPIRED: 'Payment expired',
  REFUND_REQUIRED: 'Refund due',
  REFUNDED: 'Refunded',
};

function AccountView() {
  const { signOut, sessionLost } = useAccount();
  const navigate = useNavigate();
  // Pages of orders: the cursors that led to each (none: the first).
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors[cursors.length - 1];
  const [{ data, error, fetching }] = useQuery({ query: AccountQuery, variables: { after } });
  const [leaving, setLeaving] = useState(false);
  const customer = data?.customer;
  // The server no longer knows the token (expired, revoked elsewhere).
  const lost = !!data && !fetching && customer === null;
  useEffect(() => {
    if (lost) sessionLost();
  }, [lost, sessionLost]);

  if (!customer) {
    if (error && !data) return <Notice kind="error">We could not load your account. Please reload the page.</Notice>;
    return <Spinner />;
  }
  const orders = customer.orders.edges.map((e) => e.node);
  return (
    <div className="account">
      <h1>Your account</h1>
      <p>
        Signed in as <strong data-testid="account-email">{customer.email}</strong>
        {customer.firstName && <> ({customer.firstName})</>}.{' '}
        <button
          type="button"
          className="link"
          disabled={leaving}
          onClick={async () => {
            setLeaving(true);
            await signOut();
            navigate('/', { state: { flash: ['You are signed out.'] } });
          }}
        >
          Sign out
        </button>
      </p>
      <h2>Orders</h2>
      {orders.length === 0 ? (
        <p className="empty">{cursors.length ? 'No older orders.' : 'No orders yet.'} <Link to="/">Find something you like</Link>.</p>
      ) : (
        <ul className="orders" aria-label="Orders">
          {orders.map((o) => (
            <li key={o.id} className="order-row" data-testid="order-row">
              <Link to={`/orders/${encodeURIComponent(o.id)}`}>
                Order of {new Date(o.createdAt).toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' })}
              </Link>
              <span className="muted">{statusText[o.status] ?? o.status}</span>
              <Price money={o.total} />
            </li>
          ))}
        </ul>
      )}
      <div className="pager">
        {cursors.length > 0 && <button type="button" onClick={() => setCursors(cursors.slice(0, -1))}>← Newer orders</button>}
        {customer.orders.pageInfo.hasNextPage && customer.orders.pageInfo.endCursor && (
          <button type="button" onClick={() => setCursors([...cursors, customer.orders.pageInfo.endCursor!])}>Older orders →</button>
        )}
      </div>
    </div>
  );
}
