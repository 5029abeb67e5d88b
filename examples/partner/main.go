// Command partner is an example partner integration of Holdfast, built on
// package client alone:
//
//	partner sync -csv stock.csv        set stock counts from a CSV of sku,stock
//	             [-location ID]        ... at one location (default: the default location)
//	partner register -endpoint URL     create a webhook endpoint, print its secret
//	partner receive -secret whsec_...  receive webhooks: verify, deduplicate, log
//
// The API and token come from -api and -token (or HOLDFAST_API and
// HOLDFAST_TOKEN). See docs/partners.md.
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Khan/genqlient/graphql"

	"holdfast/client"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "partner:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: partner sync|register|receive [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	api := fs.String("api", envOr("HOLDFAST_API", "http://127.0.0.1:8080/graphql"), "the API's URL")
	token := fs.String("token", envOr("HOLDFAST_TOKEN", "dev-admin-token"), "the admin token")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch args[0] {
	case "sync":
		file := fs.String("csv", "", "CSV file of sku,stock (a header line is skipped)")
		reason := fs.String("reason", "partner sync", "recorded on each ledger movement")
		location := fs.String("location", "", "the location whose counts the CSV holds (its id; empty: the default location)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		rows, err := readCSV(f)
		if err != nil {
			return err
		}
		return syncStock(ctx, client.New(*api, client.Options{Token: *token}), rows, *reason, *location, out)
	case "register":
		endpoint := fs.String("endpoint", "http://127.0.0.1:9000/hooks", "the receiver's URL")
		topics := fs.String("topics", "ORDER_PLACED,ORDER_CANCELLED,ORDER_PAID,PRODUCT_SOLD_OUT,PRODUCT_BACK_IN_STOCK,STOCK_ADJUSTED,STOCK_LOW,INVENTORY_LEVEL_CHANGED", "comma-separated topics")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		var ts []client.WebhookTopic
		for _, t := range strings.Split(*topics, ",") {
			ts = append(ts, client.WebhookTopic(strings.TrimSpace(t)))
		}
		res, err := client.CreateWebhookEndpoint(ctx, client.New(*api, client.Options{Token: *token}),
			client.CreateWebhookEndpointInput{Url: *endpoint, Topics: ts})
		if err != nil {
			return err
		}
		if err := client.UserErrors(res.CreateWebhookEndpoint.UserErrors); err != nil {
			return err
		}
		fmt.Fprintf(out, "endpoint %s\nsecret %s\n", res.CreateWebhookEndpoint.Endpoint.Id, *res.CreateWebhookEndpoint.Secret)
		return nil
	case "receive":
		addr := fs.String("addr", "127.0.0.1:9000", "listen address")
		secret := fs.String("secret", os.Getenv("HOLDFAST_WEBHOOK_SECRET"), "the endpoint's signing secret")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *secret == "" {
			return errors.New("receive needs -secret (printed by register)")
		}
		log := slog.New(slog.NewJSONHandler(out, nil))
		srv := &http.Server{Addr: *addr, Handler: Receiver(*secret, log), ReadHeaderTimeout: 10 * time.Second}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		log.Info("receiving webhooks", "addr", *addr)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	default:
		return fmt.Errorf("unknown command %q (want sync, register or receive)", args[0])
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// row is one line of the CSV: a SKU and its counted stock.
type row struct {
	SKU   string
	Stock int
}

func readCSV(r io.Reader) ([]row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	cr.TrimLeadingSpace = true
	var rows []row
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(rec[1]))
		if err != nil {
			if line == 1 {
				continue // a header
			}
			return nil, fmt.Errorf("line %d: stock %q is not a number", line, rec[1])
		}
		rows = append(rows, row{SKU: strings.TrimSpace(rec[0]), Stock: n})
	}
}

// syncStock sets every row's stock at location (its id; "": the default
// location) with compareStock: the level this job read just before. When a sale or an adjustment moved a product in
// between (STOCK_CHANGED), the item is retried against the currentStock
// the refusal reports, up to three times; other refusals are reported.
// Batches of 250 items, one transaction each (allowPartial: one refused
// item does not hold back the others).
func syncStock(ctx context.Context, c graphql.Client, rows []row, reason, location string, out io.Writer) error {
	current, err := currentStock(ctx, c, location)
	if err != nil {
		return err
	}
	var failed int
	for start := 0; start < len(rows); start += 250 {
		batch := rows[start:min(start+250, len(rows))]
		compare := make([]*int, len(batch))
		for i, r := range batch {
			if n, ok := current[r.SKU]; ok {
				compare[i] = &n
			}
		}
		todo := make([]int, len(batch)) // indexes into batch still to set
		for i := range todo {
			todo[i] = i
		}
		for try := 0; len(todo) > 0 && try < 4; try++ {
			var items []client.SetStockItem
			for _, i := range todo {
				item := client.SetStockItem{Sku: &batch[i].SKU, Stock: batch[i].Stock, CompareStock: compare[i]}
				if location != "" {
					item.LocationId = &location
				}
				items = append(items, item)
			}
			partial := true
			res, err := client.SetStock(ctx, c, client.SetStockInput{Items: items, Reason: &reason, AllowPartial: &partial})
			if err != nil {
				return err
			}
			for _, p := range res.SetStock.Products {
				if location != "" {
					fmt.Fprintf(out, "%s: stock %d (available %d) after setting location %s\n", p.Sku, p.Stock, p.Available, location)
				} else {
					fmt.Fprintf(out, "%s: stock %d (available %d)\n", p.Sku, p.Stock, p.Available)
				}
			}
			var again []int
			for _, ue := range res.SetStock.UserErrors {
				k, err := strconv.Atoi(ue.Field[len(ue.Field)-1])
				if err != nil || k >= len(todo) {
					return fmt.Errorf("unexpected refusal %s: %s", ue.Code, ue.Message)
				}
				i := todo[k]
				if ue.Code == client.ErrorCodeStockChanged && ue.CurrentStock != nil && try < 3 {
					n := *ue.CurrentStock
					compare[i] = &n
					again = append(again, i)
					continue
				}
				failed++
				fmt.Fprintf(out, "%s: refused, %s: %s\n", batch[i].SKU, ue.Code, ue.Message)
			}
			todo = again
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d rows refused", failed, len(rows))
	}
	return nil
}

// currentStock reads every product's stock, by SKU; with a location, its
// level there (0 where it has none yet).
func currentStock(ctx context.Context, c graphql.Client, location string) (map[string]int, error) {
	if location != "" {
		return currentLevels(ctx, c, location)
	}
	out := map[string]int{}
	var after *string
	for {
		first := 50 // 12 complexity points a product: 50 fit the default limit of 1000
		page, err := client.ProductsPage(ctx, c, &first, after)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Products.Edges {
			out[e.Node.Sku] = e.Node.Stock
		}
		if !page.Products.PageInfo.HasNextPage {
			return out, nil
		}
		after = page.Products.PageInfo.EndCursor
	}
}

// currentLevels reads every product's level at location, by SKU.
func currentLevels(ctx context.Context, c graphql.Client, location string) (map[string]int, error) {
	out := map[string]int{}
	var after *string
	for {
		first := 25
		page, err := client.ProductLevelsPage(ctx, c, &first, after)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Products.Edges {
			out[e.Node.Sku] = 0
			for _, l := range e.Node.InventoryLevels {
				if l.Location.Id == location {
					out[e.Node.Sku] = l.Stock
				}
			}
		}
		if !page.Products.PageInfo.HasNextPage {
			return out, nil
		}
		after = page.Products.PageInfo.EndCursor
	}
}

// Receiver is a webhook endpoint: it refuses a request whose signature
// does not verify (400), logs each event once (retries carry the same
// Holdfast-Event-Id) and answers 204.
func Receiver(secret string, log *slog.Logger) http.Handler {
	var mu sync.Mutex
	seen := map[string]bool{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := client.VerifyWebhook(secret, r.Header.Get(client.SignatureHeader), body, 5*time.Minute); err != nil {
			log.Warn("refused a webhook", "err", err.Error())
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		var ev struct {
			ID        string          `json:"id"`
			Topic     string          `json:"topic"`
			CreatedAt time.Time       `json:"createdAt"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		mu.Lock()
		dup := seen[ev.ID]
		seen[ev.ID] = true
		mu.Unlock()
		if dup {
			log.Info("duplicate event ignored", "id", ev.ID)
		} else {
			log.Info("event", "id", ev.ID, "topic", ev.Topic, "createdAt", ev.CreatedAt, "data", ev.Data)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
