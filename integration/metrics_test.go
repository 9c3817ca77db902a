package integration

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/pgcluster"
	"github.com/refundflow/refundflow/internal/stripefake"
)

// The alert rules and the dashboard in deploy/prometheus use only metrics
// that the API and the worker — each a process of its own, as deployed —
// export once they have handled a refund (Stripe answering 429 first).
func TestAlertsAndDashboardUseOnlyMetricsTheProductExports(t *testing.T) {
	s := newMoneyStack(t, false)
	cfg := moneyConfig(t, s.world)
	port, err := pgcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg.MetricsAddr = "127.0.0.1:" + strconv.Itoa(port)
	startWorkerProcess(t, refundflowBinary(t), cfg)

	if err := s.world.Stripe.InjectFault(stripefake.Fault{Kind: stripefake.FaultRateLimit}); err != nil {
		t.Fatal(err)
	}
	s.seed("metrics-1", course("metrics-course"), 9900, 2*time.Hour)
	var c refundCase
	if code := s.do(platform, "POST", "/v1/refunds", map[string]any{"order_id": "metrics-1", "reason": "changed_mind"}, &c); code != http.StatusCreated {
		t.Fatalf("create refund: %d", code)
	}
	s.waitFor(c.ID, refundflow.StatusRefunded)

	api := scrape(t, s.api+"/metrics")
	worker := scrape(t, "http://"+cfg.MetricsAddr+"/metrics")
	if got := worker.value(`refundflow_stripe_responses_total{code="429"}`); got < 1 {
		t.Errorf("the worker counted %v Stripe 429s, want the one the fake answered", got)
	}
	if got := api.value(`refundflow_refunds{status="refunded"}`); got != 1 {
		t.Errorf("the API reports %v refunded cases, want 1", got)
	}
	exported := append(api.names(), worker.names()...)
	used := usedMetrics(t)
	for _, want := range []string{"refundflow_refunds", "refundflow_stripe_responses_total", "temporal_activity_schedule_to_start_latency_seconds_bucket"} {
		if !slices.Contains(used, want) {
			t.Fatalf("found %v in the rules and the dashboard, not %s", used, want)
		}
	}
	for _, name := range used {
		if !slices.Contains(exported, name) {
			t.Errorf("deploy/prometheus uses %s, which neither the API nor the worker exports", name)
		}
	}
	for _, name := range []string{"refundflow_outbox_messages", "refundflow_outbox_oldest_pending_seconds"} {
		if !slices.Contains(used, name) {
			t.Errorf("no alert watches the outbox's %s", name)
		}
	}
}

// usedMetrics are the metric names the alert rules and the dashboard's
// panels query.
func usedMetrics(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join("..", "deploy", "prometheus")
	var names []string
	for _, file := range []string{filepath.Join(dir, "rules", "refundflow.yml"), filepath.Join(dir, "grafana", "dashboards", "refundflow.json")} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc any // YAML reads the JSON dashboard too
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, e := range exprs(doc) {
			for _, n := range promqlNames(e) {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// exprs are the values of every "expr" key in a document: the rules'
// expressions and the panels' queries.
func exprs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if e, ok := x.(string); ok && k == "expr" {
				out = append(out, e)
			} else {
				out = append(out, exprs(x)...)
			}
		}
	case []any:
		for _, x := range v {
			out = append(out, exprs(x)...)
		}
	}
	return out
}

var (
	promqlStrings = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	// Label matchers and ranges, and the label lists of by, without, on,
	// ignoring, group_left and group_right name labels, not metrics.
	promqlLabels = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlWords  = []string{"and", "or", "unless", "bool", "offset", "inf", "nan"}
)

// promqlNames are the metric names an expression selects: the identifiers
// left once strings, label matchers, ranges and label lists are gone,
// except functions and aggregations (followed by a parenthesis), operator
// words, and the unit of a number (5m).
func promqlNames(expr string) []string {
	e := promqlLabels.ReplaceAllString(promqlStrings.ReplaceAllString(expr, `""`), " ")
	var out []string
	for _, loc := range promqlIdent.FindAllStringIndex(e, -1) {
		name := e[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsRune("0123456789.", rune(e[loc[0]-1])) ||
			strings.HasPrefix(strings.TrimLeft(e[loc[1]:], " \t\n"), "(") || slices.Contains(promqlWords, strings.ToLower(name)) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// exposition is a /metrics page: every sample line by its series.
type exposition map[string]float64

func scrape(t *testing.T, url string) exposition {
	t.Helper()
	var resp *http.Response
	eventually(t, 30*time.Second, "GET "+url, func() bool {
		r, err := http.Get(url)
		if err != nil {
			return false
		}
		resp = r
		return true
	})
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d\n%s", url, resp.StatusCode, body)
	}
	out := exposition{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("%s: %q", url, line)
		}
		out[line[:i]] = v
	}
	return out
}

func (e exposition) value(series string) float64 { return e[series] }

// names are the metric names of the page, as queries name them
// (histograms by their _bucket, _sum and _count series).
func (e exposition) names() []string {
	var out []string
	for series := range e {
		name, _, _ := strings.Cut(series, "{")
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func TestPromQLNamesFindsTheMetricsOfAnExpression(t *testing.T) {
	for expr, want := range map[string][]string{
		`max without (instance, job) (delta(refundflow_refunds{status="failed"}[30m])) > 0`:                                                        {"refundflow_refunds"},
		`delta((sum(max without (instance, job) (a_b{attempt!="1"})) or vector(0))[30m:1m]) > 0`:                                                   {"a_b"},
		"histogram_quantile(0.95, sum by (task_queue, le) (rate(x_bucket[5m]))) > 5\nor\nrate(y_total[5m] offset 5m) / on (job) group_left (le) z": {"x_bucket", "y_total", "z"},
	} {
		if got := promqlNames(expr); !slices.Equal(got, want) {
			t.Errorf("promqlNames(%q) = %v, want %v", expr, got, want)
		}
	}
}
