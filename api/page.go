package api

import (
	"encoding/base64"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
)

// page is a list's place from the query (SPEC 5): how many items, and
// after which one (the cursor names the last item of the previous page,
// newest first).
type page struct {
	Limit   int
	AfterAt *time.Time
	AfterID string
}

// parsePage reads limit (1–200, default 50) and cursor, adding what is
// wrong to pr.
func parsePage(c *gin.Context, pr *refundflow.Problems) page {
	p := page{Limit: 50}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			pr.Add("limit", "invalid_limit", "must be a whole number from 1 to 200")
		}
		p.Limit = n
	}
	if v := c.Query("cursor"); v != "" {
		at, id, ok := parseCursor(v)
		if !ok {
			pr.Add("cursor", "invalid_cursor", "use the next_cursor of a previous page")
		}
		p.AfterAt, p.AfterID = &at, id
	}
	return p
}

// checkOptionalIDs refuses the ids given (a list's filters, a ticket's
// links) that no record can have.
func checkOptionalIDs(pr *refundflow.Problems, ids map[string]string) {
	for _, field := range slices.Sorted(maps.Keys(ids)) {
		if id := ids[field]; id != "" && !refundflow.ValidID(id) {
			pr.Add(field, "invalid_id", "must be 1 to 128 characters of A-Z a-z 0-9 - _ . :")
		}
	}
}

// nextCursor is the next_cursor of a page of rows: the last row's, when
// the page is full (there may be more), else null.
func nextCursor[T any](p page, rows []T, key func(T) (time.Time, string)) any {
	if len(rows) == 0 || len(rows) < p.Limit {
		return nil
	}
	return makeCursor(key(rows[len(rows)-1]))
}

func makeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func parseCursor(s string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", false
	}
	ts, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return time.Time{}, "", false
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	return at, id, err == nil
}
