package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// together runs the functions on their own goroutines, released at once.
func together(fns ...func()) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn()
		}()
	}
	close(start)
	wg.Wait()
}

// expireSoon moves a cart's expiry to d from now (negative: already past).
func expireSoon(t *testing.T, s *storage.Store, cartID string, d time.Duration) {
	t.Helper()
	_, err := s.DB().Exec(`UPDATE carts SET expires_at = now() + $2 * interval '1 microsecond' WHERE id = $1`, cartID, d.Microseconds())
	require.NoError(t, err)
}

// allowed fails the test unless err is nil or a refusal with one of codes.
func allowed(t *testing.T, err error, codes ...storage.Code) {
	t.Helper()
	if err == nil {
		return
	}
	var se *storage.Error
	if !errors.As(err, &se) {
		t.Errorf("unexpected error: %v", err)
		return
	}
	for _, c := range codes {
		if se.Code == c {
			return
		}
	}
	t.Errorf("unexpected refusal %s", se.Code)
}

const rounds = 25

func TestRaceReaperVsAddToCart(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "R1", 10*rounds)
	for i := 0; i < rounds; i++ {
		c := storagetest.MustCart(t, s)
		_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
		require.NoError(t, err)
		expireSoon(t, s, c.ID, time.Duration(i%5)*time.Millisecond)
		var addErr, reapErr error
		together(
			func() {
				_, addErr = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
			},
			func() { _, reapErr = s.ReapExpired(ctx, 10) },
		)
		allowed(t, addErr, storage.CodeCartExpired)
		require.NoError(t, reapErr)
		storagetest.AssertBooks(t, s)
	}
}

func TestRaceCheckoutVsExpiry(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "R2", 10*rounds)
	sold := 0
	for i := 0; i < rounds; i++ {
		c := storagetest.MustCart(t, s)
		_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 3})
		require.NoError(t, err)
		expireSoon(t, s, c.ID, time.Duration(i%5)*time.Millisecond)
		var order *storage.Order
		var coErr, reapErr error
		together(
			func() { order, coErr = s.Checkout(ctx, c.ID, "ada@example.com", "") },
			func() { _, reapErr = s.ReapExpired(ctx, 10) },
		)
		allowed(t, coErr, storage.CodeCartExpired)
		require.NoError(t, reapErr)
		if coErr == nil {
			require.NotNil(t, order)
			sold += 3
		}
		books := storagetest.AssertBooks(t, s)
		assert.Equal(t, 10*rounds-sold, books[0].Stock, "round %d", i)
	}
}

func TestRaceCheckoutTwice(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	other := storagetest.OpenStore(t, u, storagetest.Options()) // another process
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "R3", 10*rounds)
	for i := 0; i < rounds; i++ {
		c := storagetest.MustCart(t, s)
		_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
		require.NoError(t, err)
		var o1, o2 *storage.Order
		var e1, e2 error
		together(
			func() { o1, e1 = s.Checkout(ctx, c.ID, "ada@example.com", "") },
			func() { o2, e2 = other.Checkout(ctx, c.ID, "ada@example.com", "") },
		)
		require.NoError(t, e1)
		require.NoError(t, e2)
		assert.Equal(t, o1.ID, o2.ID, "both checkouts answer with the same order")
		books := storagetest.AssertBooks(t, s)
		assert.Equal(t, 10*rounds-2*(i+1), books[0].Stock, "sold once")
	}
}

func TestRaceTwoReapers(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	other := storagetest.OpenStore(t, u, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "R4", 1000)
	for round := 0; round < 5; round++ {
		const carts = 60
		for i := 0; i < carts; i++ {
			c := storagetest.MustCart(t, s)
			_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
			require.NoError(t, err)
			expireSoon(t, s, c.ID, -time.Second)
		}
		var n1, n2 int
		drain := func(st *storage.Store, n *int) func() {
			return func() {
				for {
					k, err := st.ReapExpired(ctx, 7)
					require.NoError(t, err)
					*n += k
					if k == 0 {
						return
					}
				}
			}
		}
		together(drain(s, &n1), drain(other, &n2))
		// SKIP LOCKED can make a reaper stop early while the other still
		// holds carts; a last pass picks up anything left.
		k, err := s.ReapExpired(ctx, 1000)
		require.NoError(t, err)
		assert.Equal(t, carts, n1+n2+k, "every cart expired exactly once")
		books := storagetest.AssertBooks(t, s)
		assert.Equal(t, 0, books[0].Held)
	}
}
