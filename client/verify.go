package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Webhook headers.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
	// t + "." + body)>".
	SignatureHeader = "Holdfast-Signature"
	// EventIDHeader is the event's id, the same on every retry: deduplicate
	// on it.
	EventIDHeader = "Holdfast-Event-Id"
)

// Errors of VerifyWebhook.
var (
	ErrBadSignatureHeader = errors.New("holdfast: malformed Holdfast-Signature header")
	ErrSignatureMismatch  = errors.New("holdfast: no signature matches the body")
	ErrSignatureExpired   = errors.New("holdfast: the signature's timestamp is outside the tolerance")
)

// VerifyWebhook checks a delivery: header is the Holdfast-Signature
// header's value, body the request body exactly as received. The body must
// be signed with secret (one of the v1 signatures must match) at a time
// within tolerance of now (0: any time; a few minutes is usual, to refuse
// replays of old deliveries).
func VerifyWebhook(secret, header string, body []byte, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrBadSignatureHeader
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return ErrBadSignatureHeader
			}
			sigs = append(sigs, b)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignatureHeader
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	want := mac.Sum(nil)
	matched := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = true
		}
	}
	if !matched {
		return ErrSignatureMismatch
	}
	if tolerance > 0 {
		if d := time.Since(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
			return ErrSignatureExpired
		}
	}
	return nil
}
