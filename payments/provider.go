// Package payments takes an order's payment: a small Provider interface
// (create an intent, cancel it, refund it) with one file per gateway
// (manual.go, stripe.go), the Service that drives checkout with payment
// over package storage, the worker that performs the provider side effects
// transitions queue (payment_actions), and Stripe's webhook endpoint.
//
// Every state change happens in package storage, as a conditional UPDATE
// on the order row inside a transaction; this package only talks to the
// provider around those transactions. See docs/payments.md.
package payments

import (
	"context"
	"errors"
)

// Charge is what a provider is asked to take, cancel or refund.
type Charge struct {
	// OrderID is the order's id: providers use it in their idempotency
	// keys, so a repeated call never takes, cancels or refunds twice.
	OrderID     string
	AmountCents int64
	// Currency is the ISO 4217 code, upper case.
	Currency string
	// Reference is the provider's id of the payment, once known.
	Reference string
}

// Intent is a payment the provider has begun.
type Intent struct {
	// Reference is the provider's id of the payment ("" for none yet: the
	// manual provider learns it when an admin confirms).
	Reference string
	// ClientSecret lets a storefront confirm the payment with the
	// provider's own UI ("" for none).
	ClientSecret string
}

// Provider is a payment gateway. Each method must be idempotent for the
// same Charge.OrderID: the caller retries after crashes and timeouts.
type Provider interface {
	// Name is stored with each payment ("manual", "stripe").
	Name() string
	// CreateIntent begins a payment of the charge.
	CreateIntent(ctx context.Context, c Charge) (Intent, error)
	// Cancel makes the payment impossible from now on; a payment already
	// cancelled, or already completed, is not an error.
	Cancel(ctx context.Context, c Charge) error
	// Refund gives the charge's money back; a payment already refunded is
	// not an error. ErrUnsupported: the provider cannot.
	Refund(ctx context.Context, c Charge) error
}

// Provider errors. Anything else counts as ErrUnavailable.
var (
	// ErrUnavailable is a passing failure (network, timeout, the provider's
	// own outage): try again later.
	ErrUnavailable = errors.New("payments: provider unavailable")
	// ErrRejected is the provider refusing for good: retrying is useless.
	ErrRejected = errors.New("payments: provider refused")
	// ErrUnsupported: the provider cannot do this at all (the manual
	// provider cannot refund).
	ErrUnsupported = errors.New("payments: not supported by this provider")
)
