// The GraphQL client: urql over fetch for queries and mutations, and over
// a graphql-ws websocket (graphql-transport-ws) for subscriptions, which
// reconnects by itself and resubscribes when the connection drops.
//
// A signed-in customer's token (src/account) goes with every request: as
// `Authorization: Bearer <token>` on HTTP, read when each request leaves
// (so that the requests of a sign-in carry the new token at once), and in
// the websocket's connection_init payload ({"Authorization": "Bearer …"}:
// browsers cannot set headers on websockets; graph/subscriptions.go reads
// it there). The socket's identity is fixed when it connects, so the app
// makes a new client when the token changes (SessionProvider) and closes
// the old one's socket.
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWSClient } from 'graphql-ws';
import { graphqlURL, websocketURL } from './config';

/** The Authorization header for a customer's token (none without one). */
export function authHeaders(token: string | null | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export interface ClientHandle {
  client: Client;
  /** Closes the websocket for good (the client's subscriptions end). */
  dispose(): void;
}

export function makeClient(url: string = graphqlURL(), token: () => string | null = () => null): ClientHandle {
  const ws = createWSClient({
    url: websocketURL(url),
    lazy: true,
    lazyCloseTimeout: 3_000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    // Read at each (re)connection.
    connectionParams: () => authHeaders(token()),
    // 0.5 s, 1 s, 2 s, ... capped at 10 s, with jitter.
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** retries) + Math.random() * 300)),
  });
  const client = new Client({
    url,
    // POST everything: the API refuses mutations over GET, and POST bodies
    // keep carts' ids out of access logs.
    preferGetMethod: false,
    // No document cache: stock levels change by the second, and its
    // __typename fields would count against the API's complexity limit.
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: authHeaders(token()) }),
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
  return { client, dispose: () => void ws.dispose() };
}
