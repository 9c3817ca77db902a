package cases

import (
	"context"
	"strconv"
	"time"

	"github.com/refundflow/refundflow/postgres"
	"github.com/refundflow/refundflow/sla"
)

// SLAReportRow is one tier's or one agent's SLA figures.
type SLAReportRow struct {
	Key                        string   `json:"key"`
	Name                       string   `json:"name"`
	Tickets                    int      `json:"tickets"`
	Breached                   int      `json:"breached"`
	BreachRate                 *float64 `json:"breach_rate"`
	Responded                  int      `json:"responded"`
	FirstResponseP50Seconds    *float64 `json:"first_response_p50_seconds"`
	FirstResponseP90Seconds    *float64 `json:"first_response_p90_seconds"`
	Resolved                   int      `json:"resolved"`
	ResolutionP50Seconds       *float64 `json:"resolution_p50_seconds"`
	ResolutionP90Seconds       *float64 `json:"resolution_p90_seconds"`
	FirstContactResolutions    int      `json:"first_contact_resolutions"`
	FirstContactResolutionRate *float64 `json:"first_contact_resolution_rate"`
	CSATCount                  int      `json:"csat_count"`
	CSATAverage                *float64 `json:"csat_average"`
}

// SLAReport is the SLA figures of the tickets opened in a window.
type SLAReport struct {
	Window  ReportWindow
	ByTier  []SLAReportRow
	ByAgent []SLAReportRow
}

// SLAReport measures the tickets opened in the window: first response and
// resolution times (p50, p90, business time on each ticket's calendar),
// breach rate, first-contact resolution and CSAT, by tier and by the agent
// who answered first.
func (s *Service) SLAReport(ctx context.Context, w ReportWindow) (*SLAReport, error) {
	rows, err := s.DB.SLAReport(ctx, w.Start, w.End)
	if err != nil {
		return nil, err
	}
	byTier := map[string]SLAReportRow{}
	var byAgent []SLAReportRow
	for _, r := range rows {
		j := slaReportRow(r)
		if r.Group == "tier" {
			byTier[r.Key] = j
		} else {
			byAgent = append(byAgent, j)
		}
	}
	tiers := make([]SLAReportRow, 0, len(sla.Tiers))
	for _, t := range sla.Tiers {
		row, ok := byTier[string(t)]
		if !ok {
			row = SLAReportRow{Key: string(t)}
		}
		tiers = append(tiers, row)
	}
	if byAgent == nil {
		byAgent = []SLAReportRow{}
	}
	return &SLAReport{Window: w, ByTier: tiers, ByAgent: byAgent}, nil
}

// CSV is one row per tier, then one per agent.
func (r *SLAReport) CSV() CSV {
	table := [][]string{{"group", "key", "name", "tickets", "breached", "breach_rate", "responded",
		"first_response_p50_seconds", "first_response_p90_seconds", "resolved", "resolution_p50_seconds",
		"resolution_p90_seconds", "first_contact_resolutions", "first_contact_resolution_rate", "csat_count", "csat_average"}}
	for _, group := range []struct {
		name string
		rows []SLAReportRow
	}{{"tier", r.ByTier}, {"agent", r.ByAgent}} {
		for _, g := range group.rows {
			table = append(table, []string{group.name, g.Key, g.Name, strconv.Itoa(g.Tickets), strconv.Itoa(g.Breached),
				num(g.BreachRate), strconv.Itoa(g.Responded), num(g.FirstResponseP50Seconds), num(g.FirstResponseP90Seconds),
				strconv.Itoa(g.Resolved), num(g.ResolutionP50Seconds), num(g.ResolutionP90Seconds),
				strconv.Itoa(g.FirstContactResolutions), num(g.FirstContactResolutionRate), strconv.Itoa(g.CSATCount), num(g.CSATAverage)})
		}
	}
	return CSV{Filename: "sla-" + r.Window.From + "-" + r.Window.To + ".csv", Rows: table}
}

func slaReportRow(r postgres.SLAReportRow) SLAReportRow {
	ratio := func(n, of int) *float64 {
		if of == 0 {
			return nil
		}
		v := float64(n) / float64(of)
		return &v
	}
	seconds := func(d time.Duration, count int) *float64 {
		if count == 0 {
			return nil
		}
		v := d.Seconds()
		return &v
	}
	j := SLAReportRow{
		Key: r.Key, Name: r.Name, Tickets: r.Tickets, Breached: r.Breached, BreachRate: ratio(r.Breached, r.Tickets),
		Responded: r.Responded, FirstResponseP50Seconds: seconds(r.FirstResponseP50, r.Responded),
		FirstResponseP90Seconds: seconds(r.FirstResponseP90, r.Responded), Resolved: r.Resolved,
		ResolutionP50Seconds: seconds(r.ResolutionP50, r.Resolved), ResolutionP90Seconds: seconds(r.ResolutionP90, r.Resolved),
		FirstContactResolutions: r.FirstContactResolutions, FirstContactResolutionRate: ratio(r.FirstContactResolutions, r.Resolved),
		CSATCount: r.CSATCount,
	}
	if r.CSATCount > 0 {
		avg := r.CSATAverage
		j.CSATAverage = &avg
	}
	return j
}

// num writes an optional figure for CSV: empty when there is none.
func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
