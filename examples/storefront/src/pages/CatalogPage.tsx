// The catalog: search, sort, collections, and pages both ways, all in the
// URL (?q=, ?sort=, ?c=, ?stock=1, ?after= / ?before=), so that the back
// button and a shared link show the same page. Availability is live.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useQuery, useSubscription } from 'urql';
import { Notice, ProductCard, Spinner } from '../components';
import type { ProductListFragment, ProductSortKeys } from '../gql/graphql';
import { CatalogQuery, CollectionCatalogQuery, CollectionsQuery, StockSubscription } from '../operations';

export const PAGE_SIZE = 8;

interface SortOption {
  value: string;
  label: string;
  sortKey?: ProductSortKeys;
  reverse?: boolean;
}

const SORTS: SortOption[] = [
  { value: '', label: 'Featured' },
  { value: 'name', label: 'Name: A to Z', sortKey: 'NAME' },
  { value: 'name-desc', label: 'Name: Z to A', sortKey: 'NAME', reverse: true },
  { value: 'price', label: 'Price: low to high', sortKey: 'PRICE' },
  { value: 'price-desc', label: 'Price: high to low', sortKey: 'PRICE', reverse: true },
  { value: 'newest', label: 'Newest', sortKey: 'CREATED_AT', reverse: true },
];

export function CatalogPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q')?.trim() ?? '';
  const collection = params.get('c') ?? '';
  const inStock = params.get('stock') === '1';
  const sort = SORTS.find((s) => s.value === (params.get('sort') ?? '')) ?? SORTS[0];
  const after = params.get('after') ?? undefined;
  const before = params.get('before') ?? undefined;

  // Without a sortKey, the API orders a search by relevance.
  const order = { sortKey: sort.sortKey, reverse: sort.reverse };
  const page = before ? { last: PAGE_SIZE, before } : { first: PAGE_SIZE, after };

  const [all] = useQuery({
    query: CatalogQuery,
    variables: { query: q || undefined, inStock: inStock || undefined, ...order, ...page },
    pause: !!collection,
  });
  const [inCollection] = useQuery({
    query: CollectionCatalogQuery,
    variables: { handle: collection, ...order, ...page },
    pause: !collection,
  });
  const result = collection ? inCollection : all;
  const list: ProductListFragment | undefined = collection
    ? inCollection.data?.collectionByHandle?.products
    : all.data?.products;

  const live = useLiveStock(list?.edges.map((e) => e.node.id) ?? []);

  // Changing anything but the page starts at the first page.
  const update = (changes: Record<string, string | null>, keepPage = false) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!keepPage) {
      next.delete('after');
      next.delete('before');
    }
    setParams(next);
  };

  const [search, setSearch] = useState(q);
  useEffect(() => setSearch(q), [q]);
  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    // A search looks through every product, not one collection.
    update({ q: search.trim() || null, c: null });
  };

  const title = collection ? inCollection.data?.collectionByHandle?.title ?? '' : q ? `Results for “${q}”` : 'All products';

  return (
    <div className="catalog">
      <aside className="filters">
        <form role="search" onSubmit={onSearch} className="search">
          <label htmlFor="search" className="visually-hidden">Search products</label>
          <input
            id="search"
            type="search"
            placeholder="Search…"
            value={search}
            maxLength={200}
            onChange={(e) => setSearch(e.target.value)}
          />
          <button type="submit">Search</button>
        </form>
        <Collections current={collection} onPick={(handle) => update({ c: handle, q: null })} />
        <label className="check">
          <input type="checkbox" checked={inStock} disabled={!!collection} onChange={(e) => update({ stock: e.target.checked ? '1' : null })} />
          In stock only
        </label>
      </aside>

      <section className="results" aria-busy={result.fetching}>
        <div className="results-head">
          <div>
            <h1>{title}</h1>
            {collection && inCollection.data?.collectionByHandle?.description && (
              <p className="muted">{inCollection.data.collectionByHandle.description}</p>
            )}
            {list && (
              <p className="muted" data-testid="count">
                {list.totalCount === 1 ? '1 product' : `${list.totalCount} products`}
              </p>
            )}
          </div>
          <label className="sort">
            Sort by{' '}
            <select value={sort.value} onChange={(e) => update({ sort: e.target.value || null })}>
              {SORTS.map((s) => (
                <option key={s.value} value={s.value}>
                  {s.value === '' && q ? 'Best match' : s.label}
                </option>
              ))}
            </select>
          </label>
        </div>

        {result.error && !list && <Notice kind="error">We could not load the catalog. Please reload the page.</Notice>}
        {!list && !result.error && <Spinner />}
        {collection && inCollection.data && !inCollection.data.collectionByHandle && (
          <Notice kind="warn">There is no such collection. <Link to="/">See all products</Link>.</Notice>
        )}
        {list && list.edges.length === 0 && <p className="empty">No products match. Try another search.</p>}
        {list && list.edges.length > 0 && (
          <ul className="grid" aria-label="Products">
            {list.edges.map(({ node }) => (
              <ProductCard key={node.id} product={node} available={live[node.id] ?? node.available} />
            ))}
          </ul>
        )}
        {list && (list.pageInfo.hasPreviousPage || list.pageInfo.hasNextPage) && (
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              disabled={!list.pageInfo.hasPreviousPage || !list.pageInfo.startCursor}
              onClick={() => update({ before: list.pageInfo.startCursor, after: null }, true)}
            >
              ← Previous
            </button>
            <button
              type="button"
              disabled={!list.pageInfo.hasNextPage || !list.pageInfo.endCursor}
              onClick={() => update({ after: list.pageInfo.endCursor, before: null }, true)}
            >
              Next →
            </button>
          </nav>
        )}
      </section>
    </div>
  );
}

function Collections({ current, onPick }: { current: string; onPick: (handle: string | null) => void }) {
  const [{ data }] = useQuery({ query: CollectionsQuery });
  const collections = data?.collections.edges.map((e) => e.node) ?? [];
  return (
    <nav aria-label="Collections" className="collections">
      <h2>Collections</h2>
      <ul>
        <li>
          <button type="button" aria-pressed={!current} onClick={() => onPick(null)}>All products</button>
        </li>
        {collections.map((c) => (
          <li key={c.id}>
            <button type="button" aria-pressed={current === c.handle} onClick={() => onPick(c.handle)}>
              {c.title}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** The live `available` of the products shown (stockChanged). */
function useLiveStock(ids: string[]): Record<string, number> {
  const key = ids.join(',');
  const productIds = useMemo(() => (key ? key.split(',') : []), [key]);
  const [{ data }] = useSubscription(
    { query: StockSubscription, variables: { productIds }, pause: productIds.length === 0 },
    // One message per product and change: keep the latest of each.
    (levels: Record<string, number> = {}, m) => ({ ...levels, [m.stockChanged.productId]: m.stockChanged.available }),
  );
  return data ?? {};
}
