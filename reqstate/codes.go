package reqstate

// The codes of GraphQL errors (extensions.code), for the transport
// (httpapi) and the GraphQL layer (graph) alike. Business refusals are
// userErrors, with their own enum in the schema.
const (
	// Refusals of malformed requests, before any execution.
	CodeBadRequest       = "BAD_REQUEST"
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	CodePayloadTooLarge  = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	CodeBatchingDisabled = "BATCHING_NOT_SUPPORTED"

	// Refused websocket upgrades.
	CodeConnectionLimit  = "CONNECTION_LIMIT"
	CodeUpgradeRequired  = "UPGRADE_REQUIRED"
	CodeOriginNotAllowed = "ORIGIN_NOT_ALLOWED"

	// Operations refused for their shape or rate, or a subscription over
	// its limits.
	CodeComplexityLimit   = "COMPLEXITY_LIMIT"
	CodeDepthLimit        = "DEPTH_LIMIT"
	CodeAliasLimit        = "ALIAS_LIMIT"
	CodeRateLimited       = "RATE_LIMITED"
	CodeSubscriptionLimit = "SUBSCRIPTION_LIMIT"

	// Errors of execution.
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeBadInput        = "BAD_USER_INPUT"
	CodeProductNotFound = "PRODUCT_NOT_FOUND"
	CodeCartNotFound    = "CART_NOT_FOUND"
	CodeTimeout         = "TIMEOUT"
	// A search the database stopped at SEARCH_STATEMENT_TIMEOUT.
	CodeSearchTimeout = "SEARCH_TIMEOUT"
	CodeUnavailable   = "SERVICE_UNAVAILABLE"
	CodeInternal      = "INTERNAL_SERVER_ERROR"
)

// refusalCodes are the limits' refusals, counted as such in metrics.
var refusalCodes = map[string]bool{
	CodeRateLimited: true, CodeDepthLimit: true, CodeAliasLimit: true, CodeComplexityLimit: true,
	CodeSubscriptionLimit: true,
}

// ErrorOutcome is the outcome (SetOutcome) of an operation that ended in
// a GraphQL error with code: "refused:CODE" for the limits' refusals,
// "error:CODE" for the rest.
func ErrorOutcome(code string) string {
	if refusalCodes[code] {
		return "refused:" + code
	}
	return "error:" + code
}
