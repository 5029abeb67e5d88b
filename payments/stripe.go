package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// StripeName is the Stripe provider's name.
const StripeName = "stripe"

// StripeConfig configures the Stripe provider.
type StripeConfig struct {
	// SecretKey is the API key (STRIPE_SECRET_KEY).
	SecretKey string
	// APIBase points the client at another server (STRIPE_API_BASE; tests:
	// stripe-mock); "" is Stripe's API.
	APIBase string
	// HTTPClient, if set, makes the API calls (default: a client with a
	// 30 s timeout).
	HTTPClient *http.Client
	// MaxNetworkRetries is how often stripe-go itself retries a call that
	// failed in transit, with the same idempotency key (default 0: the
	// caller retries: beginCheckout's shopper, the action worker).
	MaxNetworkRetries int64
}

// Stripe takes payments with Stripe PaymentIntents: the storefront
// confirms the intent with Stripe Elements (its client secret), and
// Stripe's webhook (StripeWebhook) tells Holdfast how it ended.
type Stripe struct {
	client *stripe.Client
}

// NewStripe builds the Stripe provider.
func NewStripe(cfg StripeConfig) *Stripe {
	bc := &stripe.BackendConfig{
		HTTPClient:        cfg.HTTPClient,
		MaxNetworkRetries: stripe.Int64(cfg.MaxNetworkRetries),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if bc.HTTPClient == nil {
		bc.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.APIBase, "/"))
	}
	backends := &stripe.Backends{
		API:         stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect:     stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads:     stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
		MeterEvents: stripe.GetBackendWithConfig(stripe.MeterEventsBackend, bc),
	}
	return &Stripe{client: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(backends))}
}

// Name implements Provider.
func (*Stripe) Name() string { return StripeName }

// CreateIntent implements Provider: a PaymentIntent for the order's total,
// the order id in its metadata (the webhook finds the order by it) and as
// the idempotency key, so a retry (after a timeout, or a crash before the
// intent was recorded) gets the same intent, never a second one.
func (p *Stripe) CreateIntent(ctx context.Context, c Charge) (Intent, error) {
	params := &stripe.PaymentIntentCreateParams{
		Amount:   stripe.Int64(c.AmountCents),
		Currency: stripe.String(strings.ToLower(c.Currency)),
		AutomaticPaymentMethods: &stripe.PaymentIntentCreateAutomaticPaymentMethodsParams{
			Enabled: stripe.Bool(true),
		},
		Metadata: map[string]string{"order_id": c.OrderID},
	}
	params.SetIdempotencyKey(c.OrderID)
	pi, err := p.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return Intent{}, classify("create payment intent", err)
	}
	return Intent{Reference: pi.ID, ClientSecret: pi.ClientSecret}, nil
}

// Cancel implements Provider. An intent whose id was never recorded (the
// server stopped between creating it and recording it) is found again by
// repeating the creation with the same idempotency key. An intent that
// can no longer be cancelled (already cancelled, or succeeded: its
// webhook decides) counts as done.
func (p *Stripe) Cancel(ctx context.Context, c Charge) error {
	if c.Reference == "" {
		in, err := p.CreateIntent(ctx, c)
		if err != nil {
			return err
		}
		c.Reference = in.Reference
	}
	params := &stripe.PaymentIntentCancelParams{}
	params.SetIdempotencyKey("cancel-" + c.OrderID)
	_, err := p.client.V1PaymentIntents.Cancel(ctx, c.Reference, params)
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodePaymentIntentUnexpectedState {
		return nil
	}
	if err != nil {
		return classify("cancel payment intent", err)
	}
	return nil
}

// Refund implements Provider: the whole amount of the order's intent, with
// an idempotency key of the order id.
func (p *Stripe) Refund(ctx context.Context, c Charge) error {
	if c.Reference == "" {
		return fmt.Errorf("%w: refund: the payment has no PaymentIntent id", ErrRejected)
	}
	params := &stripe.RefundCreateParams{PaymentIntent: stripe.String(c.Reference)}
	params.SetIdempotencyKey("refund-" + c.OrderID)
	_, err := p.client.V1Refunds.Create(ctx, params)
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodeChargeAlreadyRefunded {
		return nil
	}
	if err != nil {
		return classify("refund", err)
	}
	return nil
}

// classify sorts a Stripe error into ErrUnavailable (retry: transport
// errors, rate limits, Stripe's own errors, an idempotent request still in
// flight, and authentication, which an operator can fix) or ErrRejected
// (the request itself is refused).
func classify(op string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		switch {
		case se.HTTPStatusCode == http.StatusTooManyRequests, se.HTTPStatusCode >= 500,
			se.HTTPStatusCode == http.StatusUnauthorized, se.HTTPStatusCode == http.StatusForbidden,
			se.Type == stripe.ErrorTypeAPI, se.Code == stripe.ErrorCodeIdempotencyKeyInUse:
			return fmt.Errorf("%w: stripe: %s: %s (%s)", ErrUnavailable, op, se.Msg, se.Code)
		default:
			return fmt.Errorf("%w: stripe: %s: %s (%s)", ErrRejected, op, se.Msg, se.Code)
		}
	}
	return fmt.Errorf("%w: stripe: %s: %w", ErrUnavailable, op, err)
}
