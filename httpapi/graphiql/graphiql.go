// Package graphiql serves a self-contained GraphiQL page: the page, its
// bootstrap script and every library it loads (GraphiQL 4, React 18) are
// embedded in the binary and served from the server's own origin, so the
// page works offline and under a Content-Security-Policy that allows only
// 'self'. It depends on the standard library only.
//
// The vendored files in assets/vendor come from the npm packages pinned in
// assets/package.json and assets/package-lock.json; scripts/graphiql-assets.sh
// refreshes them.
package graphiql

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// AssetsPath is the URL path under which Handler serves the page's assets.
// Mount the handler on it (as a subtree) as well as on the page's path.
const AssetsPath = "/graphiql/assets/"

//go:embed index.html
var pageSource string

//go:embed assets/holdfast-graphiql.js assets/holdfast-graphiql.css assets/favicon.svg assets/vendor
var embedded embed.FS

var page = template.Must(template.New("graphiql").Parse(pageSource))

// contentTypes lists every kind of file the assets may hold; anything else
// is not served.
var contentTypes = map[string]string{
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".woff2": "font/woff2",
	".woff":  "font/woff",
	".txt":   "text/plain; charset=utf-8",
}

// compressible are the types worth gzipping.
var compressible = map[string]bool{".js": true, ".css": true, ".svg": true, ".txt": true}

type asset struct {
	body        []byte
	contentType string
	etag        string
	gzipOnce    sync.Once
	gzipped     []byte // nil when not worth it
}

func (a *asset) gz() []byte {
	a.gzipOnce.Do(func() {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = w.Write(a.body) // a bytes.Buffer does not fail
		_ = w.Close()
		if b.Len() < len(a.body)*9/10 {
			a.gzipped = b.Bytes()
		}
	})
	return a.gzipped
}

// assets maps a path below assets/ (e.g. "vendor/graphiql.min.js") to its
// file; version names the whole set and is part of every asset URL, so that
// the assets can be cached for good and a new build is fetched afresh.
var assets, version = loadAssets()

func loadAssets() (map[string]*asset, string) {
	m := map[string]*asset{}
	var names []string
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		body, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "assets/")
		m[name] = &asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		names = append(names, name)
		return nil
	})
	if err != nil {
		panic("graphiql: reading embedded assets: " + err.Error())
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n + "\x00" + m[n].etag + "\x00"))
	}
	return m, hex.EncodeToString(h.Sum(nil)[:6])
}

// AssetsURL is the path prefix of the current assets, e.g.
// /graphiql/assets/0123456789ab/.
func AssetsURL() string { return AssetsPath + version + "/" }

// ContentSecurityPolicy is the policy the page is served with; styleNonce,
// if not empty, allows <style> elements carrying that nonce (GraphiQL's
// dialogs add one, see assets/holdfast-graphiql.js).
func ContentSecurityPolicy(styleNonce string) string {
	style := "style-src 'self'"
	if styleNonce != "" {
		style += " 'nonce-" + styleNonce + "'"
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		style,
		"img-src 'self'",
		"font-src 'self'",
		// 'self' also matches ws: and wss: to the same host and port
		// (CSP Level 3), which the subscriptions' websocket needs.
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func securityHeaders(h http.Header, styleNonce string) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy(styleNonce))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// Handler serves the GraphiQL page at "/" and its assets under AssetsPath;
// endpoint is the GraphQL endpoint's path or URL (e.g. "/graphql"), whose
// websocket (ws: or wss: on the same host) carries subscriptions. Any other
// path is answered 404. Mount it on both, e.g. with Go 1.22 patterns:
//
//	h := graphiql.Handler("/graphql")
//	mux.Handle("GET /{$}", h)
//	mux.Handle("GET "+graphiql.AssetsPath, h)
func Handler(endpoint string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch p := r.URL.Path; {
		case p == "/":
			servePage(w, r, endpoint)
		case strings.HasPrefix(p, AssetsPath):
			serveAsset(w, r, strings.TrimPrefix(p, AssetsPath))
		default:
			securityHeaders(w.Header(), "")
			http.NotFound(w, r)
		}
	})
}

func servePage(w http.ResponseWriter, r *http.Request, endpoint string) {
	var n [18]byte
	if _, err := rand.Read(n[:]); err != nil {
		http.Error(w, "no randomness", http.StatusInternalServerError)
		return
	}
	nonce := base64.RawURLEncoding.EncodeToString(n[:])
	var b bytes.Buffer
	if err := page.Execute(&b, struct{ Endpoint, Assets, Nonce string }{endpoint, AssetsURL(), nonce}); err != nil {
		http.Error(w, "cannot render GraphiQL", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	securityHeaders(h, nonce)
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The nonce is new on every load: the page must not be cached.
	h.Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

// serveAsset serves rest = "<version>/<name>". The current version is
// cached for a year; another version (a page loaded before a deploy) gets
// today's file, uncached, rather than a 404.
func serveAsset(w http.ResponseWriter, r *http.Request, rest string) {
	h := w.Header()
	securityHeaders(h, "")
	v, name, ok := strings.Cut(rest, "/")
	a := assets[name]
	if !ok || a == nil || v == "" {
		http.NotFound(w, r)
		return
	}
	h.Set("Content-Type", a.contentType)
	if v == version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body, etag := a.body, a.etag
	if compressible[path.Ext(name)] {
		h.Add("Vary", "Accept-Encoding")
		if gz := a.gz(); gz != nil && acceptsGzip(r) {
			body, etag = gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
