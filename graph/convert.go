package graph

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"holdfast/storage"
)

func money(cents *big.Int, currency string) *storage.Money {
	return storage.MoneyOf(cents, currency)
}

// Page sizes for connections.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

func pageSize(first *int) (int, error) {
	if first == nil {
		return defaultPageSize, nil
	}
	if *first < 1 || *first > maxPageSize {
		return 0, badInput("first must be between 1 and 100")
	}
	return *first, nil
}

// Cursors are opaque to clients: base64url of "<kind>:<id>".
func encodeCursor(kind, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + id))
}

func decodeCursor(kind string, after *string) (string, error) {
	if after == nil || *after == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*after)
	if err != nil || len(*after) > 200 || !strings.HasPrefix(string(b), kind+":") {
		return "", badInput("after is not a cursor returned by this connection")
	}
	return strings.TrimPrefix(string(b), kind+":"), nil
}

// decodeSeqCursor reads a cursor holding a positive int64 position, written
// as encodeCursor writes it (decimal, no sign, no leading zeros); anything
// else is bad input.
func decodeSeqCursor(kind string, after *string) (int64, error) {
	s, err := decodeCursor(kind, after)
	if err != nil || after == nil || *after == "" {
		return 0, err
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, badInput("after is not a cursor returned by this connection")
	}
	return id, nil
}

// auditParams checks inventoryAudit's arguments: first 1 to
// storage.MaxAuditPage (default 100), after a product id.
func auditParams(first *int, after *string, onlyProblems *bool) (storage.AuditParams, error) {
	p := storage.AuditParams{First: 100, OnlyProblems: onlyProblems != nil && *onlyProblems}
	if first != nil {
		if *first < 1 || *first > storage.MaxAuditPage {
			return p, badInput(fmt.Sprintf("first must be between 1 and %d", storage.MaxAuditPage))
		}
		p.First = *first
	}
	if after != nil {
		id, ok := storage.ParseProductID(*after)
		if !ok {
			return p, badInput("after must be a product id (the last row's product.id)")
		}
		p.After = id
	}
	return p, nil
}
