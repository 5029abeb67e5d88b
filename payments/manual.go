package payments

import "context"

// Manual is the provider of shops that take payment outside Holdfast (bank
// transfer, cash, a terminal): no intent is created; an admin confirms the
// payment with confirmPayment and the reference it was paid under. It can
// cancel (nothing to do) but not refund: REFUND_REQUIRED orders wait for a
// refund by hand.
type Manual struct{}

// ManualName is the manual provider's name.
const ManualName = "manual"

// Name implements Provider.
func (Manual) Name() string { return ManualName }

// CreateIntent implements Provider: there is nothing to create.
func (Manual) CreateIntent(context.Context, Charge) (Intent, error) { return Intent{}, nil }

// Cancel implements Provider: an unconfirmed manual payment is simply never
// confirmed.
func (Manual) Cancel(context.Context, Charge) error { return nil }

// Refund implements Provider: money taken by hand goes back by hand.
func (Manual) Refund(context.Context, Charge) error { return ErrUnsupported }
