//go:build cluster

package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Outcome classes.
const (
	classOK        = "ok"        // data, no userErrors
	classUserError = "userError" // a business refusal (Code = its code)
	classGQLError  = "gqlError"  // a GraphQL error (Code = extensions.code)
	classTransport = "transport" // no HTTP response (Code = refused|reset|eof|timeout|other)
	classBad       = "bad"       // a response that is not a complete GraphQL JSON answer
)

// outcome is what one request got.
type outcome struct {
	Op     string
	Class  string
	Code   string
	Status int
	Start  time.Time
	Dur    time.Duration
	Detail string
	// Upstream is the replica nginx passed the request to (its
	// X-Holdfast-Upstream header; empty for direct requests). After a
	// retry on the next replica it lists both: "127.0.0.1:8191, 127.0.0.1:8192".
	Upstream string
}

func (o outcome) key() string {
	if o.Code == "" {
		return o.Class
	}
	return o.Class + ":" + o.Code
}

// recorder collects outcomes (safe for concurrent use).
type recorder struct {
	mu  sync.Mutex
	all []outcome
}

func (r *recorder) add(o outcome) {
	r.mu.Lock()
	r.all = append(r.all, o)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all)
}

// summarize logs counts per operation and outcome, with the slowest
// request of each.
func summarize(t *testing.T, title string, outs []outcome) {
	t.Helper()
	type agg struct {
		n      int
		max    time.Duration
		detail string // first message seen, for errors
	}
	per := map[string]map[string]*agg{}
	tot := map[string]*agg{}
	var maxDur time.Duration
	for _, o := range outs {
		if per[o.Op] == nil {
			per[o.Op] = map[string]*agg{}
		}
		for _, m := range []map[string]*agg{per[o.Op], tot} {
			a := m[o.key()]
			if a == nil {
				a = &agg{}
				m[o.key()] = a
			}
			a.n++
			a.max = max(a.max, o.Dur)
			if a.detail == "" && o.Class != classOK && o.Class != classUserError {
				a.detail = o.Detail
			}
		}
		maxDur = max(maxDur, o.Dur)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d requests, slowest %s\n", title, len(outs), maxDur.Round(time.Millisecond))
	write := func(indent string, m map[string]*agg) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s%-40s %6d  (max %s)", indent, k, m[k].n, m[k].max.Round(time.Millisecond))
			if d := m[k].detail; d != "" {
				fmt.Fprintf(&b, "  e.g. %q", d)
			}
			b.WriteString("\n")
		}
	}
	ops := make([]string, 0, len(per))
	for op := range per {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Fprintf(&b, "  %s\n", op)
		write("    ", per[op])
	}
	b.WriteString("  all operations\n")
	write("    ", tot)
	t.Log(b.String())
}

func count(outs []outcome, pred func(outcome) bool) int {
	n := 0
	for _, o := range outs {
		if pred(o) {
			n++
		}
	}
	return n
}

func filter(outs []outcome, pred func(outcome) bool) []outcome {
	var r []outcome
	for _, o := range outs {
		if pred(o) {
			r = append(r, o)
		}
	}
	return r
}

// requireNoFailures fails t for every outcome that is not an answer (a
// transport error, a GraphQL error, a bad response), naming up to 10.
func requireNoFailures(t *testing.T, what string, outs []outcome) {
	t.Helper()
	bad := filter(outs, func(o outcome) bool { return o.Class != classOK && o.Class != classUserError })
	for i, o := range bad {
		if i == 10 {
			t.Errorf("... and %d more failed requests", len(bad)-10)
			break
		}
		t.Errorf("%s: %s failed: %s (HTTP %d after %s, upstream %q): %s", what, o.Op, o.key(), o.Status, o.Dur.Round(time.Millisecond), o.Upstream, o.Detail)
	}
}

// servedBy counts outcomes per replica that answered them (the last
// address of X-Holdfast-Upstream).
func servedBy(outs []outcome) map[string]int {
	m := map[string]int{}
	for _, o := range outs {
		if o.Upstream == "" {
			continue
		}
		addrs := strings.Split(o.Upstream, ",")
		m[strings.TrimSpace(addrs[len(addrs)-1])]++
	}
	return m
}

// requireEveryReplica fails t unless every replica answered some of outs.
func requireEveryReplica(t *testing.T, what string, outs []outcome) {
	t.Helper()
	by := servedBy(outs)
	for _, r := range replicas {
		if by[r.hostPort()] == 0 {
			t.Errorf("%s: replica %s answered none of %d requests (by replica: %v)", what, r.url, len(outs), by)
		}
	}
	t.Logf("%s: requests by replica: %v", what, by)
}

// ---------------------------------------------------------------- client

type client struct {
	base string
	hc   *http.Client
	rec  *recorder
}

// newClient talks to the server at base. With keepAlive false every
// request uses a fresh connection, so a transport error can be attributed
// to that request alone.
func newClient(base string, keepAlive bool, rec *recorder) *client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		DisableKeepAlives:   !keepAlive,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	return &client{base: base, hc: &http.Client{Transport: tr, Timeout: 20 * time.Second}, rec: rec}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []gqlError                 `json:"errors"`
}

type payloadErrors struct {
	UserErrors []struct {
		Code string `json:"code"`
	} `json:"userErrors"`
}

// do sends one GraphQL request whose top-level field is field, records
// the outcome under op and returns it with the field's JSON value (when
// answered).
func (c *client) do(op, field string, admin bool, query string, vars map[string]any) (outcome, json.RawMessage) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, c.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	o := outcome{Op: op, Start: time.Now()}
	payload := c.send(req, field, &o)
	o.Dur = time.Since(o.Start)
	if c.rec != nil {
		c.rec.add(o)
	}
	return o, payload
}

func (c *client) send(req *http.Request, field string, o *outcome) json.RawMessage {
	resp, err := c.hc.Do(req)
	if err != nil {
		o.Class, o.Code, o.Detail = classTransport, transportKind(err), err.Error()
		return nil
	}
	defer resp.Body.Close()
	o.Status = resp.StatusCode
	o.Upstream = resp.Header.Get("X-Holdfast-Upstream")
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		o.Class, o.Code, o.Detail = classBad, "TRUNCATED", fmt.Sprintf("body read after %d bytes: %v", len(raw), err)
		return nil
	}
	var r gqlResponse
	if err := json.Unmarshal(raw, &r); err != nil || (r.Data == nil && r.Errors == nil) {
		o.Class, o.Code, o.Detail = classBad, fmt.Sprintf("NONJSON_%d", resp.StatusCode), snippet(raw)
		return nil
	}
	if len(r.Errors) > 0 {
		code, _ := r.Errors[0].Extensions["code"].(string)
		if code == "" {
			code = "NO_CODE"
		}
		o.Class, o.Code, o.Detail = classGQLError, code, r.Errors[0].Message
		return nil
	}
	v := r.Data[field]
	if len(v) == 0 || string(v) == "null" {
		o.Class, o.Code, o.Detail = classBad, "NULL_DATA", snippet(raw)
		return nil
	}
	var pe payloadErrors
	if json.Unmarshal(v, &pe) == nil && len(pe.UserErrors) > 0 {
		o.Class, o.Code = classUserError, pe.UserErrors[0].Code
		return v
	}
	o.Class = classOK
	if resp.StatusCode >= 500 {
		o.Class, o.Code, o.Detail = classBad, fmt.Sprintf("HTTP_%d_WITH_DATA", resp.StatusCode), snippet(raw)
	}
	return v
}

func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	default:
		return "other"
	}
}

func snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return strings.TrimSpace(string(b))
}
