package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The server's own counters, from its Prometheus /metrics (admin token):
// go_memstats_mallocs_total (the Go runtime's cumulative heap allocations)
// gives the server's allocations per operation, and holdfast_renders_total
// how many carts and product groups it rendered by the compiled plan or by
// gqlgen's field execution.

type serverCounters struct {
	mallocs float64
	renders map[string]float64 // by the series' labels, e.g. {path="compiled",type="ProductGroup"}
}

// readMetrics scrapes baseURL's /metrics.
func readMetrics(ctx context.Context, hc *http.Client, baseURL, token string) (serverCounters, error) {
	out := serverCounters{mallocs: -1, renders: map[string]float64{}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/metrics", nil)
	if err != nil {
		return out, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return out, fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the counters holdbench uses from the Prometheus text
// format.
func parseMetrics(r io.Reader) (serverCounters, error) {
	out := serverCounters{mallocs: -1, renders: map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		series, labels, _ := strings.Cut(name, "{")
		if series != "go_memstats_mallocs_total" && series != "holdfast_renders_total" {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			return out, fmt.Errorf("/metrics: %q: %w", line, err)
		}
		if series == "go_memstats_mallocs_total" {
			out.mallocs = v
		} else {
			out.renders["{"+labels] = v
		}
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	if out.mallocs < 0 {
		return out, fmt.Errorf("/metrics: no go_memstats_mallocs_total")
	}
	return out, nil
}

// counterDelta measures the counters over a cell: read twice before the
// clock (the second read less the first is what one read allocates) and
// once after it.
type counterDelta struct {
	read       func(context.Context) (serverCounters, error)
	first, now serverCounters
	err        error
}

func startCounters(ctx context.Context, read func(context.Context) (serverCounters, error)) *counterDelta {
	d := &counterDelta{read: read}
	if d.first, d.err = read(ctx); d.err == nil {
		d.now, d.err = read(ctx)
	}
	return d
}

// stop returns the allocations during the clock (-1 when a read failed)
// and the render counters' increments.
func (d *counterDelta) stop(ctx context.Context) (float64, map[string]float64) {
	if d.err != nil {
		return -1, nil
	}
	end, err := d.read(ctx)
	if err != nil {
		return -1, nil
	}
	readCost := d.now.mallocs - d.first.mallocs
	renders := map[string]float64{}
	for k, v := range end.renders {
		if n := v - d.now.renders[k]; n > 0 {
			renders[k] = n
		}
	}
	return max(0, end.mallocs-d.now.mallocs-readCost), renders
}

// metricsReader reads the counters of the server of c (its first endpoint).
func (c *gqlClient) metricsReader() func(context.Context) (serverCounters, error) {
	base := strings.TrimSuffix(c.endpoint, "/graphql")
	return func(ctx context.Context) (serverCounters, error) {
		return readMetrics(ctx, c.hc, base, c.token)
	}
}
