// The catalog's pages of ungrouped products. Variants are products too and
// are shown by their group's card, but the API cannot list ungrouped
// products only: a page whose products are partly variants is filled from
// the next pages in the same direction (at most MAX_ROUNDS requests in all),
// and its cursors are those of the products kept, so that the next page
// starts right after them.
import type { ProductListFragment } from './gql/graphql';

export const MAX_ROUNDS = 4;

type Edge = ProductListFragment['edges'][number];
export type Direction = 'forward' | 'backward';

const ungrouped = (edges: Edge[]) => edges.filter((e) => !e.node.group);

/** Whether a page from the API has fewer ungrouped products than size and more pages that way. */
export function needsMore(page: ProductListFragment, dir: Direction, size: number): boolean {
  const more = dir === 'forward' ? page.pageInfo.hasNextPage : page.pageInfo.hasPreviousPage;
  return ungrouped(page.edges).length < size && more;
}

/**
 * The ungrouped products of first (a page from the API) and, while fewer
 * than size, of the pages that follow it in dir, which fetchMore gets from a
 * cursor (null or a throw: no more). Its pageInfo pages on from what it kept.
 */
export async function fillPage(
  first: ProductListFragment,
  dir: Direction,
  size: number,
  fetchMore: (cursor: string) => Promise<ProductListFragment | null>,
  maxRounds: number = MAX_ROUNDS,
): Promise<ProductListFragment> {
  const forward = dir === 'forward';
  let kept = ungrouped(first.edges);
  let last = first;
  for (let round = 1; round < maxRounds && kept.length < size; round++) {
    const more = forward ? last.pageInfo.hasNextPage : last.pageInfo.hasPreviousPage;
    const cursor = forward ? last.pageInfo.endCursor : last.pageInfo.startCursor;
    if (!more || !cursor) break;
    let next: ProductListFragment | null;
    try {
      next = await fetchMore(cursor);
    } catch {
      next = null;
    }
    if (!next) break;
    kept = forward ? [...kept, ...ungrouped(next.edges)] : [...ungrouped(next.edges), ...kept];
    last = next;
  }
  const trimmed = kept.length > size;
  const edges = forward ? kept.slice(0, size) : kept.slice(-size);
  if (forward) {
    return {
      totalCount: first.totalCount,
      edges,
      pageInfo: {
        hasPreviousPage: first.pageInfo.hasPreviousPage,
        startCursor: first.pageInfo.startCursor,
        hasNextPage: trimmed || last.pageInfo.hasNextPage,
        endCursor: trimmed ? edges[edges.length - 1].cursor : last.pageInfo.endCursor,
      },
    };
  }
  return {
    totalCount: first.totalCount,
    edges,
    pageInfo: {
      hasNextPage: first.pageInfo.hasNextPage,
      endCursor: first.pageInfo.endCursor,
      hasPreviousPage: trimmed || last.pageInfo.hasPreviousPage,
      startCursor: trimmed ? edges[0].cursor : last.pageInfo.startCursor,
    },
  };
}
