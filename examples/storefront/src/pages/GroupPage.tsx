// A product group by its handle: one row of buttons per option, values in
// display order, the combinations nobody can buy now disabled, live
// (stockChanged on every variant); the chosen variant's price and "N left",
// and an add-to-cart of that variant.
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useQuery } from 'urql';
import { Crumbs, Gallery, Notice, Price, Spinner, StockNote } from '../components';
import { formatMoney } from '../money';
import { ProductGroupByHandleQuery } from '../operations';
import { useLiveStock } from '../stock';
import { canBuy, initialSelection, pricesDiffer, variantFor, type Selection } from '../variants';
import { AddToCart, LimitNote } from './ProductPage';

export function GroupPage() {
  const { handle = '' } = useParams();
  const [{ data, error }] = useQuery({ query: ProductGroupByHandleQuery, variables: { handle } });
  const group = data?.productGroupByHandle;
  const levels = useLiveStock(group?.variants.map((v) => v.id) ?? []);
  const [selection, setSelection] = useState<{ handle: string; values: Selection } | null>(null);

  if (error && !data) return <Notice kind="error">We could not load this product. Please reload the page.</Notice>;
  if (!data) return <Spinner />;
  if (!group) {
    return (
      <div className="missing">
        <h1>Not found</h1>
        <p>We have no product called “{handle}”. <Link to="/">Back to the shop</Link></p>
      </div>
    );
  }
  // Until the shopper picks, the first variant with units left when the
  // page loaded (a sale elsewhere does not move the choice).
  const sel = selection?.handle === group.handle ? selection.values : initialSelection(group.variants);
  const pick = (option: string, value: string) => setSelection({ handle: group.handle, values: { ...sel, [option]: value } });
  const variant = variantFor(group.options, group.variants, sel);
  const available = variant ? levels[variant.id] ?? variant.available : 0;

  return (
    <article className="product" data-group={group.handle}>
      <Gallery key={handle} images={group.images} name={group.title} />
      <div className="details">
        <Crumbs collections={group.collections} />
        <h1>{group.title}</h1>
        {group.variants.length > 0 && (
          <p className="big-price">
            {variant ? (
              <Price money={variant.price} />
            ) : pricesDiffer(group.priceRange) ? (
              <span className="price">from {formatMoney(group.priceRange.min)}</span>
            ) : (
              <Price money={group.priceRange.min} />
            )}
          </p>
        )}
        {group.options.map((o) => (
          <fieldset key={o.name} className="option">
            <legend>
              {o.name}
              {sel[o.name] !== undefined && <span className="muted">: {sel[o.name]}</span>}
            </legend>
            <div role="group" aria-label={o.name} className="option-values">
              {o.values.map((value) => (
                <button
                  key={value}
                  type="button"
                  aria-pressed={sel[o.name] === value}
                  disabled={!canBuy(group.options, group.variants, sel, o.name, value, levels)}
                  onClick={() => pick(o.name, value)}
                >
                  {value}
                </button>
              ))}
            </div>
          </fieldset>
        ))}
        <p>
          {variant ? (
            <StockNote available={available} live />
          ) : (
            <span className="stock out" data-testid="stock" data-available={0}>
              {group.variants.length === 0 ? 'Not for sale yet' : 'Not available in this combination'}
            </span>
          )}
        </p>
        {group.description && <p className="description">{group.description}</p>}
        {variant?.limitPerCustomer != null && <LimitNote limit={variant.limitPerCustomer} />}
        <AddToCart productId={variant?.id ?? ''} available={available} disabled={!variant} limitPerCustomer={variant?.limitPerCustomer} />
      </div>
    </article>
  );
}
