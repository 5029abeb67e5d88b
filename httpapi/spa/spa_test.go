package spa

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// build lays out a directory like `vite build` does, plus a secret beside
// it that no request may reach.
func build(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "dist")
	files := map[string]string{
		"index.html":            "<!doctype html><title>shop</title>",
		"favicon.svg":           "<svg/>",
		"assets/index-abc1.js":  "console.log(1)",
		"assets/index-abc1.css": "body{}",
		".vite/manifest.json":   "{}",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func serve(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestServesFilesRoutesAndRefusals(t *testing.T) {
	h, err := Handler(build(t), "/shop/")
	if err != nil {
		t.Fatal(err)
	}
	const index = "<!doctype html><title>shop</title>"
	for _, tc := range []struct {
		method, target string
		status         int
		body, ctype    string
		cache          string
	}{
		{"GET", "/shop/", 200, index, "text/html; charset=utf-8", "no-cache"},
		{"GET", "/shop/index.html", 200, index, "text/html; charset=utf-8", "no-cache"},
		{"GET", "/shop/assets/index-abc1.js", 200, "console.log(1)", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"GET", "/shop/assets/index-abc1.css", 200, "body{}", "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"GET", "/shop/favicon.svg", 200, "<svg/>", "image/svg+xml", "no-cache"},
		{"HEAD", "/shop/favicon.svg", 200, "", "image/svg+xml", "no-cache"},
		// The app's routes get the app.
		{"GET", "/shop/products/holdfast-tee", 200, index, "text/html; charset=utf-8", "no-cache"},
		{"GET", "/shop/cart?x=1", 200, index, "text/html; charset=utf-8", "no-cache"},
		{"GET", "/shop/assets", 200, index, "text/html; charset=utf-8", "no-cache"},
		// Missing files are missing, never the page.
		{"GET", "/shop/assets/index-old.js", 404, "", "", ""},
		{"GET", "/shop/assets/chunk", 404, "", "", ""},
		{"GET", "/shop/robots.txt", 404, "", "", ""},
		// Nothing outside the directory, nor its dot files.
		{"GET", "/shop/../secret.txt", 404, "", "", ""},
		{"GET", "/shop/%2e%2e/secret.txt", 404, "", "", ""},
		{"GET", "/shop/link.txt", 404, "", "", ""},
		{"GET", "/shop/.vite/manifest.json", 404, "", "", ""},
		{"GET", "/other", 404, "", "", ""},
		{"POST", "/shop/", 405, "", "", ""},
	} {
		rec := serve(t, h, tc.method, tc.target)
		what := tc.method + " " + tc.target
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d", what, rec.Code, tc.status)
			continue
		}
		if csp := rec.Header().Get("Content-Security-Policy"); csp != ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", what, csp)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", what, got)
		}
		if tc.status != 200 {
			if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "<title>") {
				t.Errorf("%s: body %q", what, rec.Body.String())
			}
			continue
		}
		if got := rec.Body.String(); got != tc.body {
			t.Errorf("%s: body %q, want %q", what, got, tc.body)
		}
		if got := rec.Header().Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", what, got, tc.ctype)
		}
		if got := rec.Header().Get("Cache-Control"); got != tc.cache {
			t.Errorf("%s: Cache-Control %q, want %q", what, got, tc.cache)
		}
	}
}

func TestPolicyAllowsOnlyTheServer(t *testing.T) {
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		f := strings.Fields(d)
		for _, src := range f[1:] {
			ok := src == "'self'" || src == "'none'" || (f[0] == "img-src" && (src == "data:" || src == "https:"))
			if !ok {
				t.Errorf("CSP %s allows %s", f[0], src)
			}
		}
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
}

func TestRebuildNeedsNoRestart(t *testing.T) {
	dir := build(t)
	h, err := Handler(dir, "/shop/")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "assets", "index-new2.js"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rec := serve(t, h, "GET", "/shop/assets/index-new2.js"); rec.Code != 200 || rec.Body.String() != "new" {
		t.Errorf("a file added after start: %d %q", rec.Code, rec.Body.String())
	}
}

func TestHandlerNeedsABuild(t *testing.T) {
	if _, err := Handler(t.TempDir(), "/shop/"); err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Errorf("empty directory: err = %v, want one naming index.html", err)
	}
	if _, err := Handler(filepath.Join(t.TempDir(), "missing"), "/shop/"); err == nil {
		t.Error("missing directory: no error")
	}
	if _, err := Handler(build(t), "shop"); err == nil {
		t.Error("prefix without slashes: no error")
	}
}
