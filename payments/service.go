package payments

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"holdfast/storage"
)

// Options tune a Service.
type Options struct {
	// TTL is how long a payment may take (PAYMENT_TTL). Required: its
	// default is package config's, which the server passes.
	TTL time.Duration
	// CallTimeout bounds one call to the provider (default 20s).
	CallTimeout time.Duration
	Log         *slog.Logger
}

// Service drives checkout with payment: package storage makes every state
// change, the Provider is called around those transactions.
type Service struct {
	store    *storage.Store
	provider Provider
	opts     Options
	kick     chan struct{}
}

// NewService builds a Service over store and provider.
func NewService(store *storage.Store, provider Provider, opts Options) *Service {
	if opts.TTL <= 0 {
		panic("payments: Options lack the TTL: the server's wiring passes PAYMENT_TTL")
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 20 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, provider: provider, opts: opts, kick: make(chan struct{}, 1)}
}

// Provider is the service's provider.
func (s *Service) Provider() Provider { return s.provider }

// AllowsUnpaidCheckout reports whether checkout (an order placed with no
// payment) is allowed: with the manual provider it is (a shop that takes no
// payment, or takes it by hand); with a provider that takes payments, an
// order must go through beginCheckout and be paid before it is sold.
func (s *Service) AllowsUnpaidCheckout() bool { return s.provider.Name() == ManualName }

// unavailable is beginCheckout's refusal when the provider failed.
func unavailable() *storage.Error {
	return &storage.Error{
		Code:    storage.CodePaymentProviderUnavailable,
		Message: "the payment provider could not begin the payment; the cart is unchanged, please retry",
		Field:   []string{"input", "cartId"},
	}
}

// BeginCheckout turns the cart into an order awaiting payment and begins
// the payment at the provider. In order:
//
//  1. storage.BeginCheckout commits the order in PENDING_PAYMENT (the
//     cart's holds now the order's, the cart checked out). Its id is now
//     durable, and it is the provider's idempotency key.
//  2. The provider creates the intent. A crash after this call but before
//     step 3 loses nothing: the order is pending, its cart checked out,
//     so a retry of beginCheckout finds the same order and calls again
//     with the same key, getting the same intent; without a retry the
//     reaper expires the order at dueAt and the cancel it queues finds
//     the intent by the same key.
//  3. storage.AttachIntent records the intent; only then does its client
//     secret reach the shopper.
//
// If step 2 fails, storage.AbandonCheckout puts the lines back in the
// cart and deletes the order, and the answer is PAYMENT_PROVIDER_UNAVAILABLE
// with the cart as it was. A call on a cart already checked out answers
// with its order (resuming step 2 if the order has no intent yet).
func (s *Service) BeginCheckout(ctx context.Context, cartID, email, key string) (*storage.Order, *storage.Payment, error) {
	order, pay, err := s.store.BeginCheckout(ctx, storage.BeginCheckoutParams{
		CartID: cartID, Email: email, IdempotencyKey: key, Provider: s.provider.Name(), TTL: s.opts.TTL,
	})
	if err != nil {
		return nil, nil, err
	}
	if pay == nil || pay.Provider != s.provider.Name() || pay.Status != storage.PaymentPending || pay.Reference != nil ||
		order.Status != storage.OrderPendingPayment {
		return order, pay, nil // placed by checkout, begun already, or decided
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	intent, err := s.provider.CreateIntent(cctx, Charge{OrderID: order.ID, AmountCents: pay.AmountCents, Currency: pay.Currency})
	cancel()
	if err != nil {
		s.opts.Log.WarnContext(ctx, "payment provider could not create an intent", orderRef(order.ID), "provider", s.provider.Name(), "err", scrub(err, order.ID))
		return s.abandon(ctx, order.ID)
	}
	if intent.Reference == "" {
		return order, pay, nil // the manual provider: nothing to record
	}
	p, err := s.store.AttachIntent(ctx, order.ID, intent.Reference, intent.ClientSecret)
	if err != nil {
		return nil, nil, err
	}
	if p == nil {
		// Another attempt abandoned the checkout meanwhile: this intent's
		// secret must not reach the shopper, whose cart is active again.
		return nil, nil, unavailable()
	}
	return s.reread(ctx, order.ID)
}

// abandon is BeginCheckout's compensation after a failed provider call.
func (s *Service) abandon(ctx context.Context, orderID string) (*storage.Order, *storage.Payment, error) {
	// The compensation must run even if the request's own time is up.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	undone, err := s.store.AbandonCheckout(cctx, orderID)
	if err != nil {
		// The order stays pending: a retry resumes it, the reaper expires it.
		s.opts.Log.ErrorContext(ctx, "could not abandon a checkout whose payment could not begin", orderRef(orderID), "err", scrub(err, orderID))
		return nil, nil, unavailable()
	}
	if !undone {
		// Another attempt went on with the order (recorded its intent).
		o, p, err := s.reread(cctx, orderID)
		if err == nil && o != nil && p != nil && p.Reference != nil {
			return o, p, nil
		}
	}
	return nil, nil, unavailable()
}

func (s *Service) reread(ctx context.Context, orderID string) (*storage.Order, *storage.Payment, error) {
	o, err := s.store.OrderByID(ctx, orderID)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.store.PaymentByOrderID(ctx, orderID)
	if err != nil {
		return nil, nil, err
	}
	return o, p, nil
}

// ConfirmManual is the manual provider's confirmation (the admin's
// confirmPayment): the order's manual payment succeeded under reference.
// A pending order is placed; one whose payment expired is placed if its
// units can be had again, else REFUND_REQUIRED; repeating the same
// confirmation changes nothing; another reference on a payment that
// succeeded, or an order without a manual payment, is PAYMENT_NOT_PENDING.
func (s *Service) ConfirmManual(ctx context.Context, orderID, reference string) (*storage.Order, error) {
	reference = strings.TrimSpace(reference)
	if reference == "" {
		return nil, &storage.Error{Code: storage.CodeInvalidInput, Message: "reference must not be empty", Field: []string{"input", "reference"}}
	}
	tr, err := s.store.PaymentSucceeded(ctx, storage.PaymentEvent{
		Provider: ManualName, EventType: "confirmPayment", OrderID: orderID, Reference: reference,
	})
	if err != nil {
		return nil, err
	}
	s.logTransition(ctx, tr, "confirmPayment")
	return tr.Order, nil
}

// Kick asks the action worker to look for work now (after a transition
// that may have queued some).
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Service) logTransition(ctx context.Context, tr *storage.PaymentTransition, cause string) {
	if tr == nil || !tr.Changed() {
		return
	}
	s.opts.Log.InfoContext(ctx, "order payment transition", orderRef(tr.Order.ID), "from", tr.From, "to", tr.Order.Status, "cause", cause)
	switch tr.Order.Status {
	case storage.OrderRefundRequired:
		s.opts.Log.WarnContext(ctx, "a paid order cannot be served: refund required", orderRef(tr.Order.ID))
		s.Kick()
	case storage.OrderPaymentExpired, storage.OrderCancelled:
		s.Kick()
	}
}

// ActionBatch bounds how many actions one pass of RunActions works.
const ActionBatch = 100

// RunActions works the provider side effects that transitions queued
// (cancel intents, refunds) every interval, and when kicked, until ctx
// ends. Any number of instances may run it: each action is claimed by one
// at a time (storage.WorkPaymentAction).
func (s *Service) RunActions(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		if _, err := s.WorkActions(ctx, ActionBatch); err != nil && ctx.Err() == nil {
			s.opts.Log.Warn("payment actions: pass failed", "err", err.Error())
		}
	}
}

// WorkActions works up to limit due actions of this provider's payments and
// returns how many it worked.
func (s *Service) WorkActions(ctx context.Context, limit int) (int, error) {
	n := 0
	for n < limit && ctx.Err() == nil {
		worked, err := s.store.WorkPaymentAction(ctx, s.provider.Name(), s.do)
		if err != nil {
			return n, err
		}
		if !worked {
			break
		}
		n++
	}
	return n, nil
}

// do performs one action at the provider.
func (s *Service) do(ctx context.Context, a *storage.PaymentAction) (storage.ActionResult, error) {
	c := Charge{OrderID: a.OrderID, AmountCents: a.AmountCents, Currency: a.Currency}
	if a.Reference != nil {
		c.Reference = *a.Reference
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	var err error
	switch a.Kind {
	case storage.ActionCancel:
		err = s.provider.Cancel(cctx, c)
	case storage.ActionRefund:
		err = s.provider.Refund(cctx, c)
	default:
		return storage.ActionFailed, errors.New("unknown action " + a.Kind)
	}
	log := s.opts.Log.With(orderRef(a.OrderID), "action", a.Kind, "provider", s.provider.Name(), "attempt", a.Attempts+1)
	switch {
	case err == nil:
		log.Info("payment action done")
		return storage.ActionDone, nil
	case errors.Is(err, ErrUnsupported):
		log.Warn("payment action needs doing by hand", "err", scrub(err, a.OrderID))
		return storage.ActionManual, err
	case errors.Is(err, ErrRejected):
		log.Error("payment action refused by the provider", "err", scrub(err, a.OrderID))
		return storage.ActionFailed, err
	default:
		log.Warn("payment action failed; will retry", "err", scrub(err, a.OrderID))
		return storage.ActionRetry, err
	}
}

// orderRef is the log attribute that names an order: never its id, a
// bearer secret, but storage.LogRef of it (docs/operations.md#logs).
func orderRef(id string) slog.Attr {
	if id == "" {
		return slog.String("order_ref", "")
	}
	return slog.String("order_ref", storage.LogRef(id))
}

// scrub is err's text for a log line, with the order id replaced by its
// ref: a provider's error may quote the idempotency key, which is made of
// the order id (Stripe's "Try using a key other than '…'").
func scrub(err error, orderID string) string {
	msg := err.Error()
	if orderID == "" {
		return msg
	}
	return strings.ReplaceAll(msg, orderID, storage.LogRef(orderID))
}
