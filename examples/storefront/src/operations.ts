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
    # A cart has one currency (CURRENCY_MISMATCH): the lines' amounts are
    # shown in the subtotal's.
    subtotal { amount currencyCode }
    discountTotal { amount currencyCode }
    total { amount currencyCode }
    discounts { code applicable reason amount { amount currencyCode } }
    giftCards { lastCharacters amountUsed { amount currencyCode } balanceAfter { amount currencyCode } }
    # The API prices a cart's lines at 50 each (MAX_COMPLEXITY 1000; a
    # mutation's answer pays 1 per scalar too): select no more of a line
    # than the page shows, and no currencyCode per line.
    lines {
      quantity
      lineTotal { amount }
      discountedTotal { amount }
      product { id handle name price { amount } images { url } }
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
    discountTotal { amount currencyCode }
    giftCardTotal { amount currencyCode }
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
      limitPerCustomer
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
        limitPerCustomer
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

export const CartWarningFragment = graphql(`
  fragment CartWarningFields on CartWarning {
    code
    message
    productId
    requested
    reserved
    cartId
  }
`);

export const AddToCartMutation = graphql(`
  mutation AddToCart($input: AddToCartInput!) {
    addToCart(input: $input) {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
      warnings { ...CartWarningFields }
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

// A code or a card: these mutations take no idempotency key (the API has
// none for them); repeating one changes nothing (the same code is applied
// once; removing what is not there is no error).
export const ApplyDiscountCodeMutation = graphql(`
  mutation ApplyDiscountCode($cartId: ID!, $code: String!) {
    cartApplyDiscountCode(cartId: $cartId, code: $code) {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
    }
  }
`);

export const RemoveDiscountCodeMutation = graphql(`
  mutation RemoveDiscountCode($cartId: ID!, $code: String!) {
    cartRemoveDiscountCode(cartId: $cartId, code: $code) {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
    }
  }
`);

export const ApplyGiftCardMutation = graphql(`
  mutation ApplyGiftCard($cartId: ID!, $code: String!) {
    cartApplyGiftCard(cartId: $cartId, code: $code) {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
    }
  }
`);

export const RemoveGiftCardMutation = graphql(`
  mutation RemoveGiftCard($cartId: ID!, $lastCharacters: String!) {
    cartRemoveGiftCard(cartId: $cartId, lastCharacters: $lastCharacters) {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
    }
  }
`);

// ---------------------------------------------------------------- customers

export const CustomerCreateMutation = graphql(`
  mutation CustomerCreate($input: CustomerCreateInput!) {
    customerCreate(input: $input) {
      customer { id email }
      userErrors { ...UserErrorFields }
    }
  }
`);

export const CustomerSignInMutation = graphql(`
  mutation CustomerSignIn($input: CustomerAccessTokenCreateInput!) {
    customerAccessTokenCreate(input: $input) {
      customerAccessToken { accessToken expiresAt }
      userErrors { ...UserErrorFields }
    }
  }
`);

export const CustomerSignOutMutation = graphql(`
  mutation CustomerSignOut {
    customerAccessTokenDelete
  }
`);

// At sign-in: the guest cart becomes the customer's, or merges into theirs
// (CART_MERGED names the cart to use; MERGE_QUANTITY_REDUCED what was let go).
export const CartAttachCustomerMutation = graphql(`
  mutation CartAttachCustomer($cartId: ID!) {
    cartAttachCustomer(cartId: $cartId) {
      cart { ...CartFields }
      userErrors { ...UserErrorFields }
      warnings { ...CartWarningFields }
    }
  }
`);

// At sign-in without a guest cart: the cart the customer last used.
export const CustomerActiveCartQuery = graphql(`
  query CustomerActiveCart {
    customer { id activeCart { ...CartFields } }
  }
`);

// Whether the server still knows the session's token (it may have been
// revoked elsewhere, by a password reset say): null means signed out.
export const SessionCheckQuery = graphql(`
  query SessionCheck {
    customer { id }
  }
`);

export const AccountQuery = graphql(`
  query Account($after: String) {
    customer {
      id
      email
      firstName
      orders(first: 20, after: $after) {
        edges { node { id createdAt status total { amount currencyCode } } }
        pageInfo { hasNextPage endCursor }
      }
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
