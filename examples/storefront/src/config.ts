// Where the API is. VITE_GRAPHQL_URL (read at build time; `npm run dev`
// against `make run`: VITE_GRAPHQL_URL=http://127.0.0.1:8080/graphql) may be
// absolute or a path; by default the app talks to /graphql on its own
// origin, which is how the Go server serves it at /shop/. The websocket of
// the subscriptions is the same URL with ws: or wss:.

export const GRAPHQL_PATH: string = import.meta.env.VITE_GRAPHQL_URL || '/graphql';

/** The GraphQL endpoint as an absolute http(s) URL, resolved against base. */
export function graphqlURL(url: string = GRAPHQL_PATH, base: string = window.location.href): string {
  return new URL(url, base).toString();
}

/** The websocket URL for an http(s) GraphQL URL: http→ws, https→wss. */
export function websocketURL(httpURL: string): string {
  const u = new URL(httpURL);
  if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new Error(`VITE_GRAPHQL_URL: unsupported scheme ${u.protocol}`);
  }
  u.hash = '';
  return u.toString();
}
