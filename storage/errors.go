package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// Code classifies a business failure. The values are the GraphQL ErrorCode
// enum's names, so the API layer can pass them through unchanged.
type Code string

// Business failure codes.
const (
	CodeInsufficientStock     Code = "INSUFFICIENT_STOCK"
	CodeProductNotFound       Code = "PRODUCT_NOT_FOUND"
	CodeCartNotFound          Code = "CART_NOT_FOUND"
	CodeInvalidQuantity       Code = "INVALID_QUANTITY"
	CodeInvalidInput          Code = "INVALID_INPUT"
	CodeDuplicateSKU          Code = "DUPLICATE_SKU"
	CodeCurrencyMismatch      Code = "CURRENCY_MISMATCH"
	CodeCartExpired           Code = "CART_EXPIRED"
	CodeCartCheckedOut        Code = "CART_CHECKED_OUT"
	CodeCartEmpty             Code = "CART_EMPTY"
	CodeOrderNotFound         Code = "ORDER_NOT_FOUND"
	CodeOrderAlreadyCancelled Code = "ORDER_ALREADY_CANCELLED"
	CodeStockBelowHeld        Code = "STOCK_BELOW_HELD"
	CodeCartLimitExceeded     Code = "CART_LIMIT_EXCEEDED"
	CodeStockLimitExceeded    Code = "STOCK_LIMIT_EXCEEDED"
	CodeDuplicateHandle       Code = "DUPLICATE_HANDLE"
	CodeCollectionNotFound    Code = "COLLECTION_NOT_FOUND"

	// Product variants (issue 22).
	CodeVariantOptionsInvalid Code = "VARIANT_OPTIONS_INVALID"
	CodeProductGroupNotFound  Code = "PRODUCT_GROUP_NOT_FOUND"

	// Partner integrations (issue 14).
	CodeStockChanged            Code = "STOCK_CHANGED"
	CodeWebhookEndpointNotFound Code = "WEBHOOK_ENDPOINT_NOT_FOUND"
)

// Error is a business failure: the operation was refused and changed nothing.
type Error struct {
	Code    Code
	Message string
	// Field is the path of the offending input field, if any.
	Field []string
	// Available is set on INSUFFICIENT_STOCK: the units that could still be
	// reserved (stock - held) when the refusal was decided.
	Available *int
	// CurrentStock is set on STOCK_CHANGED and STOCK_BELOW_HELD from
	// setStock: the product's stock when the refusal was decided.
	CurrentStock *int
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is makes errors.Is(err, ErrCartLimit) and friends match on Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is. Match on the code, not on identity.
var (
	ErrCartLimit    = &Error{Code: CodeCartLimitExceeded}
	ErrDuplicateSKU = &Error{Code: CodeDuplicateSKU, Message: "a product with this sku already exists", Field: []string{"input", "sku"}}
	// ErrDuplicateHandle is a handle given explicitly that another product
	// (or collection) has. A derived handle is made unique instead.
	ErrDuplicateHandle = &Error{Code: CodeDuplicateHandle, Message: "this handle is already taken", Field: []string{"input", "handle"}}
	// ErrOutOfRange is an arithmetic result that does not fit its column
	// (SQLSTATE 22003). Every integer column holds a unit count (stock,
	// held, quantities, cart totals), so it is a refusal, never an internal
	// error; the paths that can get there refuse with a precise message
	// first.
	ErrOutOfRange = &Error{Code: CodeStockLimitExceeded, Message: "a unit count would exceed 2147483647, the most the database holds"}
)

// Infrastructure sentinels.
var (
	// ErrNotFound is a row that does not exist (reads return nil instead
	// where a missing row is a normal answer).
	ErrNotFound = errors.New("storage: not found")
	// ErrUnavailable means the database cannot be reached right now.
	ErrUnavailable = errors.New("storage: database unavailable")
	// ErrSearchTimeout is a search statement that ran past
	// Options.SearchTimeout and was stopped by the database.
	ErrSearchTimeout = errors.New("storage: the search ran out of time")
)

func userErr(code Code, msg string, field ...string) *Error {
	return &Error{Code: code, Message: msg, Field: field}
}

func insufficient(available int) *Error {
	if available < 0 {
		available = 0
	}
	a := available
	return &Error{
		Code:      CodeInsufficientStock,
		Message:   "not enough stock: requested more than is available",
		Field:     []string{"input", "quantity"},
		Available: &a,
	}
}

// Constraints translate maps to refusals, by the names the migrations give
// them. The caps' constraints fail a statement in which cart_cap_add
// (migrations/00007) wrote -1 (see addToCartSQL).
const (
	skuConstraint      = "products_sku_key"             // 00001
	lineCapConstraint  = "cart_lines_quantity_positive" // 00001, named in 00007
	unitsCapConstraint = "carts_total_quantity_check"   // 00006
	linesCapConstraint = "carts_line_count_check"       // 00006

	cartCurrencyConstraint    = "cart_lines_cart_currency_fkey"    // 00008
	productCurrencyConstraint = "cart_lines_product_currency_fkey" // 00008

	customerLimitConstraint    = "customer_product_limits_within"            // 00024 (raised by a trigger)
	customerRequiredConstraint = "customer_product_limits_customer_required" // 00024 (raised by a trigger)

	productHandleConstraint       = "products_handle_key"       // 00010
	collectionHandleConstraint    = "collections_handle_key"    // 00010
	productHandleFormatConstraint = "products_handle_format"    // 00010
	collectionHandleFormat        = "collections_handle_format" // 00010

	groupHandleConstraint     = "product_groups_handle_key"    // 00017
	groupHandleFormat         = "product_groups_handle_format" // 00017
	variantOptionsIndex       = "products_group_options_key"   // 00017: a combination taken
	variantOptionsConstraint  = "products_variant_options"     // 00017 (trigger)
	variantPairConstraint     = "products_group_pair"          // 00017
	variantCurrencyConstraint = "products_group_currency"      // 00017 (trigger)
	productGroupForeignKey    = "products_group_id_fkey"       // 00017
)

func handleFormatErr() *Error {
	return userErr(CodeInvalidInput, "handle must be 1-255 lower-case letters, digits and single hyphens, not starting or ending with a hyphen", "input", "handle")
}

func cartCurrencyErr() *Error {
	return userErr(CodeCurrencyMismatch, "the cart already holds products priced in another currency", "input", "productId")
}

func productCurrencyErr() *Error {
	return userErr(CodeCurrencyMismatch, "the currency cannot change while carts hold the product", "input", "currencyCode")
}

func capErr(msg string) *Error {
	return userErr(CodeCartLimitExceeded, msg, "input", "quantity")
}

func retryable(err error) bool {
	return pq.As(err, pqerror.TRSerializationFailure, pqerror.TRDeadlockDetected) != nil
}

// cancelled is ctx's own error for err when ctx has ended and err is what
// its end did to a statement: PostgreSQL cancelled it (lib/pq sends the
// cancel request; SQLSTATE 57014) or database/sql closed its transaction.
// Callers then see context.DeadlineExceeded, a timeout, where they would
// otherwise see an internal error.
func cancelled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil &&
		(pq.As(err, pqerror.QueryCanceled) != nil || errors.Is(err, sql.ErrTxDone) ||
			// lib/pq gives up a connection whose context ended while it
			// was dialled or mid-statement as a bad connection: the cause
			// is the deadline, not the database.
			errors.Is(err, driver.ErrBadConn)) {
		return ctx.Err()
	}
	return err
}

// translate maps driver errors onto the package's sentinels; anything else is
// returned wrapped as an internal error.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	if e := pq.As(err); e != nil {
		switch e.Code {
		case pqerror.UniqueViolation:
			switch e.Constraint {
			case skuConstraint:
				return ErrDuplicateSKU
			case variantOptionsIndex:
				return variantOptionsErr("another variant of the group already has this combination of option values")
			case productHandleConstraint, collectionHandleConstraint, groupHandleConstraint:
				dup := *ErrDuplicateHandle
				return &dup
			case manualReferenceIndex:
				return duplicateReference()
			case discountOncePerCustomerIndex:
				return discountAlreadyUsed()
			case discountCodeKeyIndex:
				return userErr(CodeInvalidInput, "a discount code with this code exists (codes match whatever their case)", "input", "code")
			}
		case pqerror.ForeignKeyViolation:
			switch e.Constraint {
			case cartCurrencyConstraint:
				return cartCurrencyErr()
			case productCurrencyConstraint:
				return productCurrencyErr()
			case discountProductFK:
				return userErr(CodeProductNotFound, "no product with one of these ids", "input", "productIds")
			case discountGroupFK:
				return userErr(CodeProductGroupNotFound, "no product group with one of these ids", "input", "productGroupIds")
			case discountCollectionFK:
				return userErr(CodeCollectionNotFound, "no collection with one of these ids", "input", "collectionIds")
			case productGroupForeignKey:
				return userErr(CodeProductGroupNotFound, "no product group with this id", "input", "groupId")
			}
		case pqerror.NumericValueOutOfRange:
			out := *ErrOutOfRange
			return &out
		case pqerror.CheckViolation:
			switch e.Constraint {
			case lineCapConstraint:
				return capErr("a cart line may not hold that many units (MAX_LINE_QUANTITY)")
			case unitsCapConstraint:
				return capErr("the cart may not hold that many units (MAX_CART_QUANTITY)")
			case linesCapConstraint:
				return capErr("the cart may not hold that many lines (MAX_CART_LINES)")
			case productHandleFormatConstraint, collectionHandleFormat, groupHandleFormat:
				return handleFormatErr()
			case variantOptionsConstraint:
				return variantOptionsErr("a variant must have exactly one of the listed values for each of its group's options, and options or values variants use cannot be removed")
			case variantPairConstraint:
				return variantOptionsErr("selectedOptions need a groupId: an ungrouped product has none")
			case customerLimitConstraint:
				return perCustomerLimit(e.Detail)
			case discountUsesWithinConstraint:
				return discountExhausted()
			case giftCardHeldConstraint:
				return giftCardEmpty()
			case discountPeriodConstraint:
				return userErr(CodeInvalidInput, "endsAt must be after startsAt", "input", "endsAt")
			case customerRequiredConstraint:
				return customerRequired()
			case variantCurrencyConstraint:
				return userErr(CodeCurrencyMismatch, "every variant of a product group has the same currency", "input", "currencyCode")
			}
		case pqerror.TRSerializationFailure, pqerror.TRDeadlockDetected:
			return err // keep the pq error so retry() can see it
		case pqerror.AdminShutdown, pqerror.CannotConnectNow, pqerror.CrashShutdown,
			// Too many clients (max_connections, or a database's or
			// role's CONNECTION LIMIT): refused before anything was sent.
			pqerror.TooManyConnections,
			pqerror.ConnectionException, pqerror.ConnectionDoesNotExist, pqerror.ConnectionFailure,
			pqerror.SQLClientUnableToEstablishSQLConnection, pqerror.SQLServerRejectedEstablishmentOfSQLConnection:
			return fmt.Errorf("%w: %w", ErrUnavailable, e)
		}
	}
	var netErr net.Error
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("storage: %w", err)
}

// perCustomerLimit is PER_CUSTOMER_LIMIT with the customer's remaining
// allowance, which the refusing trigger put in its DETAIL.
func perCustomerLimit(detail string) *Error {
	a, err := strconv.Atoi(strings.TrimSpace(detail))
	if err != nil || a < 0 {
		a = 0
	}
	return &Error{Code: CodePerCustomerLimit, Message: "this product is limited per customer: you already hold or bought as many as allowed",
		Field: []string{"input", "quantity"}, Available: &a}
}

func customerRequired() *Error {
	return userErr(CodeCustomerRequired, "this product is limited per customer: sign in (a customer's cart) to add it", "input", "productId")
}
