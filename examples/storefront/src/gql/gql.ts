/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment ProductCard on Product {\n    id\n    handle\n    name\n    price { amount currencyCode }\n    available\n    images { url altText }\n    # Grouped products are shown by their group's card (the API cannot list\n    # ungrouped products only: the catalog filters them out on the page).\n    group { id }\n  }\n": typeof types.ProductCardFragmentDoc,
    "\n  fragment GroupCard on ProductGroup {\n    id\n    handle\n    title\n    priceRange { min { amount currencyCode } max { amount currencyCode } }\n    available\n    images { url altText }\n    # For the live sum of available (stockChanged on each variant).\n    variants { id available }\n  }\n": typeof types.GroupCardFragmentDoc,
    "\n  fragment ProductList on ProductConnection {\n    totalCount\n    edges { cursor node { ...ProductCard } }\n    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n  }\n": typeof types.ProductListFragmentDoc,
    "\n  fragment CartFields on Cart {\n    id\n    status\n    expiresAt\n    updatedAt\n    totalQuantity\n    subtotal { amount currencyCode }\n    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000):\n    # select no more of a line's product than the page shows.\n    lines {\n      quantity\n      lineTotal { amount currencyCode }\n      product { id handle name price { amount currencyCode } images { url } }\n    }\n  }\n": typeof types.CartFieldsFragmentDoc,
    "\n  fragment UserErrorFields on UserError {\n    code\n    message\n    field\n    available\n  }\n": typeof types.UserErrorFieldsFragmentDoc,
    "\n  fragment OrderFields on Order {\n    id\n    email\n    status\n    createdAt\n    total { amount currencyCode }\n    lines {\n      sku\n      name\n      quantity\n      unitPrice { amount currencyCode }\n      lineTotal { amount currencyCode }\n      product { handle images { url } }\n    }\n  }\n": typeof types.OrderFieldsFragmentDoc,
    "\n  query Catalog(\n    $query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    products(\n      query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse,\n      first: $first, after: $after, last: $last, before: $before\n    ) { ...ProductList }\n  }\n": typeof types.CatalogDocument,
    "\n  query CollectionCatalog(\n    $handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    collectionByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      products(sortKey: $sortKey, reverse: $reverse, first: $first, after: $after, last: $last, before: $before) {\n        ...ProductList\n      }\n    }\n  }\n": typeof types.CollectionCatalogDocument,
    "\n  query CatalogGroups($query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    productGroups(query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse, first: $first) {\n      totalCount\n      edges { node { ...GroupCard } }\n    }\n  }\n": typeof types.CatalogGroupsDocument,
    "\n  query CollectionGroups($handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    collectionByHandle(handle: $handle) {\n      id\n      productGroups(sortKey: $sortKey, reverse: $reverse, first: $first) {\n        totalCount\n        edges { node { ...GroupCard } }\n      }\n    }\n  }\n": typeof types.CollectionGroupsDocument,
    "\n  query Collections {\n    collections(first: 50) { edges { node { id handle title } } }\n  }\n": typeof types.CollectionsDocument,
    "\n  query ProductByHandle($handle: String!) {\n    productByHandle(handle: $handle) {\n      ...ProductCard\n      description\n      collections { handle title }\n      group { handle title }\n    }\n  }\n": typeof types.ProductByHandleDocument,
    "\n  query ProductGroupByHandle($handle: String!) {\n    productGroupByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      options { name values }\n      images { url altText }\n      collections { handle title }\n      priceRange { min { amount currencyCode } max { amount currencyCode } }\n      variants {\n        id\n        sku\n        selectedOptions { name value }\n        price { amount currencyCode }\n        available\n      }\n    }\n  }\n": typeof types.ProductGroupByHandleDocument,
    "\n  subscription StockLevels($productIds: [ID!]!) {\n    stockChanged(productIds: $productIds) { productId available at }\n  }\n": typeof types.StockLevelsDocument,
    "\n  query Cart($id: ID!) {\n    cart(id: $id) { ...CartFields }\n  }\n": typeof types.CartDocument,
    "\n  subscription CartChanged($cartId: ID!) {\n    cartChanged(cartId: $cartId) { ...CartFields }\n  }\n": typeof types.CartChangedDocument,
    "\n  mutation CreateCart {\n    createCart {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.CreateCartDocument,
    "\n  mutation AddToCart($input: AddToCartInput!) {\n    addToCart(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { code message productId requested reserved }\n    }\n  }\n": typeof types.AddToCartDocument,
    "\n  mutation UpdateCartLine($input: UpdateCartLineInput!) {\n    updateCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.UpdateCartLineDocument,
    "\n  mutation RemoveCartLine($input: RemoveCartLineInput!) {\n    removeCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.RemoveCartLineDocument,
    "\n  mutation Checkout($input: CheckoutInput!) {\n    checkout(input: $input) {\n      order { ...OrderFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.CheckoutDocument,
    "\n  query Order($id: ID!) {\n    order(id: $id) { ...OrderFields }\n  }\n": typeof types.OrderDocument,
};
const documents: Documents = {
    "\n  fragment ProductCard on Product {\n    id\n    handle\n    name\n    price { amount currencyCode }\n    available\n    images { url altText }\n    # Grouped products are shown by their group's card (the API cannot list\n    # ungrouped products only: the catalog filters them out on the page).\n    group { id }\n  }\n": types.ProductCardFragmentDoc,
    "\n  fragment GroupCard on ProductGroup {\n    id\n    handle\n    title\n    priceRange { min { amount currencyCode } max { amount currencyCode } }\n    available\n    images { url altText }\n    # For the live sum of available (stockChanged on each variant).\n    variants { id available }\n  }\n": types.GroupCardFragmentDoc,
    "\n  fragment ProductList on ProductConnection {\n    totalCount\n    edges { cursor node { ...ProductCard } }\n    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n  }\n": types.ProductListFragmentDoc,
    "\n  fragment CartFields on Cart {\n    id\n    status\n    expiresAt\n    updatedAt\n    totalQuantity\n    subtotal { amount currencyCode }\n    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000):\n    # select no more of a line's product than the page shows.\n    lines {\n      quantity\n      lineTotal { amount currencyCode }\n      product { id handle name price { amount currencyCode } images { url } }\n    }\n  }\n": types.CartFieldsFragmentDoc,
    "\n  fragment UserErrorFields on UserError {\n    code\n    message\n    field\n    available\n  }\n": types.UserErrorFieldsFragmentDoc,
    "\n  fragment OrderFields on Order {\n    id\n    email\n    status\n    createdAt\n    total { amount currencyCode }\n    lines {\n      sku\n      name\n      quantity\n      unitPrice { amount currencyCode }\n      lineTotal { amount currencyCode }\n      product { handle images { url } }\n    }\n  }\n": types.OrderFieldsFragmentDoc,
    "\n  query Catalog(\n    $query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    products(\n      query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse,\n      first: $first, after: $after, last: $last, before: $before\n    ) { ...ProductList }\n  }\n": types.CatalogDocument,
    "\n  query CollectionCatalog(\n    $handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    collectionByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      products(sortKey: $sortKey, reverse: $reverse, first: $first, after: $after, last: $last, before: $before) {\n        ...ProductList\n      }\n    }\n  }\n": types.CollectionCatalogDocument,
    "\n  query CatalogGroups($query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    productGroups(query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse, first: $first) {\n      totalCount\n      edges { node { ...GroupCard } }\n    }\n  }\n": types.CatalogGroupsDocument,
    "\n  query CollectionGroups($handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    collectionByHandle(handle: $handle) {\n      id\n      productGroups(sortKey: $sortKey, reverse: $reverse, first: $first) {\n        totalCount\n        edges { node { ...GroupCard } }\n      }\n    }\n  }\n": types.CollectionGroupsDocument,
    "\n  query Collections {\n    collections(first: 50) { edges { node { id handle title } } }\n  }\n": types.CollectionsDocument,
    "\n  query ProductByHandle($handle: String!) {\n    productByHandle(handle: $handle) {\n      ...ProductCard\n      description\n      collections { handle title }\n      group { handle title }\n    }\n  }\n": types.ProductByHandleDocument,
    "\n  query ProductGroupByHandle($handle: String!) {\n    productGroupByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      options { name values }\n      images { url altText }\n      collections { handle title }\n      priceRange { min { amount currencyCode } max { amount currencyCode } }\n      variants {\n        id\n        sku\n        selectedOptions { name value }\n        price { amount currencyCode }\n        available\n      }\n    }\n  }\n": types.ProductGroupByHandleDocument,
    "\n  subscription StockLevels($productIds: [ID!]!) {\n    stockChanged(productIds: $productIds) { productId available at }\n  }\n": types.StockLevelsDocument,
    "\n  query Cart($id: ID!) {\n    cart(id: $id) { ...CartFields }\n  }\n": types.CartDocument,
    "\n  subscription CartChanged($cartId: ID!) {\n    cartChanged(cartId: $cartId) { ...CartFields }\n  }\n": types.CartChangedDocument,
    "\n  mutation CreateCart {\n    createCart {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.CreateCartDocument,
    "\n  mutation AddToCart($input: AddToCartInput!) {\n    addToCart(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { code message productId requested reserved }\n    }\n  }\n": types.AddToCartDocument,
    "\n  mutation UpdateCartLine($input: UpdateCartLineInput!) {\n    updateCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.UpdateCartLineDocument,
    "\n  mutation RemoveCartLine($input: RemoveCartLineInput!) {\n    removeCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.RemoveCartLineDocument,
    "\n  mutation Checkout($input: CheckoutInput!) {\n    checkout(input: $input) {\n      order { ...OrderFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.CheckoutDocument,
    "\n  query Order($id: ID!) {\n    order(id: $id) { ...OrderFields }\n  }\n": types.OrderDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ProductCard on Product {\n    id\n    handle\n    name\n    price { amount currencyCode }\n    available\n    images { url altText }\n    # Grouped products are shown by their group's card (the API cannot list\n    # ungrouped products only: the catalog filters them out on the page).\n    group { id }\n  }\n"): (typeof documents)["\n  fragment ProductCard on Product {\n    id\n    handle\n    name\n    price { amount currencyCode }\n    available\n    images { url altText }\n    # Grouped products are shown by their group's card (the API cannot list\n    # ungrouped products only: the catalog filters them out on the page).\n    group { id }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment GroupCard on ProductGroup {\n    id\n    handle\n    title\n    priceRange { min { amount currencyCode } max { amount currencyCode } }\n    available\n    images { url altText }\n    # For the live sum of available (stockChanged on each variant).\n    variants { id available }\n  }\n"): (typeof documents)["\n  fragment GroupCard on ProductGroup {\n    id\n    handle\n    title\n    priceRange { min { amount currencyCode } max { amount currencyCode } }\n    available\n    images { url altText }\n    # For the live sum of available (stockChanged on each variant).\n    variants { id available }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ProductList on ProductConnection {\n    totalCount\n    edges { cursor node { ...ProductCard } }\n    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n  }\n"): (typeof documents)["\n  fragment ProductList on ProductConnection {\n    totalCount\n    edges { cursor node { ...ProductCard } }\n    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment CartFields on Cart {\n    id\n    status\n    expiresAt\n    updatedAt\n    totalQuantity\n    subtotal { amount currencyCode }\n    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000):\n    # select no more of a line's product than the page shows.\n    lines {\n      quantity\n      lineTotal { amount currencyCode }\n      product { id handle name price { amount currencyCode } images { url } }\n    }\n  }\n"): (typeof documents)["\n  fragment CartFields on Cart {\n    id\n    status\n    expiresAt\n    updatedAt\n    totalQuantity\n    subtotal { amount currencyCode }\n    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000):\n    # select no more of a line's product than the page shows.\n    lines {\n      quantity\n      lineTotal { amount currencyCode }\n      product { id handle name price { amount currencyCode } images { url } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment UserErrorFields on UserError {\n    code\n    message\n    field\n    available\n  }\n"): (typeof documents)["\n  fragment UserErrorFields on UserError {\n    code\n    message\n    field\n    available\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment OrderFields on Order {\n    id\n    email\n    status\n    createdAt\n    total { amount currencyCode }\n    lines {\n      sku\n      name\n      quantity\n      unitPrice { amount currencyCode }\n      lineTotal { amount currencyCode }\n      product { handle images { url } }\n    }\n  }\n"): (typeof documents)["\n  fragment OrderFields on Order {\n    id\n    email\n    status\n    createdAt\n    total { amount currencyCode }\n    lines {\n      sku\n      name\n      quantity\n      unitPrice { amount currencyCode }\n      lineTotal { amount currencyCode }\n      product { handle images { url } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Catalog(\n    $query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    products(\n      query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse,\n      first: $first, after: $after, last: $last, before: $before\n    ) { ...ProductList }\n  }\n"): (typeof documents)["\n  query Catalog(\n    $query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    products(\n      query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse,\n      first: $first, after: $after, last: $last, before: $before\n    ) { ...ProductList }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CollectionCatalog(\n    $handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    collectionByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      products(sortKey: $sortKey, reverse: $reverse, first: $first, after: $after, last: $last, before: $before) {\n        ...ProductList\n      }\n    }\n  }\n"): (typeof documents)["\n  query CollectionCatalog(\n    $handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    collectionByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      products(sortKey: $sortKey, reverse: $reverse, first: $first, after: $after, last: $last, before: $before) {\n        ...ProductList\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CatalogGroups($query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    productGroups(query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse, first: $first) {\n      totalCount\n      edges { node { ...GroupCard } }\n    }\n  }\n"): (typeof documents)["\n  query CatalogGroups($query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    productGroups(query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse, first: $first) {\n      totalCount\n      edges { node { ...GroupCard } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CollectionGroups($handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    collectionByHandle(handle: $handle) {\n      id\n      productGroups(sortKey: $sortKey, reverse: $reverse, first: $first) {\n        totalCount\n        edges { node { ...GroupCard } }\n      }\n    }\n  }\n"): (typeof documents)["\n  query CollectionGroups($handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    collectionByHandle(handle: $handle) {\n      id\n      productGroups(sortKey: $sortKey, reverse: $reverse, first: $first) {\n        totalCount\n        edges { node { ...GroupCard } }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Collections {\n    collections(first: 50) { edges { node { id handle title } } }\n  }\n"): (typeof documents)["\n  query Collections {\n    collections(first: 50) { edges { node { id handle title } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProductByHandle($handle: String!) {\n    productByHandle(handle: $handle) {\n      ...ProductCard\n      description\n      collections { handle title }\n      group { handle title }\n    }\n  }\n"): (typeof documents)["\n  query ProductByHandle($handle: String!) {\n    productByHandle(handle: $handle) {\n      ...ProductCard\n      description\n      collections { handle title }\n      group { handle title }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProductGroupByHandle($handle: String!) {\n    productGroupByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      options { name values }\n      images { url altText }\n      collections { handle title }\n      priceRange { min { amount currencyCode } max { amount currencyCode } }\n      variants {\n        id\n        sku\n        selectedOptions { name value }\n        price { amount currencyCode }\n        available\n      }\n    }\n  }\n"): (typeof documents)["\n  query ProductGroupByHandle($handle: String!) {\n    productGroupByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      options { name values }\n      images { url altText }\n      collections { handle title }\n      priceRange { min { amount currencyCode } max { amount currencyCode } }\n      variants {\n        id\n        sku\n        selectedOptions { name value }\n        price { amount currencyCode }\n        available\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription StockLevels($productIds: [ID!]!) {\n    stockChanged(productIds: $productIds) { productId available at }\n  }\n"): (typeof documents)["\n  subscription StockLevels($productIds: [ID!]!) {\n    stockChanged(productIds: $productIds) { productId available at }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Cart($id: ID!) {\n    cart(id: $id) { ...CartFields }\n  }\n"): (typeof documents)["\n  query Cart($id: ID!) {\n    cart(id: $id) { ...CartFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription CartChanged($cartId: ID!) {\n    cartChanged(cartId: $cartId) { ...CartFields }\n  }\n"): (typeof documents)["\n  subscription CartChanged($cartId: ID!) {\n    cartChanged(cartId: $cartId) { ...CartFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateCart {\n    createCart {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateCart {\n    createCart {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddToCart($input: AddToCartInput!) {\n    addToCart(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { code message productId requested reserved }\n    }\n  }\n"): (typeof documents)["\n  mutation AddToCart($input: AddToCartInput!) {\n    addToCart(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { code message productId requested reserved }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateCartLine($input: UpdateCartLineInput!) {\n    updateCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateCartLine($input: UpdateCartLineInput!) {\n    updateCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveCartLine($input: RemoveCartLineInput!) {\n    removeCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveCartLine($input: RemoveCartLineInput!) {\n    removeCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Checkout($input: CheckoutInput!) {\n    checkout(input: $input) {\n      order { ...OrderFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation Checkout($input: CheckoutInput!) {\n    checkout(input: $input) {\n      order { ...OrderFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Order($id: ID!) {\n    order(id: $id) { ...OrderFields }\n  }\n"): (typeof documents)["\n  query Order($id: ID!) {\n    order(id: $id) { ...OrderFields }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;