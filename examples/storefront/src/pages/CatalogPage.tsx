// The catalog: search, sort, collections, and pages both ways, all in the
// URL (?q=, ?sort=, ?c=, ?stock=1, ?after= / ?before=), so that the back
// button and a shared link show the same page. Availability is live.
//
// Product groups (articles with variants) come first, on the first page of
// products: the same search, filter and order, at most GROUP_LIMIT of them.
// Their variants are products too, and the API cannot list ungrouped
// products only, so the products' pages leave the grouped ones out and are
// filled from the pages after them (src/paging.ts); the count says how many
// products the listing holds, variants included.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useClient, useQuery } from 'urql';
import { GroupCard, Notice, ProductCard, Spinner } from '../components';
import type { GroupCardFragment, ProductListFragment, ProductSortKeys } from '../gql/graphql';
import { CatalogGroupsQuery, CatalogQuery, CollectionCatalogQuery, CollectionGroupsQuery, CollectionsQuery } from '../operations';
import { fillPage, needsMore } from '../paging';
import { useLiveStock } from '../stock';

export const PAGE_SIZE = 8;
/** The groups listed above the products (each costs its variants in the API's complexity limit). */
export const GROUP_LIMIT = 12;

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
  const [allGroups] = useQuery({
    query: CatalogGroupsQuery,
    variables: { query: q || undefined, inStock: inStock || undefined, ...order, first: GROUP_LIMIT },
    pause: !!collection,
  });
  const [collectionGroups] = useQuery({
    query: CollectionGroupsQuery,
    variables: { handle: collection, ...order, first: GROUP_LIMIT },
    pause: !collection,
  });
  const result = collection ? inCollection : all;
  const raw: ProductListFragment | undefined = collection
    ? inCollection.data?.collectionByHandle?.products
    : all.data?.products;

  // A page partly of variants is filled from the next pages that way, with
  // the variables of the answer at hand (which may be an older one's).
  const client = useClient();
  const dir = result.operation?.variables.before ? 'backward' : 'forward';
  const [filled, setFilled] = useState<{ from: ProductListFragment; list: ProductListFragment } | null>(null);
  const short = !!raw && needsMore(raw, dir, PAGE_SIZE);
  useEffect(() => {
    if (!raw || !short) return;
    let current = true;
    const at = (cursor: string) =>
      dir === 'forward'
        ? { first: PAGE_SIZE, after: cursor, last: undefined, before: undefined }
        : { last: PAGE_SIZE, before: cursor, first: undefined, after: undefined };
    const inColl = collection ? inCollection.operation?.variables : undefined;
    const inAll = collection ? undefined : all.operation?.variables;
    const fetchMore = async (cursor: string) => {
      if (inColl) {
        const r = await client.query(CollectionCatalogQuery, { ...inColl, ...at(cursor) }).toPromise();
        return r.data?.collectionByHandle?.products ?? null;
      }
      if (!inAll) return null;
      const r = await client.query(CatalogQuery, { ...inAll, ...at(cursor) }).toPromise();
      return r.data?.products ?? null;
    };
    void fillPage(raw, dir, PAGE_SIZE, fetchMore).then((list) => {
      if (current) setFilled({ from: raw, list });
    });
    return () => {
      current = false;
    };
    // raw is a new object for each answer, and the only input that matters.
  }, [raw, short]);
  const list: ProductListFragment | undefined = !raw
    ? undefined
    : !short
      ? { ...raw, edges: raw.edges.filter((e) => !e.node.group) }
      : filled?.from === raw
        ? filled.list
        : undefined;
  const groupList = collection ? collectionGroups.data?.collectionByHandle?.productGroups : allGroups.data?.productGroups;
  // Groups show on the first page of products; a failed groups query
  // leaves the products alone.
  const groupsFailed = !!(collection ? collectionGroups.error : allGroups.error);
  const groups: GroupCardFragment[] = list && !list.pageInfo.hasPreviousPage ? groupList?.edges.map((e) => e.node) ?? [] : [];
  const groupsPending = !groupList && !groupsFailed && !!list && !list.pageInfo.hasPreviousPage;
  const products = list?.edges ?? [];

  const live = useLiveStock([
    ...products.map((e) => e.node.id),
    ...groups.flatMap((g) => g.variants.map((v) => v.id)),
  ]);
  const groupAvailable = (g: GroupCardFragment) => g.variants.reduce((sum, v) => sum + (live[v.id] ?? v.available), 0);

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
                {countText(list.totalCount, groupList?.totalCount ?? 0)}
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

        {result.error && !raw && <Notice kind="error">We could not load the catalog. Please reload the page.</Notice>}
        {((!list && !(result.error && !raw)) || groupsPending) && <Spinner />}
        {collection && inCollection.data && !inCollection.data.collectionByHandle && (
          <Notice kind="warn">There is no such collection. <Link to="/">See all products</Link>.</Notice>
        )}
        {list && !groupsPending && products.length === 0 && groups.length === 0 && (
          <p className="empty">{list.totalCount === 0 ? 'No products match. Try another search.' : 'No more products here: the others are variants of the articles listed on the first page.'}</p>
        )}
        {list && !groupsPending && (products.length > 0 || groups.length > 0) && (
          <ul className="grid" aria-label="Products">
            {groups.map((g) => (
              <GroupCard key={`g${g.id}`} group={g} available={groupAvailable(g)} />
            ))}
            {products.map(({ node }) => (
              <ProductCard key={node.id} product={node} available={live[node.id] ?? node.available} />
            ))}
          </ul>
        )}
        {groupList && groups.length > 0 && groupList.totalCount > groups.length && (
          <p className="muted small">
            The first {groups.length} of {groupList.totalCount} articles: search or pick a collection to see the others.
          </p>
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

/** "10 products"; with groups, "2 articles · 12 products (variants included)". */
export function countText(products: number, groups: number): string {
  const p = products === 1 ? '1 product' : `${products} products`;
  if (groups === 0) return p;
  return `${groups === 1 ? '1 article' : `${groups} articles`} · ${p} (variants included)`;
}
