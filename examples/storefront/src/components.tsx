import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import type { GroupCardFragment, ProductCardFragment } from './gql/graphql';
import { formatMoney, type MoneyLike } from './money';
import type { RetryNotice } from './mutate';
import { pricesDiffer } from './variants';

export function Price({ money }: { money: MoneyLike }) {
  return <span className="price">{formatMoney(money)}</span>;
}

type ImageLike = { url: string; altText?: string | null };

export function ProductImage({ image, name, size = 'card' }: { image?: ImageLike; name: string; size?: 'card' | 'large' | 'thumb' }) {
  if (!image) return <div className={`img img-${size} img-none`} aria-label={`${name}: no image`} />;
  return <img className={`img img-${size}`} src={image.url} alt={image.altText ?? name} loading="lazy" decoding="async" />;
}

/**
 * A product or group page's large image with the thumbnails that choose it.
 * Its choice is its own: a page gives it a key (the handle) so that another
 * product starts again at the first image.
 */
export function Gallery({ images, name }: { images: readonly ImageLike[]; name: string }) {
  const [shown, setShown] = useState(0);
  const image = images[Math.min(shown, images.length - 1)];
  return (
    <div className="gallery">
      <ProductImage image={image} name={name} size="large" />
      {images.length > 1 && (
        <ul className="thumbs" aria-label="Images">
          {images.map((img, i) => (
            <li key={i}>
              <button type="button" aria-pressed={i === shown} onClick={() => setShown(i)} aria-label={img.altText ?? `Image ${i + 1}`}>
                <ProductImage image={img} name={name} size="thumb" />
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Shop · and the collections a page's product is in, each a link to its listing. */
export function Crumbs({ collections }: { collections: readonly { handle: string; title: string }[] }) {
  return (
    <p className="crumbs">
      <Link to="/">Shop</Link>
      {collections.map((c) => (
        <span key={c.handle}> · <Link to={`/?c=${encodeURIComponent(c.handle)}`}>{c.title}</Link></span>
      ))}
    </p>
  );
}

/** "3 left" / "Sold out", from the live level when there is one. */
export function StockNote({ available, live }: { available: number; live?: boolean }) {
  const cls = available === 0 ? 'stock out' : available <= 5 ? 'stock low' : 'stock';
  return (
    <span className={cls} data-testid="stock" data-available={available} aria-live={live ? 'polite' : undefined}>
      {available === 0 ? 'Sold out' : `${available} left`}
    </span>
  );
}

export function ProductCard({ product, available }: { product: ProductCardFragment; available: number }) {
  return (
    <li className="card">
      <Link to={`/products/${product.handle}`} className="card-link">
        <ProductImage image={product.images[0]} name={product.name} />
        <span className="card-name">{product.name}</span>
      </Link>
      <span className="card-meta">
        <Price money={product.price} />
        <StockNote available={available} />
      </span>
    </li>
  );
}

/** A product group's card: "from $X" when its variants' prices differ; `available` sums them. */
export function GroupCard({ group, available }: { group: GroupCardFragment; available: number }) {
  const range = group.priceRange;
  return (
    <li className="card" data-group={group.handle}>
      <Link to={`/groups/${group.handle}`} className="card-link">
        <ProductImage image={group.images[0]} name={group.title} />
        <span className="card-name">{group.title}</span>
      </Link>
      <span className="card-meta">
        {group.variants.length === 0 ? (
          <span className="price muted">Coming soon</span>
        ) : pricesDiffer(range) ? (
          <span className="price">from {formatMoney(range.min)}</span>
        ) : (
          <Price money={range.min} />
        )}
        <StockNote available={available} />
      </span>
    </li>
  );
}

export function Notice({ kind, children }: { kind: 'info' | 'ok' | 'warn' | 'error'; children: ReactNode }) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' || kind === 'warn' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** What a shopper sees while a retry waits. */
export function retryText(n: RetryNotice): string {
  const secs = Math.max(1, Math.round(n.delayMs / 1000));
  switch (n.reason) {
    case 'rate-limited':
      return `The shop is busy: trying again in ${secs} s…`;
    case 'unavailable':
      return `The shop is briefly unavailable: trying again in ${secs} s…`;
    case 'network':
      return `No answer from the shop: trying again in ${secs} s…`;
  }
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return <p className="loading" role="status">{label}</p>;
}
