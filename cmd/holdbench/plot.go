package main

import (
	"fmt"
	"html"
	"math"
	"runtime"
	"sort"
	"strings"
)

type series struct {
	label  string
	color  string
	dashed bool            // minimal shape
	hollow bool            // raw baseline
	pts    map[int]float64 // clients -> ops/s
}

// svg draws operations/s against clients (categorical x axis, evenly
// spaced, which is a log scale for the usual 1,16,64,256) for hot and
// bigcart: API and raw, each in both shapes.
func (e *env) svg() string {
	var ss []*series
	for _, sc := range []struct{ name, api, raw string }{{"hot", "#1f77b4", "#7fb8e0"}, {"bigcart", "#d95f02", "#f4a76b"}} {
		for _, shape := range e.o.shapes {
			api := &series{label: sc.name + " API " + shape, color: sc.api, dashed: shape == shapeMinimal, pts: map[int]float64{}}
			raw := &series{label: sc.name + " raw " + shape, color: sc.raw, dashed: shape == shapeMinimal, hollow: true, pts: map[int]float64{}}
			for _, r := range e.rows {
				if r.scenario != sc.name || r.shape != shape {
					continue
				}
				api.pts[r.clients] = r.api.rate()
				if r.raw != nil {
					raw.pts[r.clients] = r.raw.rate()
				}
			}
			for _, s := range []*series{api, raw} {
				if len(s.pts) > 0 {
					ss = append(ss, s)
				}
			}
		}
	}
	xs := map[int]bool{}
	ymax := 0.0
	for _, s := range ss {
		for x, y := range s.pts {
			xs[x] = true
			ymax = math.Max(ymax, y)
		}
	}
	xv := make([]int, 0, len(xs))
	for x := range xs {
		xv = append(xv, x)
	}
	sort.Ints(xv)

	const (
		W, H                   = 880, 480
		left, right, top, bott = 90, 250, 60, 70
		pw, ph                 = W - left - right, H - top - bott
	)
	step := niceStep(ymax / 5)
	top_ := step * math.Ceil(ymax/step)
	if top_ <= 0 {
		top_, step = 1, 0.2
	}
	xpos := func(i int) float64 {
		if len(xv) <= 1 {
			return left + pw/2
		}
		return left + 20 + float64(i)*float64(pw-40)/float64(len(xv)-1)
	}
	ypos := func(y float64) float64 { return top + ph - y/top_*ph }

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	w(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	w(`<text x="%d" y="24" font-size="16" font-weight="bold">Holdfast addToCart: reservations/s vs concurrent clients, by answer shape</text>`+"\n", left)
	w(`<text x="%d" y="41" font-size="11" fill="#555">%s</text>`+"\n", left, html.EscapeString(fmt.Sprintf(
		"%s · %d CPUs · pool %d · %s per point · filled = GraphQL API, hollow = raw SQL · solid = storefront answer, dashed = minimal",
		e.started.UTC().Format("2006-01-02"), runtime.NumCPU(), e.o.pool, e.o.duration)))
	// grid and y axis
	for y := 0.0; y <= top_+step/2; y += step {
		py := ypos(y)
		w(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, py, left+pw, py)
		w(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, py+4, fmtNum(y))
	}
	w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, top+ph)
	w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top+ph, left+pw, top+ph)
	for i, x := range xv {
		px := xpos(i)
		w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", px, top+ph, px, top+ph+5)
		w(`<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", px, top+ph+20, x)
	}
	w(`<text x="%d" y="%d" text-anchor="middle">concurrent clients (one cart each)</text>`+"\n", left+pw/2, H-20)
	w(`<text x="22" y="%d" text-anchor="middle" transform="rotate(-90 22 %d)">successful reservations / s</text>`+"\n", top+ph/2, top+ph/2)
	// series
	for _, s := range ss {
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="7 5"`
		}
		var pts []string
		for i, x := range xv {
			if y, ok := s.pts[x]; ok {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xpos(i), ypos(y)))
			}
		}
		w(`<polyline fill="none" stroke="%s" stroke-width="2.5"%s points="%s"/>`+"\n", s.color, dash, strings.Join(pts, " "))
		for _, p := range pts {
			x, y, _ := strings.Cut(p, ",")
			fill := s.color
			if s.hollow {
				fill = "white"
			}
			w(`<circle cx="%s" cy="%s" r="4" fill="%s" stroke="%s" stroke-width="2"/>`+"\n", x, y, fill, s.color)
		}
	}
	// legend
	lx, ly := left+pw+25, top+10
	for i, s := range ss {
		y := ly + i*24
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="7 5"`
		}
		w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"%s/>`+"\n", lx, y, lx+34, y, s.color, dash)
		fill := s.color
		if s.hollow {
			fill = "white"
		}
		w(`<circle cx="%d" cy="%d" r="4" fill="%s" stroke="%s" stroke-width="2"/>`+"\n", lx+17, y, fill, s.color)
		w(`<text x="%d" y="%d">%s</text>`+"\n", lx+42, y+4, html.EscapeString(s.label))
	}
	if len(ss) == 0 {
		w(`<text x="%d" y="%d" text-anchor="middle">no hot or bigcart results in this run</text>`+"\n", left+pw/2, top+ph/2)
	}
	w("</svg>\n")
	return b.String()
}

// niceStep rounds up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	switch {
	case v >= 1000 && math.Mod(v, 1000) == 0:
		return fmt.Sprintf("%.0fk", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
