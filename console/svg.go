package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// The console's charts are SVG drawn here, on the server: no script, no
// chart library, and the strict CSP holds. Colours come from CSS classes
// (app.css), sizes from the viewBox, so a chart scales with its card.

// Series is one named row of values, one per label of the chart.
type Series struct {
	Name   string
	Class  string // CSS class that colours its bars
	Values []float64
}

// BarChart draws vertical bars, the series stacked on each label: a
// count or an amount per day.
type BarChart struct {
	Title  string // what a screen reader announces
	Labels []string
	Series []Series
	// Format writes a value for the axis and the tooltips.
	Format func(float64) string
}

const (
	barWidth, barHeight                          = 480.0, 200.0
	barLeft, barRight, barTop, barBottom, barKey = 44.0, 8.0, 10.0, 26.0, 22.0
)

// SVG renders the chart.
func (c BarChart) SVG() template.HTML {
	format := c.Format
	if format == nil {
		format = plain
	}
	top := 0.0
	for i := range c.Labels {
		top = max(top, c.stack(i))
	}
	ceiling, step := niceScale(top)
	plotW := barWidth - barLeft - barRight
	plotH := barHeight - barTop - barBottom
	var b strings.Builder
	svgOpen(&b, "chart bars", c.Title, barWidth, barHeight+barKey)
	for i := 0.0; i*step <= ceiling+step/2; i++ {
		v := i * step
		y := barTop + plotH - v/ceiling*plotH
		fmt.Fprintf(&b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, coord(barLeft), coord(y), coord(barWidth-barRight), coord(y))
		fmt.Fprintf(&b, `<text class="axis" x="%s" y="%s" text-anchor="end">%s</text>`, coord(barLeft-6), coord(y+4), esc(format(v)))
	}
	n := len(c.Labels)
	if n > 0 {
		slot := plotW / float64(n)
		w := math.Max(1, slot*0.7)
		every := int(math.Ceil(float64(n) / 10)) // at most ten labels fit under the bars
		for i, label := range c.Labels {
			x := barLeft + slot*float64(i) + (slot-w)/2
			base := barTop + plotH
			for _, s := range c.Series {
				v := at(s.Values, i)
				if v <= 0 {
					continue
				}
				h := v / ceiling * plotH
				base -= h
				fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>%s · %s: %s</title></rect>`,
					esc(s.Class), coord(x), coord(base), coord(w), coord(h), esc(label), esc(s.Name), esc(format(v)))
			}
			if i%every == 0 {
				fmt.Fprintf(&b, `<text class="axis" x="%s" y="%s" text-anchor="middle">%s</text>`, coord(x+w/2), coord(barTop+plotH+16), esc(label))
			}
		}
	}
	fmt.Fprintf(&b, `<line class="base" x1="%s" y1="%s" x2="%s" y2="%s"/>`, coord(barLeft), coord(barTop+plotH), coord(barWidth-barRight), coord(barTop+plotH))
	legend(&b, c.Series, barLeft, barHeight+barKey-8)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (c BarChart) stack(i int) float64 {
	sum := 0.0
	for _, s := range c.Series {
		sum += max(0, at(s.Values, i))
	}
	return sum
}

// HBar is one row of a horizontal bar chart.
type HBar struct {
	Label string
	Value float64
	Class string
	// Note is written after the bar instead of the formatted value.
	Note string
}

// HBarChart draws one horizontal bar per row, for categories whose names
// are long: reasons, courses. Marker draws a reference line (the median)
// when MarkerLabel is set.
type HBarChart struct {
	Title       string
	Rows        []HBar
	Marker      float64
	MarkerLabel string
	Format      func(float64) string
}

const (
	hbarWidth, hbarRow, hbarLabel, hbarValue = 420.0, 24.0, 164.0, 96.0
)

// SVG renders the chart.
func (c HBarChart) SVG() template.HTML {
	format := c.Format
	if format == nil {
		format = plain
	}
	top := 0.0
	for _, r := range c.Rows {
		top = max(top, r.Value)
	}
	if c.MarkerLabel != "" {
		top = max(top, c.Marker)
	}
	ceiling, _ := niceScale(top)
	plotW := hbarWidth - hbarLabel - hbarValue
	markerRow := 0.0
	if c.MarkerLabel != "" {
		markerRow = hbarRow
	}
	height := hbarRow*float64(len(c.Rows)) + markerRow + 8
	var b strings.Builder
	svgOpen(&b, "chart hbars", c.Title, hbarWidth, height)
	// The median line goes under the bars and their values.
	if c.MarkerLabel != "" {
		x := hbarLabel + c.Marker/ceiling*plotW
		bottom := 4 + hbarRow*float64(len(c.Rows))
		fmt.Fprintf(&b, `<line class="marker" x1="%s" y1="2" x2="%s" y2="%s"/>`, coord(x), coord(x), coord(bottom))
		fmt.Fprintf(&b, `<text class="marker" x="%s" y="%s" text-anchor="middle">%s</text>`, coord(x), coord(bottom+16), esc(c.MarkerLabel))
	}
	for i, r := range c.Rows {
		y := 4 + hbarRow*float64(i)
		w := max(0, r.Value) / ceiling * plotW
		note := r.Note
		if note == "" {
			note = format(r.Value)
		}
		fmt.Fprintf(&b, `<text class="label" x="%s" y="%s" text-anchor="end">%s</text>`, coord(hbarLabel-8), coord(y+hbarRow/2+4), esc(clip(r.Label, hbarLabel-12)))
		fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>%s: %s</title></rect>`,
			esc(r.Class), coord(hbarLabel), coord(y+4), coord(w), coord(hbarRow-8), esc(r.Label), esc(note))
		fmt.Fprintf(&b, `<text class="value" x="%s" y="%s">%s</text>`, coord(hbarLabel+w+6), coord(y+hbarRow/2+4), esc(note))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Segment is one part of a progress bar.
type Segment struct {
	Name  string
	Class string
	Value float64
}

// ProgressBar draws parts of a whole side by side: a remediation's cases
// refunded, retained, failed, otherwise done, out of its total.
type ProgressBar struct {
	Title string
	Total float64
	Parts []Segment
}

// SVG renders the bar; its title and each part's tooltip say the counts.
func (p ProgressBar) SVG() template.HTML {
	const w, h = 400.0, 14.0
	var b strings.Builder
	// The bar stretches to its box: CSS gives it the page's width and a
	// fixed height.
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="bar" viewBox="0 0 %s %s" preserveAspectRatio="none" role="img" aria-label="%s"><title>%s</title>`,
		coord(w), coord(h), esc(p.Title), esc(p.Title))
	fmt.Fprintf(&b, `<rect class="track" x="0" y="0" width="%s" height="%s" rx="3"/>`, coord(w), coord(h))
	sum := 0.0
	for _, s := range p.Parts {
		sum += max(0, s.Value)
	}
	total := max(p.Total, sum)
	x := 0.0
	if total > 0 {
		for _, s := range p.Parts {
			if s.Value <= 0 {
				continue
			}
			sw := s.Value / total * w
			fmt.Fprintf(&b, `<rect class="%s" x="%s" y="0" width="%s" height="%s"><title>%s: %s</title></rect>`,
				esc(s.Class), coord(x), coord(sw), coord(h), esc(s.Name), plain(s.Value))
			x += sw
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func svgOpen(b *strings.Builder, class, title string, w, h float64) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="%s" viewBox="0 0 %s %s" role="img" aria-label="%s"><title>%s</title>`,
		class, coord(w), coord(h), esc(title), esc(title))
}

func legend(b *strings.Builder, series []Series, x, y float64) {
	if len(series) < 2 {
		return
	}
	for _, s := range series {
		fmt.Fprintf(b, `<rect class="%s" x="%s" y="%s" width="10" height="10"/>`, esc(s.Class), coord(x), coord(y-9))
		fmt.Fprintf(b, `<text class="axis" x="%s" y="%s">%s</text>`, coord(x+14), coord(y), esc(s.Name))
		x += 14 + textWidth(s.Name) + 18
	}
}

// niceScale returns an axis top at or above v and the step between its
// gridlines, both 1, 2 or 5 times a power of ten.
func niceScale(v float64) (ceiling, step float64) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1, 0.25
	}
	raw := v / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Ceil(v/step-1e-9) * step, step
}

func at(vs []float64, i int) float64 {
	if i < len(vs) {
		return vs[i]
	}
	return 0
}

// textWidth estimates how wide the axis font draws s: a Chinese character
// is about twice a Latin one.
func textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w
}

func runeWidth(r rune) float64 {
	if r >= 0x2e80 {
		return 12
	}
	return 7
}

// clip shortens s to fit width, marking the cut with an ellipsis.
func clip(s string, width float64) string {
	if textWidth(s) <= width {
		return s
	}
	w := runeWidth('…')
	for i, r := range s {
		if w+runeWidth(r) > width {
			return s[:i] + "…"
		}
		w += runeWidth(r)
	}
	return s
}

// plain writes a number without float noise (0.3, not 0.30000000000000004).
func plain(v float64) string { return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64) }

func coord(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func esc(s string) string { return html.EscapeString(s) }
