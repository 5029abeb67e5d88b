package storage

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
)

// Cart and order ids are bearer secrets: 144 random bits (more than the 122
// of a UUIDv4), encoded as 24 URL-safe base64 characters.
const secretIDBytes = 18

var secretIDLen = base64.RawURLEncoding.EncodedLen(secretIDBytes)

// NewSecretID returns a fresh unguessable id.
func NewSecretID() string {
	b := make([]byte, secretIDBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidSecretID reports whether s has the shape of a cart or order id. Ids of
// another shape cannot exist, so callers answer "not found" without a query.
func ValidSecretID(s string) bool {
	if len(s) != secretIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ParseProductID parses the API's product id: a positive decimal integer
// without sign, leading zeros or spaces. ok is false for anything else.
func ParseProductID(s string) (id int64, ok bool) {
	if len(s) == 0 || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// FormatProductID is the inverse of ParseProductID.
func FormatProductID(id int64) string { return strconv.FormatInt(id, 10) }

// LogRef is what a log line says instead of a cart or order id, which are
// bearer secrets: the first 12 hex digits of the id's SHA-256. An operator
// holding an id finds its lines with
// `printf %s "$id" | sha256sum | cut -c1-12`; the lines alone lead to no
// id (48 bits of a hash of 144 random bits).
func LogRef(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:6])
}
