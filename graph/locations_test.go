package graph_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

// The locations contract through GraphQL: admin only; create, update, list;
// per-location adjustStock and setStock; a product's levels and an order
// line's allocations; LOCATION_NOT_FOUND.
func TestLocationsAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "LOC-API", 2)

	t.Run("admin only", func(t *testing.T) {
		assert.Equal(t, "UNAUTHENTICATED", e.gql(t, "", `{ locations { id } }`, nil).code())
		r := e.gql(t, "", `mutation { createLocation(input: {name: "x"}) { location { id } } }`, nil)
		assert.Equal(t, "UNAUTHENTICATED", r.code())
		r = e.gql(t, "", `query($id: ID!) { product(id: $id) { inventoryLevels { stock } } }`, map[string]any{"id": pid(p)})
		assert.Equal(t, "UNAUTHENTICATED", r.code())
	})

	type location struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Priority int    `json:"priority"`
		Active   bool   `json:"active"`
	}
	var created struct {
		CreateLocation struct {
			Location   *location   `json:"location"`
			UserErrors []userError `json:"userErrors"`
		} `json:"createLocation"`
	}
	decode(t, e.gql(t, adminToken, `mutation { createLocation(input: {name: " Warehouse ", priority: 2}) { location { id name priority active } userErrors { code field } } }`, nil), &created)
	require.Empty(t, created.CreateLocation.UserErrors)
	w := *created.CreateLocation.Location
	assert.Equal(t, location{ID: w.ID, Name: "Warehouse", Priority: 2, Active: true}, w)

	decode(t, e.gql(t, adminToken, `mutation { createLocation(input: {name: ""}) { location { id } userErrors { code field } } }`, nil), &created)
	assert.Nil(t, created.CreateLocation.Location)
	require.Len(t, created.CreateLocation.UserErrors, 1)
	assert.Equal(t, "INVALID_INPUT", created.CreateLocation.UserErrors[0].Code)

	var list struct {
		Locations []location `json:"locations"`
	}
	decode(t, e.gql(t, adminToken, `{ locations { id name priority active } }`, nil), &list)
	assert.Equal(t, []location{{ID: "1", Name: "Default", Priority: 0, Active: true}, w}, list.Locations)

	// Restock the warehouse; then sell 3: 2 from the default location
	// (priority 0), 1 from the warehouse.
	var adj struct {
		AdjustStock struct {
			Product *struct {
				Stock  int `json:"stock"`
				Levels []struct {
					Location struct{ ID string } `json:"location"`
					Stock    int                 `json:"stock"`
				} `json:"inventoryLevels"`
			} `json:"product"`
			UserErrors []userError `json:"userErrors"`
		} `json:"adjustStock"`
	}
	const adjust = `mutation($in: AdjustStockInput!) { adjustStock(input: $in) { product { stock inventoryLevels { location { id } stock } } userErrors { code field } } }`
	decode(t, e.gql(t, adminToken, adjust, map[string]any{"in": map[string]any{"productId": pid(p), "delta": 3, "locationId": w.ID}}), &adj)
	require.Empty(t, adj.AdjustStock.UserErrors)
	assert.Equal(t, 5, adj.AdjustStock.Product.Stock)
	require.Len(t, adj.AdjustStock.Product.Levels, 2)
	assert.Equal(t, 2, adj.AdjustStock.Product.Levels[0].Stock)
	assert.Equal(t, 3, adj.AdjustStock.Product.Levels[1].Stock)
	for _, bad := range []string{"999", "nope", "0"} {
		decode(t, e.gql(t, adminToken, adjust, map[string]any{"in": map[string]any{"productId": pid(p), "delta": 1, "locationId": bad}}), &adj)
		require.Len(t, adj.AdjustStock.UserErrors, 1, bad)
		assert.Equal(t, "LOCATION_NOT_FOUND", adj.AdjustStock.UserErrors[0].Code, bad)
		assert.Equal(t, []string{"input", "locationId"}, adj.AdjustStock.UserErrors[0].Field)
	}

	var set struct {
		SetStock struct {
			Products   []struct{ Stock int } `json:"products"`
			UserErrors []userError           `json:"userErrors"`
		} `json:"setStock"`
	}
	const setStock = `mutation($in: SetStockInput!) { setStock(input: $in) { products { stock } userErrors { code field currentStock } } }`
	decode(t, e.gql(t, adminToken, setStock, map[string]any{"in": map[string]any{"items": []map[string]any{{"sku": "LOC-API", "stock": 4, "compareStock": 3, "locationId": w.ID}}}}), &set)
	require.Empty(t, set.SetStock.UserErrors)
	assert.Equal(t, 6, set.SetStock.Products[0].Stock)
	decode(t, e.gql(t, adminToken, setStock, map[string]any{"in": map[string]any{"items": []map[string]any{{"sku": "LOC-API", "stock": 4, "locationId": "12345"}}}}), &set)
	require.Len(t, set.SetStock.UserErrors, 1)
	assert.Equal(t, "LOCATION_NOT_FOUND", set.SetStock.UserErrors[0].Code)

	cart := e.createCart(t)
	_, r := addToCart(t, e.srv.URL, cart, pid(p), 3)
	require.Empty(t, r.Errors)
	var co struct {
		Checkout struct {
			Order struct {
				ID    string `json:"id"`
				Lines []struct {
					Allocations []struct {
						Location location `json:"location"`
						Quantity int      `json:"quantity"`
					} `json:"allocations"`
				} `json:"lines"`
			} `json:"order"`
		} `json:"checkout"`
	}
	decode(t, e.gql(t, adminToken, `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id lines { allocations { location { id name priority active } quantity } } } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"cartId": cart, "email": "ada@example.com"}}), &co)
	require.Len(t, co.Checkout.Order.Lines, 1)
	allocs := co.Checkout.Order.Lines[0].Allocations
	require.Len(t, allocs, 2)
	assert.Equal(t, "1", allocs[0].Location.ID)
	assert.Equal(t, 2, allocs[0].Quantity)
	assert.Equal(t, w.ID, allocs[1].Location.ID)
	assert.Equal(t, 1, allocs[1].Quantity)

	// Deactivating the warehouse takes its 3 units out; the default location
	// cannot be deactivated.
	var upd struct {
		UpdateLocation struct {
			Location   *location   `json:"location"`
			UserErrors []userError `json:"userErrors"`
		} `json:"updateLocation"`
	}
	const update = `mutation($in: UpdateLocationInput!) { updateLocation(input: $in) { location { id name priority active } userErrors { code field } } }`
	decode(t, e.gql(t, adminToken, update, map[string]any{"in": map[string]any{"locationId": w.ID, "active": false, "priority": 7}}), &upd)
	require.Empty(t, upd.UpdateLocation.UserErrors)
	assert.Equal(t, location{ID: w.ID, Name: "Warehouse", Priority: 7, Active: false}, *upd.UpdateLocation.Location)
	decode(t, e.gql(t, adminToken, update, map[string]any{"in": map[string]any{"locationId": "1", "active": false}}), &upd)
	require.Len(t, upd.UpdateLocation.UserErrors, 1)
	assert.Equal(t, "INVALID_INPUT", upd.UpdateLocation.UserErrors[0].Code)
	decode(t, e.gql(t, adminToken, update, map[string]any{"in": map[string]any{"locationId": "x", "name": "y"}}), &upd)
	require.Len(t, upd.UpdateLocation.UserErrors, 1)
	assert.Equal(t, "LOCATION_NOT_FOUND", upd.UpdateLocation.UserErrors[0].Code)

	var prod struct {
		Product struct {
			Stock  int `json:"stock"`
			Levels []struct {
				Location location `json:"location"`
				Stock    int      `json:"stock"`
			} `json:"inventoryLevels"`
		} `json:"product"`
	}
	decode(t, e.gql(t, adminToken, `query($id: ID!) { product(id: $id) { stock inventoryLevels { location { id active } stock } } }`, map[string]any{"id": pid(p)}), &prod)
	assert.Equal(t, 0, prod.Product.Stock)
	require.Len(t, prod.Product.Levels, 2)
	assert.Equal(t, 0, prod.Product.Levels[1].Stock)
	assert.False(t, prod.Product.Levels[1].Location.Active)

	var audit struct {
		InventoryAudit []struct {
			OK                   bool `json:"ok"`
			LevelStock           int  `json:"levelStock"`
			BadLevels            int  `json:"badLevels"`
			AllocationMismatches int  `json:"allocationMismatches"`
		} `json:"inventoryAudit"`
	}
	decode(t, e.gql(t, adminToken, `{ inventoryAudit { ok levelStock badLevels allocationMismatches } }`, nil), &audit)
	require.Len(t, audit.InventoryAudit, 1)
	assert.True(t, audit.InventoryAudit[0].OK)
	storagetest.AssertBooks(t, e.store)
}
