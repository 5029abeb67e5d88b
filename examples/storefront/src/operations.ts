// Every operation the storefront sends. `npm run codegen` types them from
// ../../schema/*.graphqls into src/gql/ (committed).
import { graphql } from './gql';

export const ProductCardFragment = graphql(`
  fragment ProductCard on Product {
    id
    handle
    name
    price { amount currencyCode }
    available
    images { url altText }
    # Grouped products are shown by their group's card (the API cannot list
    # ungrouped products only: the catalog filters them out on the page).
    group { id }
  }
`);

export const GroupCardFragment = graphql(`
  fragment GroupCard on ProductGroup {
    id
    handle
    title
    priceRange { min { amount currencyCode } max { amount currencyCode } }
    available
    images { url altText }
    # For the live sum of available (stockChanged on each variant).
    variants { id available }
  }
`);

export const ProductListFragment = graphql(`
  fragment ProductList on ProductConnection {
    totalCount
    edges { cursor node { ...ProductCard } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
`);

export const CartFieldsFragment = graphql(`
  fragment CartFields on Cart {
    id
    status
    expiresAt
    updatedAt
    totalQuantity
    subtotal { amount currencyCode }
    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000):
    # select no more of a line's product than the page shows.
    lines {
      quantity
      lineTotal { amount currencyCode }
      product { id handle name price { amount currencyCode } images { url } }
    }
  }
`);

export const UserErrorFragment = graphql(`
  fragment UserErrorFields on UserError {
    code
    message
    field
    available
  }
`);

export const OrderFieldsFragment = graphql(`
  fragment OrderFields on Order {
    id
    email
    status
    createdAt
    total { amount currencyCode }
    lines {
      sku
      name
      quantity
      unitPrice { amount currencyCode }
      lineTotal { amount currencyCode }
      product { handle images { url } }
    }
  }
`);

// ---------------------------------------------------------------- catalog

export const CatalogQuery = graphql(`
  query Catalog(
    $query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean,
    $first: Int, $after: String, $last: Int, $before: String
  ) {
    products(
      query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse,
      first: $first, after: $after, last: $last, before: $before
    ) { ...ProductList }
  }
`);

export const CollectionCatalogQuery = graphql(`
  query CollectionCatalog(
    $handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean,
    $first: Int, $after: String, $last: Int, $before: String
  ) {
    collectionByHandle(handle: $handle) {
      id
      handle
      title
      description
      products(sortKey: $sortKey, reverse: $reverse, first: $first, after: $after, last: $last, before: $before) {
        ...ProductList
      }
    }
  }
`);

// The groups beside the products, on the first page of the catalog: the
// same search, filter and order, at most GROUP_LIMIT (CatalogPage.tsx).
export const CatalogGroupsQuery = graphql(`
  query CatalogGroups($query: String, $inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {
    productGroups(query: $query, inStock: $inStock, sortKey: $sortKey, reverse: $reverse, first: $first) {
      totalCount
      edges { node { ...GroupCard } }
    }
  }
`);

export const CollectionGroupsQuery = graphql(`
  query CollectionGroups($handle: String!, $sortKey: ProductSortKeys, $reverse: Boolean, $first: Int) {
    collectionByHandle(handle: $handle) {
      id
      productGroups(sortKey: $sortKey, reverse: $reverse, first: $first) {
        totalCount
        edges { node { ...GroupCard } }
      }
    }
  }
`);

export const CollectionsQuery = graphql(`
  query Collections {
    collections(first: 50) { edges { node { id handle title } } }
  }
`);

export const ProductByHandleQuery = graphql(`
  query ProductByHandle($handle: String!) {
    productByHandle(handle: $handle) {
      ...ProductCard
      description
      collections { handle title }
      group { handle title }
    }
  }
`);

export const ProductGroupByHandleQuery = graphql(`
  query ProductGroupByHandle($handle: String!) {
    productGroupByHandle(handle: $handle) {
      id
      handle
      title
      description
      options { name values }
      images { url altText }
      collections { handle title }
      priceRange { min { amount currencyCode } max { amount currencyCode } }
      variants {
        id
        sku
        selectedOptions { name value }
        price { amount currencyCode }
        available
      }
    }
  }
`);

export const StockSubscription = graphql(`
  subscription StockLevels($productIds: [ID!]!) {
    stockChanged(productIds: $productIds) { productId available at }
  }
`);

// ---------------------------------------------------------------- cart

export const CartQuery = graphql(`
  query Cart($id: ID!) {
    cart(id: $id) { ...CartFields }
  }
`);

export const CartSubscription = graphql(`
  subscription CartChanged($cartId: ID!) {
    cartChanged(cartId: $cartId) { ...CartFields }
  }
`);

export const CreateCartMutation = graphql(`
  mutation CreateCart {
    createCart {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
    }
  }
`);

export const AddToCartMutation = graphql(`
  mutation AddToCart($input: AddToCartInput!) {
    addToCart(input: $input) {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
      warnings { code message productId requested reserved }
    }
  }
`);

export const UpdateCartLineMutation = graphql(`
  mutation UpdateCartLine($input: UpdateCartLineInput!) {
    updateCartLine(input: $input) {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
    }
  }
`);

export const RemoveCartLineMutation = graphql(`
  mutation RemoveCartLine($input: RemoveCartLineInput!) {
    removeCartLine(input: $input) {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
    }
  }
`);

// ---------------------------------------------------------------- orders

export const CheckoutMutation = graphql(`
  mutation Checkout($input: CheckoutInput!) {
    checkout(input: $input) {
      order { ...OrderFields }
      userErrors { ...UserErrorFields }
    }
  }
`);

export const OrderQuery = graphql(`
  query Order($id: ID!) {
    order(id: $id) { ...OrderFields }
  }
`);
