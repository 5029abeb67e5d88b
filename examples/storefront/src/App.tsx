import { Link, NavLink, Route, Routes } from 'react-router';
import { formatCountdown, useCart, useCountdown } from './cart/CartContext';
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
            <CartLink />
          </nav>
        </div>
      </header>
      <main className="wrap">
        <Routes>
          <Route path="/" element={<CatalogPage />} />
          <Route path="/products/:handle" element={<ProductPage />} />
          <Route path="/groups/:handle" element={<GroupPage />} />
          <Route path="/cart" element={<CartPage />} />
          <Route path="/orders/:id" element={<OrderPage />} />
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

function NotFound() {
  return (
    <div className="missing">
      <h1>Not found</h1>
      <p>There is nothing here. <Link to="/">Back to the shop</Link></p>
    </div>
  );
}
