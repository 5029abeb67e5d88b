// Package blackbox holds what the black-box suites (faults/, cluster/) share:
// an HTTP GraphQL client that classifies every outcome, a storm of mixed
// shopper traffic, and the SQL and API audits of the books. It imports
// nothing of the server: the suites test it from outside.

package blackbox

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
	ClassOK        = "ok"        // data, no userErrors
	ClassUserError = "userError" // a business refusal (Code = its code)
	ClassGQLError  = "gqlError"  // a GraphQL error (Code = extensions.code)
	ClassTransport = "transport" // no HTTP response (Code = refused|reset|eof|timeout|other)
	ClassBad       = "bad"       // a response that is not a complete GraphQL JSON answer
)

// Outcome is what one request got.
type Outcome struct {
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

func (o Outcome) Key() string {
	if o.Code == "" {
		return o.Class
	}
	return o.Class + ":" + o.Code
}

// Recorder collects outcomes (safe for concurrent use).
type Recorder struct {
	mu  sync.Mutex
	all []Outcome
}

func (r *Recorder) add(o Outcome) {
	r.mu.Lock()
	r.all = append(r.all, o)
	r.mu.Unlock()
}

func (r *Recorder) Snapshot() []Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all)
}

// Summarize logs counts per operation and outcome, with the slowest
// request of each.
func Summarize(t *testing.T, title string, outs []Outcome) {
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
			a := m[o.Key()]
			if a == nil {
				a = &agg{}
				m[o.Key()] = a
			}
			a.n++
			a.max = max(a.max, o.Dur)
			if a.detail == "" && o.Class != ClassOK && o.Class != ClassUserError {
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

func Count(outs []Outcome, pred func(Outcome) bool) int {
	n := 0
	for _, o := range outs {
		if pred(o) {
			n++
		}
	}
	return n
}

func Filter(outs []Outcome, pred func(Outcome) bool) []Outcome {
	var r []Outcome
	for _, o := range outs {
		if pred(o) {
			r = append(r, o)
		}
	}
	return r
}

// ---------------------------------------------------------------- client

type Client struct {
	base string
	hc   *http.Client
	rec  *Recorder
}

// NewClient talks to the server at base. With keepAlive false every
// request uses a fresh connection, so a transport error can be attributed
// to that request alone.
func NewClient(base string, keepAlive bool, rec *Recorder) *Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		DisableKeepAlives:   !keepAlive,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{base: base, hc: &http.Client{Transport: tr, Timeout: 20 * time.Second}, rec: rec}
}

func (c *Client) Close() { c.hc.CloseIdleConnections() }

type GQLError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []GQLError                 `json:"errors"`
}

type payloadErrors struct {
	UserErrors []struct {
		Code string `json:"code"`
	} `json:"userErrors"`
}

// AdminToken is sent as the bearer token of admin requests; the suite
// sets it from ADMIN_TOKEN before its tests run.
var AdminToken string

// Do sends one GraphQL request whose top-level field is field, records
// the outcome under op and returns it with the field's JSON value (when
// answered).
func (c *Client) Do(op, field string, admin bool, query string, vars map[string]any) (Outcome, json.RawMessage) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, c.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("Authorization", "Bearer "+AdminToken)
	}
	o := Outcome{Op: op, Start: time.Now()}
	payload := c.send(req, field, &o)
	o.Dur = time.Since(o.Start)
	if c.rec != nil {
		c.rec.add(o)
	}
	return o, payload
}

func (c *Client) send(req *http.Request, field string, o *Outcome) json.RawMessage {
	resp, err := c.hc.Do(req)
	if err != nil {
		o.Class, o.Code, o.Detail = ClassTransport, transportKind(err), err.Error()
		return nil
	}
	defer resp.Body.Close()
	o.Status = resp.StatusCode
	o.Upstream = resp.Header.Get("X-Holdfast-Upstream")
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		o.Class, o.Code, o.Detail = ClassBad, "TRUNCATED", fmt.Sprintf("body read after %d bytes: %v", len(raw), err)
		return nil
	}
	var r gqlResponse
	if err := json.Unmarshal(raw, &r); err != nil || (r.Data == nil && r.Errors == nil) {
		o.Class, o.Code, o.Detail = ClassBad, fmt.Sprintf("NONJSON_%d", resp.StatusCode), snippet(raw)
		return nil
	}
	if len(r.Errors) > 0 {
		code, _ := r.Errors[0].Extensions["code"].(string)
		if code == "" {
			code = "NO_CODE"
		}
		o.Class, o.Code, o.Detail = ClassGQLError, code, r.Errors[0].Message
		return nil
	}
	v := r.Data[field]
	if len(v) == 0 || string(v) == "null" {
		o.Class, o.Code, o.Detail = ClassBad, "NULL_DATA", snippet(raw)
		return nil
	}
	var pe payloadErrors
	if json.Unmarshal(v, &pe) == nil && len(pe.UserErrors) > 0 {
		o.Class, o.Code = ClassUserError, pe.UserErrors[0].Code
		return v
	}
	o.Class = ClassOK
	if resp.StatusCode >= 500 {
		o.Class, o.Code, o.Detail = ClassBad, fmt.Sprintf("HTTP_%d_WITH_DATA", resp.StatusCode), snippet(raw)
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

// GetStatus GETs path and returns the status code (0 on transport error)
// and the time it took.
func GetStatus(base, path string, timeout time.Duration) (int, time.Duration) {
	hc := &http.Client{Timeout: timeout}
	begin := time.Now()
	resp, err := hc.Get(base + path)
	if err != nil {
		return 0, time.Since(begin)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(begin)
}
