// Package spa serves a built single-page app from a directory on disk: the
// storefront of examples/storefront (`npm run build` writes its dist/), at
// /shop/ when STOREFRONT_DIR names that directory. Nothing of the app is
// built into the binary; without STOREFRONT_DIR the server serves no app.
//
// Files are served as they are on disk (a rebuild needs no restart); a path
// that names no file and has no extension is one of the app's own routes
// (e.g. /shop/products/tee) and gets index.html, while a missing asset or
// file (anything with an extension) is a 404, so that a stale page never
// receives HTML for a script. Every response carries a strict
// Content-Security-Policy: scripts, styles and connections ('self' also
// covers the same-origin websocket) come from the server alone; images may
// also be data: and https: URLs, as the catalog's images may be. It depends
// on the standard library only.
package spa

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
)

// ContentSecurityPolicy is the policy every response is served with.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: https:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// contentTypes are the types of the files a build holds; any other file is
// served as application/octet-stream (nosniff keeps it inert).
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".txt":         "text/plain; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".webmanifest": "application/manifest+json",
}

// hashedDir holds the build's content-hashed files (Vite's assets/): their
// names change with their content, so they are cached for good.
const hashedDir = "assets/"

// Handler serves the app built into dir under prefix (which starts and
// ends with "/", e.g. "/shop/"). It fails if dir has no index.html.
func Handler(dir, prefix string) (http.Handler, error) {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("spa: prefix %q must start and end with /", prefix)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("spa: %w", err)
	}
	defer func() { _ = root.Close() }()
	if fi, err := root.Stat("index.html"); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("spa: %s has no index.html (build the app first: make storefront)", dir)
	}
	return &handler{dir: dir, prefix: prefix}, nil
}

type handler struct {
	dir    string
	prefix string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	if rel == "" || rel == "." {
		rel = "index.html"
	}
	// Dot files (.vite/, .DS_Store) are no part of the app.
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, ".") {
			http.NotFound(w, r)
			return
		}
	}
	// A root per request, so that a rebuild that replaces the directory
	// is picked up; os.Root keeps every path (symlinks too) inside it.
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		http.Error(w, "storefront unavailable", http.StatusServiceUnavailable)
		return
	}
	defer func() { _ = root.Close() }()

	if h.serveFile(w, r, root, rel) {
		return
	}
	if path.Ext(rel) != "" || strings.HasPrefix(rel, hashedDir) {
		http.NotFound(w, r)
		return
	}
	// One of the app's routes: the app itself decides what it shows.
	if !h.serveFile(w, r, root, "index.html") {
		http.Error(w, "storefront unavailable", http.StatusServiceUnavailable)
	}
}

// serveFile serves rel if it is a regular file, reporting whether it was.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, root *os.Root, rel string) bool {
	f, err := root.Open(rel)
	if err != nil {
		// Missing, outside the root, unreadable: all count as no file.
		return false
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	ct, ok := contentTypes[strings.ToLower(path.Ext(rel))]
	if !ok {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	if strings.HasPrefix(rel, hashedDir) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// index.html names the current assets: always revalidate it.
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, rel, fi.ModTime(), f)
	return true
}
