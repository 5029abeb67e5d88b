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
    "\n  fragment CartFields on Cart {\n    id\n    status\n    expiresAt\n    updatedAt\n    totalQuantity\n    # A cart has one currency (CURRENCY_MISMATCH): the lines' amounts are\n    # shown in the subtotal's.\n    subtotal { amount currencyCode }\n    discountTotal { amount currencyCode }\n    total { amount currencyCode }\n    discounts { code applicable reason amount { amount currencyCode } }\n    giftCards { lastCharacters amountUsed { amount currencyCode } balanceAfter { amount currencyCode } }\n    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000; a\n    # mutation's answer pays 1 per scalar too): select no more of a line\n    # than the page shows, and no currencyCode per line.\n    lines {\n      quantity\n      lineTotal { amount }\n      discountedTotal { amount }\n      product { id handle name price { amount } images { url } }\n    }\n  }\n": typeof types.CartFieldsFragmentDoc,
    "\n  fragment UserErrorFields on UserError {\n    code\n    message\n    field\n    available\n  }\n": typeof types.UserErrorFieldsFragmentDoc,
    "\n  fragment OrderFields on Order {\n    id\n    email\n    status\n    createdAt\n    total { amount currencyCode }\n    discountTotal { amount currencyCode }\n    giftCardTotal { amount currencyCode }\n    lines {\n      sku\n      name\n      quantity\n      unitPrice { amount currencyCode }\n      lineTotal { amount currencyCode }\n      product { handle images { url } }\n    }\n  }\n": typeof types.OrderFieldsFragmentDoc,
    "\n  query Catalog(\n    $query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    products(\n      query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse,\n      first: $first, after: $after, last: $last, before: $before\n    ) { ...ProductList }\n  }\n": typeof types.CatalogDocument,
    "\n  query CollectionCatalog(\n    $handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    collectionByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      products(sortKey: $sortKey, reverse: $reverse, first: $first, after: $after, last: $last, before: $before) {\n        ...ProductList\n      }\n    }\n  }\n": typeof types.CollectionCatalogDocument,
    "\n  query CatalogGroups($query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    productGroups(query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse, first: $first) {\n      totalCount\n      edges { node { ...GroupCard } }\n    }\n  }\n": typeof types.CatalogGroupsDocument,
    "\n  query CollectionGroups($handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    collectionByHandle(handle: $handle) {\n      id\n      productGroups(sortKey: $sortKey, reverse: $reverse, first: $first) {\n        totalCount\n        edges { node { ...GroupCard } }\n      }\n    }\n  }\n": typeof types.CollectionGroupsDocument,
    "\n  query Collections {\n    collections(first: 50) { edges { node { id handle title } } }\n  }\n": typeof types.CollectionsDocument,
    "\n  query ProductByHandle($handle: String!) {\n    productByHandle(handle: $handle) {\n      ...ProductCard\n      limitPerCustomer\n      description\n      collections { handle title }\n      group { handle title }\n    }\n  }\n": typeof types.ProductByHandleDocument,
    "\n  query ProductGroupByHandle($handle: String!) {\n    productGroupByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      options { name values }\n      images { url altText }\n      collections { handle title }\n      priceRange { min { amount currencyCode } max { amount currencyCode } }\n      variants {\n        id\n        sku\n        selectedOptions { name value }\n        price { amount currencyCode }\n        available\n        limitPerCustomer\n      }\n    }\n  }\n": typeof types.ProductGroupByHandleDocument,
    "\n  subscription StockLevels($productIds: [ID!]!) {\n    stockChanged(productIds: $productIds) { productId available at }\n  }\n": typeof types.StockLevelsDocument,
    "\n  query Cart($id: ID!) {\n    cart(id: $id) { ...CartFields }\n  }\n": typeof types.CartDocument,
    "\n  subscription CartChanged($cartId: ID!) {\n    cartChanged(cartId: $cartId) { ...CartFields }\n  }\n": typeof types.CartChangedDocument,
    "\n  mutation CreateCart {\n    createCart {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.CreateCartDocument,
    "\n  fragment CartWarningFields on CartWarning {\n    code\n    message\n    productId\n    requested\n    reserved\n    cartId\n  }\n": typeof types.CartWarningFieldsFragmentDoc,
    "\n  mutation AddToCart($input: AddToCartInput!) {\n    addToCart(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { ...CartWarningFields }\n    }\n  }\n": typeof types.AddToCartDocument,
    "\n  mutation UpdateCartLine($input: UpdateCartLineInput!) {\n    updateCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.UpdateCartLineDocument,
    "\n  mutation RemoveCartLine($input: RemoveCartLineInput!) {\n    removeCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.RemoveCartLineDocument,
    "\n  mutation ApplyDiscountCode($cartId: ID!, $code: String!) {\n    cartApplyDiscountCode(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.ApplyDiscountCodeDocument,
    "\n  mutation RemoveDiscountCode($cartId: ID!, $code: String!) {\n    cartRemoveDiscountCode(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.RemoveDiscountCodeDocument,
    "\n  mutation ApplyGiftCard($cartId: ID!, $code: String!) {\n    cartApplyGiftCard(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.ApplyGiftCardDocument,
    "\n  mutation RemoveGiftCard($cartId: ID!, $lastCharacters: String!) {\n    cartRemoveGiftCard(cartId: $cartId, lastCharacters: $lastCharacters) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.RemoveGiftCardDocument,
    "\n  mutation CustomerCreate($input: CustomerCreateInput!) {\n    customerCreate(input: $input) {\n      customer { id email }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.CustomerCreateDocument,
    "\n  mutation CustomerSignIn($input: CustomerAccessTokenCreateInput!) {\n    customerAccessTokenCreate(input: $input) {\n      customerAccessToken { accessToken expiresAt }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.CustomerSignInDocument,
    "\n  mutation CustomerSignOut {\n    customerAccessTokenDelete\n  }\n": typeof types.CustomerSignOutDocument,
    "\n  mutation CartAttachCustomer($cartId: ID!) {\n    cartAttachCustomer(cartId: $cartId) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { ...CartWarningFields }\n    }\n  }\n": typeof types.CartAttachCustomerDocument,
    "\n  query CustomerActiveCart {\n    customer { id activeCart { ...CartFields } }\n  }\n": typeof types.CustomerActiveCartDocument,
    "\n  query SessionCheck {\n    customer { id }\n  }\n": typeof types.SessionCheckDocument,
    "\n  query Account($after: String) {\n    customer {\n      id\n      email\n      firstName\n      orders(first: 20, after: $after) {\n        edges { node { id createdAt status total { amount currencyCode } } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": typeof types.AccountDocument,
    "\n  mutation Checkout($input: CheckoutInput!) {\n    checkout(input: $input) {\n      order { ...OrderFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": typeof types.CheckoutDocument,
    "\n  query Order($id: ID!) {\n    order(id: $id) { ...OrderFields }\n  }\n": typeof types.OrderDocument,
};
const documents: Documents = {
    "\n  fragment ProductCard on Product {\n    id\n    handle\n    name\n    price { amount currencyCode }\n    available\n    images { url altText }\n    # Grouped products are shown by their group's card (the API cannot list\n    # ungrouped products only: the catalog filters them out on the page).\n    group { id }\n  }\n": types.ProductCardFragmentDoc,
    "\n  fragment GroupCard on ProductGroup {\n    id\n    handle\n    title\n    priceRange { min { amount currencyCode } max { amount currencyCode } }\n    available\n    images { url altText }\n    # For the live sum of available (stockChanged on each variant).\n    variants { id available }\n  }\n": types.GroupCardFragmentDoc,
    "\n  fragment ProductList on ProductConnection {\n    totalCount\n    edges { cursor node { ...ProductCard } }\n    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n  }\n": types.ProductListFragmentDoc,
    "\n  fragment CartFields on Cart {\n    id\n    status\n    expiresAt\n    updatedAt\n    totalQuantity\n    # A cart has one currency (CURRENCY_MISMATCH): the lines' amounts are\n    # shown in the subtotal's.\n    subtotal { amount currencyCode }\n    discountTotal { amount currencyCode }\n    total { amount currencyCode }\n    discounts { code applicable reason amount { amount currencyCode } }\n    giftCards { lastCharacters amountUsed { amount currencyCode } balanceAfter { amount currencyCode } }\n    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000; a\n    # mutation's answer pays 1 per scalar too): select no more of a line\n    # than the page shows, and no currencyCode per line.\n    lines {\n      quantity\n      lineTotal { amount }\n      discountedTotal { amount }\n      product { id handle name price { amount } images { url } }\n    }\n  }\n": types.CartFieldsFragmentDoc,
    "\n  fragment UserErrorFields on UserError {\n    code\n    message\n    field\n    available\n  }\n": types.UserErrorFieldsFragmentDoc,
    "\n  fragment OrderFields on Order {\n    id\n    email\n    status\n    createdAt\n    total { amount currencyCode }\n    discountTotal { amount currencyCode }\n    giftCardTotal { amount currencyCode }\n    lines {\n      sku\n      name\n      quantity\n      unitPrice { amount currencyCode }\n      lineTotal { amount currencyCode }\n      product { handle images { url } }\n    }\n  }\n": types.OrderFieldsFragmentDoc,
    "\n  query Catalog(\n    $query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    products(\n      query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse,\n      first: $first, after: $after, last: $last, before: $before\n    ) { ...ProductList }\n  }\n": types.CatalogDocument,
    "\n  query CollectionCatalog(\n    $handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean,\n    $first: Int, $after: String, $last: Int, $before: String\n  ) {\n    collectionByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      products(sortKey: $sortKey, reverse: $reverse, first: $first, after: $after, last: $last, before: $before) {\n        ...ProductList\n      }\n    }\n  }\n": types.CollectionCatalogDocument,
    "\n  query CatalogGroups($query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    productGroups(query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse, first: $first) {\n      totalCount\n      edges { node { ...GroupCard } }\n    }\n  }\n": types.CatalogGroupsDocument,
    "\n  query CollectionGroups($handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {\n    collectionByHandle(handle: $handle) {\n      id\n      productGroups(sortKey: $sortKey, reverse: $reverse, first: $first) {\n        totalCount\n        edges { node { ...GroupCard } }\n      }\n    }\n  }\n": types.CollectionGroupsDocument,
    "\n  query Collections {\n    collections(first: 50) { edges { node { id handle title } } }\n  }\n": types.CollectionsDocument,
    "\n  query ProductByHandle($handle: String!) {\n    productByHandle(handle: $handle) {\n      ...ProductCard\n      limitPerCustomer\n      description\n      collections { handle title }\n      group { handle title }\n    }\n  }\n": types.ProductByHandleDocument,
    "\n  query ProductGroupByHandle($handle: String!) {\n    productGroupByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      options { name values }\n      images { url altText }\n      collections { handle title }\n      priceRange { min { amount currencyCode } max { amount currencyCode } }\n      variants {\n        id\n        sku\n        selectedOptions { name value }\n        price { amount currencyCode }\n        available\n        limitPerCustomer\n      }\n    }\n  }\n": types.ProductGroupByHandleDocument,
    "\n  subscription StockLevels($productIds: [ID!]!) {\n    stockChanged(productIds: $productIds) { productId available at }\n  }\n": types.StockLevelsDocument,
    "\n  query Cart($id: ID!) {\n    cart(id: $id) { ...CartFields }\n  }\n": types.CartDocument,
    "\n  subscription CartChanged($cartId: ID!) {\n    cartChanged(cartId: $cartId) { ...CartFields }\n  }\n": types.CartChangedDocument,
    "\n  mutation CreateCart {\n    createCart {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.CreateCartDocument,
    "\n  fragment CartWarningFields on CartWarning {\n    code\n    message\n    productId\n    requested\n    reserved\n    cartId\n  }\n": types.CartWarningFieldsFragmentDoc,
    "\n  mutation AddToCart($input: AddToCartInput!) {\n    addToCart(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { ...CartWarningFields }\n    }\n  }\n": types.AddToCartDocument,
    "\n  mutation UpdateCartLine($input: UpdateCartLineInput!) {\n    updateCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.UpdateCartLineDocument,
    "\n  mutation RemoveCartLine($input: RemoveCartLineInput!) {\n    removeCartLine(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.RemoveCartLineDocument,
    "\n  mutation ApplyDiscountCode($cartId: ID!, $code: String!) {\n    cartApplyDiscountCode(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.ApplyDiscountCodeDocument,
    "\n  mutation RemoveDiscountCode($cartId: ID!, $code: String!) {\n    cartRemoveDiscountCode(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.RemoveDiscountCodeDocument,
    "\n  mutation ApplyGiftCard($cartId: ID!, $code: String!) {\n    cartApplyGiftCard(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.ApplyGiftCardDocument,
    "\n  mutation RemoveGiftCard($cartId: ID!, $lastCharacters: String!) {\n    cartRemoveGiftCard(cartId: $cartId, lastCharacters: $lastCharacters) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.RemoveGiftCardDocument,
    "\n  mutation CustomerCreate($input: CustomerCreateInput!) {\n    customerCreate(input: $input) {\n      customer { id email }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.CustomerCreateDocument,
    "\n  mutation CustomerSignIn($input: CustomerAccessTokenCreateInput!) {\n    customerAccessTokenCreate(input: $input) {\n      customerAccessToken { accessToken expiresAt }\n      userErrors { ...UserErrorFields }\n    }\n  }\n": types.CustomerSignInDocument,
    "\n  mutation CustomerSignOut {\n    customerAccessTokenDelete\n  }\n": types.CustomerSignOutDocument,
    "\n  mutation CartAttachCustomer($cartId: ID!) {\n    cartAttachCustomer(cartId: $cartId) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { ...CartWarningFields }\n    }\n  }\n": types.CartAttachCustomerDocument,
    "\n  query CustomerActiveCart {\n    customer { id activeCart { ...CartFields } }\n  }\n": types.CustomerActiveCartDocument,
    "\n  query SessionCheck {\n    customer { id }\n  }\n": types.SessionCheckDocument,
    "\n  query Account($after: String) {\n    customer {\n      id\n      email\n      firstName\n      orders(first: 20, after: $after) {\n        edges { node { id createdAt status total { amount currencyCode } } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": types.AccountDocument,
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
export function graphql(source: "\n  fragment CartFields on Cart {\n    id\n    status\n    expiresAt\n    updatedAt\n    totalQuantity\n    # A cart has one currency (CURRENCY_MISMATCH): the lines' amounts are\n    # shown in the subtotal's.\n    subtotal { amount currencyCode }\n    discountTotal { amount currencyCode }\n    total { amount currencyCode }\n    discounts { code applicable reason amount { amount currencyCode } }\n    giftCards { lastCharacters amountUsed { amount currencyCode } balanceAfter { amount currencyCode } }\n    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000; a\n    # mutation's answer pays 1 per scalar too): select no more of a line\n    # than the page shows, and no currencyCode per line.\n    lines {\n      quantity\n      lineTotal { amount }\n      discountedTotal { amount }\n      product { id handle name price { amount } images { url } }\n    }\n  }\n"): (typeof documents)["\n  fragment CartFields on Cart {\n    id\n    status\n    expiresAt\n    updatedAt\n    totalQuantity\n    # A cart has one currency (CURRENCY_MISMATCH): the lines' amounts are\n    # shown in the subtotal's.\n    subtotal { amount currencyCode }\n    discountTotal { amount currencyCode }\n    total { amount currencyCode }\n    discounts { code applicable reason amount { amount currencyCode } }\n    giftCards { lastCharacters amountUsed { amount currencyCode } balanceAfter { amount currencyCode } }\n    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000; a\n    # mutation's answer pays 1 per scalar too): select no more of a line\n    # than the page shows, and no currencyCode per line.\n    lines {\n      quantity\n      lineTotal { amount }\n      discountedTotal { amount }\n      product { id handle name price { amount } images { url } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment UserErrorFields on UserError {\n    code\n    message\n    field\n    available\n  }\n"): (typeof documents)["\n  fragment UserErrorFields on UserError {\n    code\n    message\n    field\n    available\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment OrderFields on Order {\n    id\n    email\n    status\n    createdAt\n    total { amount currencyCode }\n    discountTotal { amount currencyCode }\n    giftCardTotal { amount currencyCode }\n    lines {\n      sku\n      name\n      quantity\n      unitPrice { amount currencyCode }\n      lineTotal { amount currencyCode }\n      product { handle images { url } }\n    }\n  }\n"): (typeof documents)["\n  fragment OrderFields on Order {\n    id\n    email\n    status\n    createdAt\n    total { amount currencyCode }\n    discountTotal { amount currencyCode }\n    giftCardTotal { amount currencyCode }\n    lines {\n      sku\n      name\n      quantity\n      unitPrice { amount currencyCode }\n      lineTotal { amount currencyCode }\n      product { handle images { url } }\n    }\n  }\n"];
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
export function graphql(source: "\n  query ProductByHandle($handle: String!) {\n    productByHandle(handle: $handle) {\n      ...ProductCard\n      limitPerCustomer\n      description\n      collections { handle title }\n      group { handle title }\n    }\n  }\n"): (typeof documents)["\n  query ProductByHandle($handle: String!) {\n    productByHandle(handle: $handle) {\n      ...ProductCard\n      limitPerCustomer\n      description\n      collections { handle title }\n      group { handle title }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProductGroupByHandle($handle: String!) {\n    productGroupByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      options { name values }\n      images { url altText }\n      collections { handle title }\n      priceRange { min { amount currencyCode } max { amount currencyCode } }\n      variants {\n        id\n        sku\n        selectedOptions { name value }\n        price { amount currencyCode }\n        available\n        limitPerCustomer\n      }\n    }\n  }\n"): (typeof documents)["\n  query ProductGroupByHandle($handle: String!) {\n    productGroupByHandle(handle: $handle) {\n      id\n      handle\n      title\n      description\n      options { name values }\n      images { url altText }\n      collections { handle title }\n      priceRange { min { amount currencyCode } max { amount currencyCode } }\n      variants {\n        id\n        sku\n        selectedOptions { name value }\n        price { amount currencyCode }\n        available\n        limitPerCustomer\n      }\n    }\n  }\n"];
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
export function graphql(source: "\n  fragment CartWarningFields on CartWarning {\n    code\n    message\n    productId\n    requested\n    reserved\n    cartId\n  }\n"): (typeof documents)["\n  fragment CartWarningFields on CartWarning {\n    code\n    message\n    productId\n    requested\n    reserved\n    cartId\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddToCart($input: AddToCartInput!) {\n    addToCart(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { ...CartWarningFields }\n    }\n  }\n"): (typeof documents)["\n  mutation AddToCart($input: AddToCartInput!) {\n    addToCart(input: $input) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { ...CartWarningFields }\n    }\n  }\n"];
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
export function graphql(source: "\n  mutation ApplyDiscountCode($cartId: ID!, $code: String!) {\n    cartApplyDiscountCode(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation ApplyDiscountCode($cartId: ID!, $code: String!) {\n    cartApplyDiscountCode(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveDiscountCode($cartId: ID!, $code: String!) {\n    cartRemoveDiscountCode(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveDiscountCode($cartId: ID!, $code: String!) {\n    cartRemoveDiscountCode(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ApplyGiftCard($cartId: ID!, $code: String!) {\n    cartApplyGiftCard(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation ApplyGiftCard($cartId: ID!, $code: String!) {\n    cartApplyGiftCard(cartId: $cartId, code: $code) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveGiftCard($cartId: ID!, $lastCharacters: String!) {\n    cartRemoveGiftCard(cartId: $cartId, lastCharacters: $lastCharacters) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveGiftCard($cartId: ID!, $lastCharacters: String!) {\n    cartRemoveGiftCard(cartId: $cartId, lastCharacters: $lastCharacters) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CustomerCreate($input: CustomerCreateInput!) {\n    customerCreate(input: $input) {\n      customer { id email }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation CustomerCreate($input: CustomerCreateInput!) {\n    customerCreate(input: $input) {\n      customer { id email }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CustomerSignIn($input: CustomerAccessTokenCreateInput!) {\n    customerAccessTokenCreate(input: $input) {\n      customerAccessToken { accessToken expiresAt }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"): (typeof documents)["\n  mutation CustomerSignIn($input: CustomerAccessTokenCreateInput!) {\n    customerAccessTokenCreate(input: $input) {\n      customerAccessToken { accessToken expiresAt }\n      userErrors { ...UserErrorFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CustomerSignOut {\n    customerAccessTokenDelete\n  }\n"): (typeof documents)["\n  mutation CustomerSignOut {\n    customerAccessTokenDelete\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CartAttachCustomer($cartId: ID!) {\n    cartAttachCustomer(cartId: $cartId) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { ...CartWarningFields }\n    }\n  }\n"): (typeof documents)["\n  mutation CartAttachCustomer($cartId: ID!) {\n    cartAttachCustomer(cartId: $cartId) {\n      cart { ...CartFields }\n      userErrors { ...UserErrorFields }\n      warnings { ...CartWarningFields }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CustomerActiveCart {\n    customer { id activeCart { ...CartFields } }\n  }\n"): (typeof documents)["\n  query CustomerActiveCart {\n    customer { id activeCart { ...CartFields } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SessionCheck {\n    customer { id }\n  }\n"): (typeof documents)["\n  query SessionCheck {\n    customer { id }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Account($after: String) {\n    customer {\n      id\n      email\n      firstName\n      orders(first: 20, after: $after) {\n        edges { node { id createdAt status total { amount currencyCode } } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Account($after: String) {\n    customer {\n      id\n      email\n      firstName\n      orders(first: 20, after: $after) {\n        edges { node { id createdAt status total { amount currencyCode } } }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"];
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