// Starts GraphiQL on the page served by httpapi/graphiql. It is a file of
// its own, not an inline script, so that the page's Content-Security-Policy
// can allow scripts from 'self' only. React, ReactDOM and GraphiQL are the
// UMD globals of the vendored bundles loaded before it.
(function () {
  'use strict';

  // GraphiQL's dialogs (settings, shortcuts) lock page scrolling by adding a
  // <style> element (react-remove-scroll), which reads the nonce from this
  // global; the page's CSP allows <style> elements with this load's nonce
  // and no other inline style.
  var script = document.currentScript;
  if (script && script.nonce) {
    window.__webpack_nonce__ = script.nonce;
  }

  var container = document.getElementById('graphiql');
  var endpoint = new URL(container.getAttribute('data-endpoint') || '/graphql', window.location.href);
  var subscriptions = new URL(endpoint.href);
  subscriptions.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

  // GraphiQL.createFetcher is @graphiql/toolkit's createGraphiQLFetcher; the
  // bundle includes the graphql-ws client it opens for subscriptions (one
  // websocket per subscription, protocol graphql-transport-ws). The Headers
  // tab's headers go along as the websocket's connection parameters, which
  // is where the server looks for Authorization on a websocket.
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: subscriptions.href,
    // The server answers plain JSON (no multipart incremental delivery).
    enableIncrementalDelivery: false
  });

  var defaultQuery = [
    '# Welcome to the Holdfast GraphQL API. Run the',
    '# query below with \u25B6 (Ctrl-Enter); the Docs pane',
    '# (book icon, top left) describes the schema.',
    '#',
    '# Admin fields (@admin: Product.stock, orders,',
    '# createProduct, ...) need the admin token: send it',
    '# in the Headers tab below (subscriptions too) as',
    '#   { "Authorization": "Bearer <ADMIN_TOKEN>" }',
    '#',
    '# Live stock levels, over a websocket (new tab: +):',
    '#   subscription { stockChanged(productIds: ["1"])',
    '#     { productId available } }',
    '',
    'query Products {',
    '  products(first: 5) {',
    '    edges {',
    '      node {',
    '        id',
    '        name',
    '        price {',
    '          amount',
    '          currencyCode',
    '        }',
    '        available',
    '      }',
    '    }',
    '  }',
    '}',
    ''
  ].join('\n');

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      // Headers (the admin token) stay in this tab, not in localStorage.
      shouldPersistHeaders: false
    })
  );
})();
