// The GraphQL client: urql over fetch for queries and mutations, and over
// a graphql-ws websocket (graphql-transport-ws) for subscriptions, which
// reconnects by itself and resubscribes when the connection drops.
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWSClient } from 'graphql-ws';
import { graphqlURL, websocketURL } from './config';

export function makeClient(url: string = graphqlURL()): Client {
  const ws = createWSClient({
    url: websocketURL(url),
    lazy: true,
    lazyCloseTimeout: 3_000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    // 0.5 s, 1 s, 2 s, ... capped at 10 s, with jitter.
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** retries) + Math.random() * 300)),
  });
  return new Client({
    url,
    // POST everything: the API refuses mutations over GET, and POST bodies
    // keep carts' ids out of access logs.
    preferGetMethod: false,
    // No document cache: stock levels change by the second, and its
    // __typename fields would count against the API's complexity limit.
    requestPolicy: 'network-only',
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}
