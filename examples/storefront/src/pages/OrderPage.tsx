// The order summary after checkout (its id is a bearer secret, like the
// cart's: the page reads it from the URL).
import { Link, useLocation, useParams } from 'react-router';
import { useQuery } from 'urql';
import type { Order } from '../checkout';
import { Notice, Price, ProductImage, Spinner } from '../components';
import { formatDeduction, fromMinorUnits, isZero, minorUnits } from '../money';
import { OrderQuery } from '../operations';

export function OrderPage() {
  const { id = '' } = useParams();
  const fromCheckout = (useLocation().state as { order?: Order } | null)?.order;
  const [{ data, error }] = useQuery({ query: OrderQuery, variables: { id }, pause: fromCheckout?.id === id });
  const order = fromCheckout?.id === id ? fromCheckout : data?.order;
  if (!order) {
    if (error) return <Notice kind="error">We could not load this order. Please reload the page.</Notice>;
    if (!data) return <Spinner />;
    return <Notice kind="warn">We found no such order. <Link to="/">Back to the shop</Link></Notice>;
  }
  const placed = new Date(order.createdAt).toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' });
  return (
    <div className="order">
      <h1>{order.status === 'CANCELLED' ? 'Order cancelled' : 'Thank you for your order'}</h1>
      <p className="muted">
        Placed {placed}; a receipt goes to <strong>{order.email}</strong>. Order number{' '}
        <code data-testid="order-id">{order.id}</code>.
      </p>
      <ul className="lines" aria-label="Order lines">
        {order.lines.map((l) => (
          <li className="line" key={l.sku}>
            <span className="line-img"><ProductImage image={l.product?.images[0]} name={l.name} size="thumb" /></span>
            <div className="line-main">
              {l.product ? <Link to={`/products/${l.product.handle}`} className="line-name">{l.name}</Link> : <span className="line-name">{l.name}</span>}
              <span className="muted">{l.quantity} × <Price money={l.unitPrice} /></span>
            </div>
            <strong className="line-total"><Price money={l.lineTotal} /></strong>
          </li>
        ))}
      </ul>
      <dl className="totals order-totals" aria-label="Totals">
        {(!isZero(order.discountTotal) || !isZero(order.giftCardTotal)) && (
          <div>
            <dt>Items</dt>
            <dd data-testid="order-items-total">
              <Price money={fromMinorUnits(order.lines.reduce((n, l) => n + minorUnits(l.lineTotal.amount), 0), order.total.currencyCode)} />
            </dd>
          </div>
        )}
        {!isZero(order.discountTotal) && (
          <div className="deduction"><dt>Discount</dt><dd data-testid="order-discount">{formatDeduction(order.discountTotal)}</dd></div>
        )}
        {!isZero(order.giftCardTotal) && (
          <div className="deduction"><dt>Gift cards</dt><dd data-testid="order-gift-cards">{formatDeduction(order.giftCardTotal)}</dd></div>
        )}
        <div className="total"><dt>Total</dt><dd data-testid="order-total"><Price money={order.total} /></dd></div>
      </dl>
      <p><Link to="/" className="button">Keep shopping</Link></p>
    </div>
  );
}
