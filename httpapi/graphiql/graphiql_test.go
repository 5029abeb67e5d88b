package graphiql

import (
	"bytes"
	"compress/gzip"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// checkSecurityHeaders also checks that the CSP names no origin: every
// source is a keyword ('self', 'none') or a nonce.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	if csp == "" {
		t.Fatalf("%s: no Content-Security-Policy", what)
	}
	directives := map[string][]string{}
	for _, d := range strings.Split(csp, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		directives[f[0]] = f[1:]
		for _, src := range f[1:] {
			switch {
			case src == "'self'", src == "'none'":
			case strings.HasPrefix(src, "'nonce-") && strings.HasSuffix(src, "'"):
				if f[0] != "style-src" {
					t.Errorf("%s: CSP: nonce in %s", what, f[0])
				}
			default:
				t.Errorf("%s: CSP: %s allows %s", what, f[0], src)
			}
		}
	}
	for _, d := range []string{"default-src", "script-src", "style-src", "img-src", "font-src", "connect-src", "frame-ancestors", "base-uri"} {
		if _, ok := directives[d]; !ok {
			t.Errorf("%s: CSP has no %s: %s", what, d, csp)
		}
	}
	if got := directives["default-src"]; len(got) != 1 || got[0] != "'none'" {
		t.Errorf("%s: CSP default-src = %v, want 'none'", what, got)
	}
	if got := directives["script-src"]; len(got) != 1 || got[0] != "'self'" {
		t.Errorf("%s: CSP script-src = %v, want 'self' alone", what, got)
	}
}

var nonceRE = regexp.MustCompile(`'nonce-([A-Za-z0-9_-]+)'`)

func TestPage(t *testing.T) {
	h := Handler("/graphql")
	rec := get(t, h, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	checkSecurityHeaders(t, "page", rec.Header())
	body := rec.Body.String()
	if !strings.Contains(body, `data-endpoint="/graphql"`) {
		t.Errorf("the page does not name its endpoint:\n%s", body)
	}

	m := nonceRE.FindStringSubmatch(rec.Header().Get("Content-Security-Policy"))
	if m == nil {
		t.Fatalf("no style nonce in the CSP")
	}
	if !strings.Contains(body, `holdfast-graphiql.js" nonce="`+m[1]+`"`) {
		t.Errorf("the bootstrap script does not carry the CSP's nonce %s:\n%s", m[1], body)
	}
	again := nonceRE.FindStringSubmatch(get(t, h, "/").Header().Get("Content-Security-Policy"))
	if again == nil || again[1] == m[1] {
		t.Errorf("the nonce is not new on every load: %q then %q", m[1], again)
	}

	// No inline script or style: every <script> has a src, no <style>, no
	// style or on* attributes.
	for _, s := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(s, ` src="`) {
			t.Errorf("inline script: %s", s)
		}
	}
	if regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=`).MatchString(body) {
		t.Errorf("the page has inline style or event handlers:\n%s", body)
	}
}

func TestPageEscapesEndpoint(t *testing.T) {
	body := get(t, Handler(`/x"><script>alert(1)</script>`), "/").Body.String()
	if strings.Contains(body, "<script>alert") {
		t.Errorf("endpoint not escaped:\n%s", body)
	}
}

var refRE = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
var cssURLRE = regexp.MustCompile(`url\(\s*["']?([^"')]+)["']?\s*\)`)

// TestEverythingReferencedExists follows every reference of the page (and
// of its stylesheets) and fetches it from the handler.
func TestEverythingReferencedExists(t *testing.T) {
	h := Handler("/graphql")
	body := get(t, h, "/").Body.String()
	refs := refRE.FindAllStringSubmatch(body, -1)
	if len(refs) < 6 {
		t.Fatalf("only %d references in the page:\n%s", len(refs), body)
	}
	wantTypes := map[string]string{
		".js":    "text/javascript; charset=utf-8",
		".css":   "text/css; charset=utf-8",
		".svg":   "image/svg+xml",
		".woff2": "font/woff2",
		".woff":  "font/woff",
		".png":   "image/png",
	}
	seen := map[string]bool{}
	var fetch func(u, from string)
	fetch = func(u, from string) {
		if seen[u] {
			return
		}
		seen[u] = true
		if !strings.HasPrefix(u, AssetsURL()) {
			t.Errorf("%s references %s, outside %s", from, u, AssetsURL())
			return
		}
		rec := get(t, h, u)
		if rec.Code != http.StatusOK {
			t.Errorf("%s references %s: %d", from, u, rec.Code)
			return
		}
		if got, want := rec.Header().Get("Content-Type"), wantTypes[path.Ext(u)]; got != want {
			t.Errorf("%s: Content-Type = %q, want %q", u, got, want)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control = %q", u, cc)
		}
		if rec.Header().Get("ETag") == "" {
			t.Errorf("%s: no ETag", u)
		}
		checkSecurityHeaders(t, u, rec.Header())
		if path.Ext(u) == ".css" {
			for _, m := range cssURLRE.FindAllStringSubmatch(rec.Body.String(), -1) {
				ref := m[1]
				if strings.Contains(ref, ":") || strings.HasPrefix(ref, "/") {
					t.Errorf("%s references %s: not a relative path (data: or another origin?)", u, ref)
					continue
				}
				fetch(path.Join(path.Dir(u), ref)+"", u)
			}
		}
		if path.Ext(u) == ".js" && strings.Contains(rec.Body.String(), "sourceMappingURL=") {
			t.Errorf("%s points to a source map that is not shipped", u)
		}
	}
	for _, r := range refs {
		fetch(r[1], "the page")
	}
	for _, want := range []string{"vendor/react.production.min.js", "vendor/react-dom.production.min.js", "vendor/graphiql.min.js", "vendor/graphiql.min.css", "holdfast-graphiql.js"} {
		if !seen[AssetsURL()+want] {
			t.Errorf("the page does not load %s", want)
		}
	}
	fonts := 0
	for u := range seen {
		if strings.HasSuffix(u, ".woff2") {
			fonts++
		}
	}
	if fonts == 0 {
		t.Errorf("the stylesheets reference no font files")
	}
}

// TestNoExternalOrigins: neither the page nor the bootstrap script names
// another origin (vendored bundles contain URLs in strings and comments).
func TestNoExternalOrigins(t *testing.T) {
	h := Handler("/graphql")
	for _, u := range []string{"/", AssetsURL() + "holdfast-graphiql.js", AssetsURL() + "holdfast-graphiql.css"} {
		body := get(t, h, u).Body.String()
		if regexp.MustCompile(`(?i)(https?|wss?):/`).MatchString(body) || strings.Contains(body, "//cdn") || strings.Contains(body, `"//`) {
			t.Errorf("%s names an origin:\n%s", u, body)
		}
	}
}

func TestAssetsNotFoundAndOldVersions(t *testing.T) {
	h := Handler("/graphql")
	for _, u := range []string{
		AssetsURL() + "nope.js",
		AssetsURL() + "package.json",
		AssetsURL() + "package-lock.json",
		AssetsPath + "vendor/graphiql.min.js", // no version
		AssetsPath,
		AssetsURL(),
		"/graphiql",
		"/other",
	} {
		if rec := get(t, h, u); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", u, rec.Code)
		} else {
			checkSecurityHeaders(t, u, rec.Header())
		}
	}
	rec := get(t, h, AssetsPath+"0ld0ld0ld0ld/vendor/graphiql.min.js")
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("an old version's asset: %d, Cache-Control %q; want 200, no-cache", rec.Code, rec.Header().Get("Cache-Control"))
	}
}

func TestConditionalAndGzip(t *testing.T) {
	h := Handler("/graphql")
	u := AssetsURL() + "vendor/graphiql.min.js"
	plain := get(t, h, u)
	etag := plain.Header().Get("ETag")
	if rec := get(t, h, u, "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", rec.Code)
	}
	gz := get(t, h, u, "Accept-Encoding", "br, gzip")
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("ETag") == etag {
		t.Fatalf("gzip: Content-Encoding %q, ETag %q (plain %q)", gz.Header().Get("Content-Encoding"), gz.Header().Get("ETag"), etag)
	}
	if !strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") {
		t.Errorf("no Vary: Accept-Encoding")
	}
	if n := gz.Body.Len(); n == 0 || n >= plain.Body.Len()/2 {
		t.Errorf("gzipped %d bytes vs %d plain", n, plain.Body.Len())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, plain.Body.Bytes()) {
		t.Errorf("gunzipped body differs (err %v)", err)
	}
	if rec := get(t, h, u, "Accept-Encoding", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 got gzip")
	}
	if rec := get(t, h, AssetsURL()+"vendor/graphiql-css/"+firstFont(t), "Accept-Encoding", "gzip"); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("a font was gzipped")
	}
}

func firstFont(t *testing.T) string {
	for name := range assets {
		if strings.HasSuffix(name, ".woff2") {
			return path.Base(name)
		}
	}
	t.Fatal("no fonts embedded")
	return ""
}

func TestMethods(t *testing.T) {
	h := Handler("/graphql")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, AssetsURL()+"vendor/graphiql.min.css", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// TestMounted serves the handler the way server.go mounts it.
func TestMounted(t *testing.T) {
	mux := http.NewServeMux()
	h := Handler("/graphql")
	mux.Handle("GET /{$}", h)
	mux.Handle("GET "+AssetsPath, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, u := range []string{"/", AssetsURL() + "vendor/graphiql.min.js"} {
		resp, err := http.Get(srv.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", u, resp.StatusCode)
		}
	}
}

// TestStandardLibraryOnly: the package imports nothing but the standard
// library (whose import paths have no dot in their first element).
func TestStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") || p == "holdfast" || strings.HasPrefix(p, "holdfast/") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
