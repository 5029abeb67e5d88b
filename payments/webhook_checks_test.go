package payments_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/payments"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// TestWebhookRefusesTimestampsOutsideTheWindow: a signature stamped more
// than the tolerance (5 minutes) from now, in the past or in the future,
// is 400 and changes nothing, however valid its HMAC. The endpoint's clock
// is fixed far from the wall clock, so only it decides.
func TestWebhookRefusesTimestampsOutsideTheWindow(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	p := storagetest.MustProduct(t, w.store, "TS1", 5)
	o, pay := w.begin(t, w.cartWith(t, 1, p))
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(&payments.StripeWebhook{Store: w.store, Secret: webhookSecret, Service: w.svc, Now: func() time.Time { return now }})
	t.Cleanup(srv.Close)

	before := storagetest.Snapshot(t, w.store.DB())
	for name, at := range map[string]time.Time{
		"10 years ahead":          now.AddDate(10, 0, 0),
		"a day ahead":             now.Add(24 * time.Hour),
		"5 minutes 1 s ahead":     now.Add(5*time.Minute + time.Second),
		"5 minutes 1 s ago":       now.Add(-5*time.Minute - time.Second),
		"a day ago":               now.Add(-24 * time.Hour),
		"the wall clock, not now": time.Now(),
	} {
		t.Run(name, func(t *testing.T) {
			ev := event("evt_ts", "payment_intent.succeeded", o, pay)
			ev.Signed = at
			body, sig := ev.Sign(t, webhookSecret)
			assert.Equal(t, http.StatusBadRequest, deliver(t, srv.URL, body, sig))
			assert.Equal(t, before, storagetest.Snapshot(t, w.store.DB()))
		})
	}
	for i, at := range []time.Time{now.Add(5 * time.Minute), now.Add(-5 * time.Minute), now} {
		ev := event(fmt.Sprintf("evt_in_window_%d", i), "payment_intent.succeeded", o, pay)
		ev.Signed = at
		body, sig := ev.Sign(t, webhookSecret)
		assert.Equal(t, http.StatusOK, deliver(t, srv.URL, body, sig), "signed %s from now", at.Sub(now))
	}
	st, _ := w.status(t, o.ID)
	assert.Equal(t, storage.OrderPlaced, st)
}

// TestWebhookIgnoresAnotherIntentOfTheOrder: an event about an intent that
// is not the one recorded for the order, though its metadata names the
// order (any intent of the account can carry it: here a 1-cent intent made
// at stripe-mock), never places or expires the order: 200 (Stripe
// delivering it again could not change that), nothing changed. The
// order's own intent still places it.
func TestWebhookIgnoresAnotherIntentOfTheOrder(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	p := storagetest.MustProduct(t, w.store, "AI1", 5)
	o, pay := w.begin(t, w.cartWith(t, 2, p))
	require.NotNil(t, pay.Reference)
	other, err := stripeProvider(mockURL(t)).CreateIntent(context.Background(), payments.Charge{OrderID: o.ID + "-cheap", AmountCents: 1, Currency: "USD"})
	require.NoError(t, err)
	intents := []string{"pi_not_the_orders"}
	if other.Reference != *pay.Reference { // stripe-mock may answer one fixture id for every intent
		intents = append(intents, other.Reference)
	}
	hook := w.webhook(t, w.store)

	before := storagetest.Snapshot(t, w.store.DB())
	for i, intent := range intents {
		for _, typ := range []string{"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"} {
			ev := event(fmt.Sprintf("evt_other_%d_%s", i, typ), typ, o, pay)
			ev.IntentID = intent
			body, sig := ev.Sign(t, webhookSecret)
			assert.Equal(t, http.StatusOK, deliver(t, hook.URL, body, sig), "%s %s", intent, typ)
			assert.Equal(t, before, storagetest.Snapshot(t, w.store.DB()), "%s %s changed something", intent, typ)
		}
	}
	st, ps := w.status(t, o.ID)
	assert.Equal(t, [2]string{storage.OrderPendingPayment, storage.PaymentPending}, [2]string{st, ps})

	body, sig := event("evt_own", "payment_intent.succeeded", o, pay).Sign(t, webhookSecret)
	assert.Equal(t, http.StatusOK, deliver(t, hook.URL, body, sig))
	st, ps = w.status(t, o.ID)
	assert.Equal(t, [2]string{storage.OrderPlaced, storage.PaymentSucceeded}, [2]string{st, ps})
	storagetest.AssertBooks(t, w.store)
}
