// Live stock levels: the stockChanged subscription on a list of products,
// shared by the catalog, the product page and a group's page.
import { useMemo } from 'react';
import { useSubscription } from 'urql';
import { StockSubscription } from './operations';

/** The live `available` of the products listed (stockChanged), by id; empty until news arrives. */
export function useLiveStock(ids: string[]): Record<string, number> {
  const key = ids.join(',');
  const productIds = useMemo(() => (key ? key.split(',') : []), [key]);
  const [{ data }] = useSubscription(
    { query: StockSubscription, variables: { productIds }, pause: productIds.length === 0 },
    // One message per product and change: keep the latest of each.
    (levels: Record<string, number> = {}, m) => ({ ...levels, [m.stockChanged.productId]: m.stockChanged.available }),
  );
  return data ?? {};
}
