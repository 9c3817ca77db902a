package console

import (
	"encoding/xml"
	"html/template"
	"math"
	"strconv"
	"strings"
	"testing"
)

// shape is one element of a drawn chart.
type shape struct {
	Name  string
	Attrs map[string]string
	Text  string
}

// parseSVG checks that the chart is well-formed XML and returns its
// elements in order.
func parseSVG(t *testing.T, h template.HTML) []shape {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(h)))
	var out []shape
	var stack []int
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("not well-formed: %v\n%s", err, h)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			s := shape{Name: tk.Name.Local, Attrs: map[string]string{}}
			for _, a := range tk.Attr {
				s.Attrs[a.Name.Local] = a.Value
			}
			out = append(out, s)
			stack = append(stack, len(out)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			// An element's text is all the text inside it (a bar's
			// tooltip is its <title>).
			for _, i := range stack {
				out[i].Text += string(tk)
			}
		}
	}
	if len(out) == 0 || out[0].Name != "svg" {
		t.Fatalf("no svg root: %s", h)
	}
	return out
}

func withClass(shapes []shape, name, class string) []shape {
	var out []shape
	for _, s := range shapes {
		if s.Name == name && s.Attrs["class"] == class {
			out = append(out, s)
		}
	}
	return out
}

func num(t *testing.T, s shape, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s.Attrs[attr], 64)
	if err != nil {
		t.Fatalf("%s %s=%q", s.Name, attr, s.Attrs[attr])
	}
	return v
}

// near compares a drawn coordinate (rounded to a tenth) with the exact one.
func near(drawn, exact float64) bool { return math.Abs(drawn-exact) <= 0.05 }

func TestNiceScaleEndsOnARoundNumber(t *testing.T) {
	for _, tc := range []struct {
		top, ceiling, step float64
	}{
		{0, 1, 0.25},
		{4, 4, 1},
		{7, 8, 2},
		{95, 100, 50},
		{1234, 1500, 500},
		{0.3, 0.3, 0.1},
	} {
		c, s := niceScale(tc.top)
		if math.Abs(c-tc.ceiling) > 1e-9 || math.Abs(s-tc.step) > 1e-9 {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tc.top, c, s, tc.ceiling, tc.step)
		}
	}
}

func TestBarsAreStackedAndScaledToTheAxis(t *testing.T) {
	chart := BarChart{
		Title:  "Refunds per day",
		Labels: []string{"11-20", "11-21"},
		Series: []Series{
			{Name: "full", Class: "c-full", Values: []float64{2, 4}},
			{Name: "partial", Class: "c-partial", Values: []float64{1, 0}},
		},
	}
	shapes := parseSVG(t, chart.SVG())
	if shapes[0].Attrs["aria-label"] != "Refunds per day" || shapes[0].Attrs["role"] != "img" {
		t.Fatalf("svg root %+v", shapes[0].Attrs)
	}
	full, partial := withClass(shapes, "rect", "c-full"), withClass(shapes, "rect", "c-partial")
	// Two full bars and one partial bar, plus one swatch each in the legend.
	if len(full) != 3 || len(partial) != 2 {
		t.Fatalf("%d full, %d partial rects", len(full), len(partial))
	}
	plot := barHeight - barTop - barBottom
	// The axis tops out at 4: the 4-refund day fills the plot.
	if h := num(t, full[1], "height"); h != plot {
		t.Fatalf("the tallest bar is %v high, the plot %v", h, plot)
	}
	if h := num(t, full[0], "height"); h != plot/2 {
		t.Fatalf("2 of 4 is %v high", h)
	}
	// The partial refund sits on top of the day's full ones.
	if y, top := num(t, partial[0], "y")+num(t, partial[0], "height"), num(t, full[0], "y"); y != top {
		t.Fatalf("partial ends at %v, full starts at %v", y, top)
	}
	if !strings.Contains(full[0].Text, "11-20 · full: 2") {
		t.Fatalf("tooltip %q", full[0].Text)
	}
}

func TestChartLabelsAreEscaped(t *testing.T) {
	evil := `<script>alert("x")</script> & co`
	for name, h := range map[string]template.HTML{
		"bars":     BarChart{Title: evil, Labels: []string{evil}, Series: []Series{{Name: evil, Class: `x" onload="y`, Values: []float64{1}}}}.SVG(),
		"hbars":    HBarChart{Title: evil, Rows: []HBar{{Label: evil, Value: 1, Note: evil}}, Marker: 1, MarkerLabel: evil}.SVG(),
		"progress": ProgressBar{Title: evil, Total: 2, Parts: []Segment{{Name: evil, Class: "c-ok", Value: 1}}}.SVG(),
	} {
		if strings.Contains(string(h), "<script") || strings.Contains(string(h), `" onload`) {
			t.Fatalf("%s: unescaped label in %s", name, h)
		}
		shapes := parseSVG(t, h)
		if shapes[0].Attrs["aria-label"] != evil {
			t.Fatalf("%s: title reads %q", name, shapes[0].Attrs["aria-label"])
		}
	}
}

func TestHorizontalBarsShowTheMedianLine(t *testing.T) {
	chart := HBarChart{
		Title:       "Refund rate per course",
		Rows:        []HBar{{Label: "Course A", Value: 0.5, Class: "c-flag", Note: "50%"}, {Label: "课程 B", Value: 0.1, Class: "c-rate"}},
		Marker:      0.2,
		MarkerLabel: "median 20%",
	}
	shapes := parseSVG(t, chart.SVG())
	a, b := withClass(shapes, "rect", "c-flag"), withClass(shapes, "rect", "c-rate")
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("bars %v %v", a, b)
	}
	plot := hbarWidth - hbarLabel - hbarValue
	// 0.5 rounds the axis up to 0.6.
	if w := num(t, a[0], "width"); !near(w, plot*5/6) {
		t.Fatalf("0.5 of 0.6 is %v wide", w)
	}
	line := withClass(shapes, "line", "marker")
	if len(line) != 1 || !near(num(t, line[0], "x1"), hbarLabel+plot/3) {
		t.Fatalf("median line %+v", line)
	}
	values := withClass(shapes, "text", "value")
	if values[0].Text != "50%" || values[1].Text != "0.1" {
		t.Fatalf("values %q %q", values[0].Text, values[1].Text)
	}
}

func TestLongLabelsAreClippedToTheirColumn(t *testing.T) {
	long := strings.Repeat("很长的课程名称", 6)
	shapes := parseSVG(t, HBarChart{Title: "t", Rows: []HBar{{Label: long, Value: 1}}}.SVG())
	label := withClass(shapes, "text", "label")[0].Text
	if !strings.HasSuffix(label, "…") || textWidth(label) > hbarLabel-12 {
		t.Fatalf("label %q is %v wide", label, textWidth(label))
	}
	if title := withClass(shapes, "rect", "")[0]; title.Text != long+": 1" {
		t.Fatalf("the tooltip keeps the whole name: %q", title.Text)
	}
}

func TestProgressBarSplitsTheTotal(t *testing.T) {
	shapes := parseSVG(t, ProgressBar{Title: "6 of 10", Total: 10, Parts: []Segment{
		{Name: "refunded", Class: "c-refunded", Value: 5},
		{Name: "failed", Class: "c-failed", Value: 1},
		{Name: "retained", Class: "c-retained", Value: 0},
	}}.SVG())
	refunded, failed := withClass(shapes, "rect", "c-refunded"), withClass(shapes, "rect", "c-failed")
	if len(refunded) != 1 || num(t, refunded[0], "width") != 200 || len(failed) != 1 || num(t, failed[0], "x") != 200 || num(t, failed[0], "width") != 40 {
		t.Fatalf("segments %+v %+v", refunded, failed)
	}
	if len(withClass(shapes, "rect", "c-retained")) != 0 {
		t.Fatal("an empty part is drawn")
	}
}

func TestAnEmptyChartIsStillAnImage(t *testing.T) {
	shapes := parseSVG(t, BarChart{Title: "nothing yet"}.SVG())
	if len(withClass(shapes, "line", "base")) != 1 {
		t.Fatalf("no axis: %+v", shapes)
	}
}
