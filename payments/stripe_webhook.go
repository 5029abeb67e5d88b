package payments

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"holdfast/storage"
)

// StripeWebhook is the endpoint Stripe posts events to (POST
// /webhooks/stripe). It verifies the Stripe-Signature header against the
// endpoint's signing secret (stripe-go's webhook package: HMAC-SHA256,
// compared in constant time) and its timestamp (within the tolerance of
// now, either way: stripe-go only refuses old ones), and applies
// payment_intent.succeeded, .payment_failed and .canceled to the order
// named in the intent's metadata, if the intent is the one recorded for
// that order, recording the event id in the same transaction: a
// redelivered event changes nothing. It answers 2xx only once the
// transition committed (or there was nothing to do: another event type, an
// unknown order, an intent that is not the order's), 400 for a bad
// signature, and 500 when the database failed, so that Stripe delivers
// again.
type StripeWebhook struct {
	Store *storage.Store
	// Secret is the endpoint's signing secret (STRIPE_WEBHOOK_SECRET).
	Secret string
	// Tolerance bounds how far the signature's timestamp may be from now,
	// in the past or the future (default webhook.DefaultTolerance, 5m).
	Tolerance time.Duration
	// Now is the clock the timestamp is checked against (default
	// time.Now).
	Now func() time.Time
	Log *slog.Logger
	// Service, if set, is kicked after a transition that queued actions.
	Service *Service
}

// maxWebhookBody bounds an event's size (Stripe's are a few kilobytes).
const maxWebhookBody = 1 << 20

// paymentIntent is the part of an event's PaymentIntent that is used.
type paymentIntent struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Metadata map[string]string `json:"metadata"`
}

func (h *StripeWebhook) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

func (h *StripeWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusBadRequest)
		return
	}
	// Objects are read from the raw JSON below, so an event of another API
	// version than stripe-go's is fine. stripe-go checks the signature; the
	// timestamp it covers is checked here, both ways.
	header := r.Header.Get("Stripe-Signature")
	ev, err := webhook.ConstructEventWithOptions(body, header, h.Secret,
		webhook.ConstructEventOptions{IgnoreTolerance: true, IgnoreAPIVersionMismatch: true})
	if err != nil {
		h.log().WarnContext(r.Context(), "stripe webhook: signature refused", "err", err.Error())
		http.Error(w, "invalid signature", http.StatusBadRequest)
		return
	}
	if skew, ok := h.skew(header); !ok {
		h.log().WarnContext(r.Context(), "stripe webhook: signature timestamp outside the tolerance; refused",
			"skew", skew.Round(time.Second).String())
		http.Error(w, "invalid signature: timestamp outside the tolerance", http.StatusBadRequest)
		return
	}
	log := h.log().With("event", ev.ID, "type", string(ev.Type))
	var failed string
	switch ev.Type {
	case "payment_intent.succeeded":
	case "payment_intent.payment_failed":
		failed = storage.PaymentFailed
	case "payment_intent.canceled":
		failed = storage.PaymentExpired
	default:
		log.DebugContext(r.Context(), "stripe webhook: event type ignored")
		writeReceived(w)
		return
	}
	var pi paymentIntent
	if ev.ID == "" || ev.Data == nil || json.Unmarshal(ev.Data.Raw, &pi) != nil || pi.Object != "payment_intent" {
		log.WarnContext(r.Context(), "stripe webhook: event without a payment intent")
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	pe := storage.PaymentEvent{
		Provider: StripeName, EventID: ev.ID, EventType: string(ev.Type),
		OrderID: pi.Metadata["order_id"], Reference: pi.ID, MatchReference: true,
	}
	var tr *storage.PaymentTransition
	if failed == "" {
		tr, err = h.Store.PaymentSucceeded(r.Context(), pe)
	} else {
		tr, err = h.Store.PaymentFailed(r.Context(), pe, failed)
	}
	var se *storage.Error
	switch {
	case errors.As(err, &se):
		// Not an order of ours, not a Stripe payment, or not this
		// order's intent (metadata can be set on any intent of the
		// account): nothing to do, and nothing Stripe could fix by
		// delivering again.
		log.WarnContext(r.Context(), "stripe webhook: not for a Stripe payment of ours; ignored",
			orderRef(pe.OrderID), "intent", pi.ID, "code", string(se.Code), "reason", se.Message)
		writeReceived(w)
		return
	case err != nil:
		log.ErrorContext(r.Context(), "stripe webhook: could not apply the event", orderRef(pe.OrderID), "err", scrub(err, pe.OrderID))
		http.Error(w, "could not apply the event; deliver it again", http.StatusInternalServerError)
		return
	}
	if tr.Duplicate {
		log.InfoContext(r.Context(), "stripe webhook: event seen before; nothing changed", orderRef(pe.OrderID))
	}
	if h.Service != nil {
		h.Service.logTransition(r.Context(), tr, string(ev.Type))
	}
	writeReceived(w)
}

func writeReceived(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"received":true}`)
}

// skew is how far the signature's timestamp is from now (positive: in the
// future), and whether that is within the tolerance. The header was
// verified: its timestamp is the last t= pair, as stripe-go reads it.
func (h *StripeWebhook) skew(header string) (time.Duration, bool) {
	var signed time.Time
	found := false
	for _, pair := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(pair, "t="); ok {
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, false
			}
			signed, found = time.Unix(sec, 0), true
		}
	}
	if !found {
		return 0, false
	}
	tol := h.Tolerance
	if tol <= 0 {
		tol = webhook.DefaultTolerance
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	skew := signed.Sub(now())
	return skew, skew <= tol && skew >= -tol
}
