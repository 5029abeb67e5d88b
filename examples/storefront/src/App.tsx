import { useEffect, useState } from 'react';
import { Link, NavLink, Route, Routes, useLocation } from 'react-router';
import { useQuery } from 'urql';
import { useSession } from './account/SessionContext';
import { useAccount } from './account/useAccount';
import { formatCountdown, useCart, useCountdown } from './cart/CartContext';
import { Notice } from './components';
import { SessionCheckQuery } from './operations';
import { AccountPage, SignUpPage } from './pages/AccountPage';
import { CartPage } from './pages/CartPage';
import { CatalogPage } from './pages/CatalogPage';
import { GroupPage } from './pages/GroupPage';
import { OrderPage } from './pages/OrderPage';
import { ProductPage } from './pages/ProductPage';

export function App() {
  return (
    <>
      <header className="top">
        <div className="wrap top-inner">
          <Link to="/" className="brand">Holdfast <span>Shop</span></Link>
          <nav aria-label="Main">
            <NavLink to="/" end>Catalog</NavLink>
            <AccountLink />
            <CartLink />
          </nav>
        </div>
      </header>
      <main className="wrap">
        <Flash />
        <Routes>
          <Route path="/" element={<CatalogPage />} />
          <Route path="/products/:handle" element={<ProductPage />} />
          <Route path="/groups/:handle" element={<GroupPage />} />
          <Route path="/cart" element={<CartPage />} />
          <Route path="/orders/:id" element={<OrderPage />} />
          <Route path="/account" element={<AccountPage />} />
          <Route path="/account/sign-up" element={<SignUpPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
      <footer className="wrap foot">A demo storefront on the Holdfast API: stock is held for you while it is in your cart.</footer>
    </>
  );
}

function CartLink() {
  const { cart, expired } = useCart();
  const count = cart && cart.status === 'ACTIVE' && !expired ? cart.totalQuantity : 0;
  const left = useCountdown(count > 0 ? cart?.expiresAt : null);
  return (
    <NavLink to="/cart" className="cart-link">
      Cart <span className="badge" data-testid="cart-count">{count}</span>
      {left != null && <span className="muted small"> {formatCountdown(left)}</span>}
    </NavLink>
  );
}

function AccountLink() {
  const { session } = useSession();
  const { sessionLost } = useAccount();
  // Once per page load (and sign-in): a token the server no longer knows
  // (revoked elsewhere) signs out here too.
  const [check] = useQuery({ query: SessionCheckQuery, pause: !session });
  const lost = !!session && !check.fetching && !check.stale && !check.error && check.data?.customer === null;
  useEffect(() => {
    if (lost) sessionLost();
  }, [lost, sessionLost]);
  return <NavLink to="/account" end>{session ? 'Account' : 'Sign in'}</NavLink>;
}

/** Messages a page hands to the next one (navigate(path, {state: {flash}})): sign-in, sign-out. */
function Flash() {
  const location = useLocation();
  const flash = (location.state as { flash?: string[] } | null)?.flash;
  const [closed, setClosed] = useState<string | null>(null);
  if (!flash?.length || closed === location.key) return null;
  return (
    <div className="flash" data-testid="flash">
      <Notice kind="info">
        {flash.map((m, i) => <p key={i}>{m}</p>)}
        <button type="button" className="link" onClick={() => setClosed(location.key)}>Dismiss</button>
      </Notice>
    </div>
  );
}

function NotFound() {
  return (
    <div className="missing">
      <h1>Not found</h1>
      <p>There is nothing here. <Link to="/">Back to the shop</Link></p>
    </div>
  );
}
