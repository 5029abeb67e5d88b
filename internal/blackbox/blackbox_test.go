package blackbox_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/internal/blackbox"
	"holdfast/payments"
	"holdfast/storage/storagetest"
)

// The suites' world, storm and audits against an in-process server: the
// world's three locations are set up, the storm runs (adjustStock at random
// locations included) and both audits find the books exact.
func TestWorldStormAudits(t *testing.T) {
	store, u := storagetest.NewStore(t, storagetest.Options())
	blackbox.AdminToken = "blackbox-admin"
	srv := httptest.NewServer(httpapi.API(httpapi.APIConfig{AdminToken: blackbox.AdminToken}, graph.NewHandler(graph.HandlerConfig{
		Store: store, AdminToken: blackbox.AdminToken,
		Payments: payments.NewService(store, payments.Manual{}, payments.Options{TTL: time.Hour}),
	})))
	defer srv.Close()
	w := blackbox.SetupWorld(t, srv.URL, 4, 30, 10)
	if len(w.Locations) != 3 {
		t.Fatalf("world: %d locations, want 3", len(w.Locations))
	}
	c := blackbox.NewClient(srv.URL, true, nil)
	defer c.Close()
	w.RunStorm(c, 4, 7, 300)
	blackbox.CheckInvariants(t, u)
	blackbox.CheckAuditAPI(t, srv.URL, 4)
	storagetest.AssertBooks(t, store)
}
