package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Headers of a delivery.
const (
	// SignatureHeader is "t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
	// t + "." + body)>", as Stripe signs its webhooks.
	SignatureHeader = "Holdfast-Signature"
	// EventIDHeader is the event's id, the same on every retry: receivers
	// deduplicate on it.
	EventIDHeader = "Holdfast-Event-Id"
	// TopicHeader names the event's topic.
	TopicHeader = "Holdfast-Topic"
	// AttemptHeader numbers the attempt (1, 2, ...).
	AttemptHeader = "Holdfast-Attempt"
)

// Sign returns the signature header's value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
