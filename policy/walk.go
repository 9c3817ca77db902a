package policy

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/refundflow/refundflow"
)

// walker reads a generic JSON tree into typed values and records every
// problem with the JSON path of the field at fault (encoding/json's
// unknown-field errors carry no path, and the CLI and API must name it).
type walker struct {
	probs refundflow.Problems
}

// decodeTree parses exactly one JSON value, keeping numbers as text so that
// amounts are never rounded through float64.
func decodeTree(data []byte, what string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, refundflow.FieldError("", "invalid_json", "invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, refundflow.FieldError("", "invalid_json", "invalid JSON: data after the %s", what)
	}
	return v, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object returns v as an object and records any key outside fields as unknown.
func (w *walker) object(v any, path string, fields ...string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		w.probs.Add(path, "invalid_type", "must be an object")
		return nil, false
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(fields, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		w.probs.Add(join(path, k), "unknown_field", "unknown field")
	}
	return m, true
}

// value returns the member key of m; a missing or null member is absent, and
// a problem when required.
func (w *walker) value(m map[string]any, path, key string, required bool) (any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			w.probs.Add(join(path, key), "required", "required")
		}
		return nil, false
	}
	return v, true
}

func (w *walker) str(m map[string]any, path, key string, required bool) string {
	v, ok := w.value(m, path, key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		w.probs.Add(join(path, key), "invalid_type", "must be a string")
	}
	return s
}

func (w *walker) boolean(m map[string]any, path, key string, required bool) bool {
	v, ok := w.value(m, path, key, required)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		w.probs.Add(join(path, key), "invalid_type", "must be true or false")
	}
	return b
}

func (w *walker) int64(m map[string]any, path, key string, required bool) int64 {
	v, ok := w.value(m, path, key, required)
	if !ok {
		return 0
	}
	n, isNum := v.(json.Number)
	if !isNum {
		w.probs.Add(join(path, key), "invalid_type", "must be a whole number")
		return 0
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		w.probs.Add(join(path, key), "invalid_type", "must be a whole number, got %s", n)
	}
	return i
}

// count reads a whole number that must fit an int32; Validate checks the
// range that makes sense for the field.
func (w *walker) count(m map[string]any, path, key string, required bool) int {
	i := w.int64(m, path, key, required)
	if i > math.MaxInt32 || i < math.MinInt32 {
		w.probs.Add(join(path, key), "out_of_range", "%d is out of range", i)
		return 0
	}
	return int(i)
}

func (w *walker) number(m map[string]any, path, key string, required bool) float64 {
	v, ok := w.value(m, path, key, required)
	if !ok {
		return 0
	}
	n, isNum := v.(json.Number)
	if !isNum {
		w.probs.Add(join(path, key), "invalid_type", "must be a number")
		return 0
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		w.probs.Add(join(path, key), "out_of_range", "%s is out of range", n)
	}
	return f
}

func (w *walker) time(m map[string]any, path, key string, required bool) (time.Time, bool) {
	v, ok := w.value(m, path, key, required)
	if !ok {
		return time.Time{}, false
	}
	s, ok := v.(string)
	if !ok {
		w.probs.Add(join(path, key), "invalid_type", "must be an RFC 3339 time string")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		w.probs.Add(join(path, key), "invalid_time", "%q is not an RFC 3339 time such as 2026-02-14T10:00:00+08:00", s)
		return time.Time{}, false
	}
	return t, true
}

// optionalTime is time for fields where absence is meaningful (nil).
func (w *walker) optionalTime(m map[string]any, path, key string) *time.Time {
	t, ok := w.time(m, path, key, false)
	if !ok {
		return nil
	}
	return &t
}
