// Package jsonwalk reads a generic JSON tree into typed values and records
// every problem with the JSON path of the field at fault, so that strict
// decoders (calendars, policies, refund facts) can report all mistakes in
// one input at once, each naming its field. encoding/json alone cannot do
// this: its unknown-field errors carry no path, and the CLI and API must
// name it.
package jsonwalk

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

// Decode parses exactly one JSON value, keeping numbers as json.Number text
// so that integers and amounts are never rounded through float64. What names
// the value in the error about trailing data ("policy", "facts", ...).
func Decode(data []byte, what string) (any, error) {
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

// Join appends key to a JSON path; the root path is "".
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Walker reads values out of a tree from Decode. Each reader records what is
// wrong in Problems and returns the zero value (or what it could read), so a
// decoder reads every field and reports every problem together. The zero
// Walker is ready to use.
type Walker struct {
	Problems refundflow.Problems
}

// Object returns v as an object and records any key outside fields as unknown.
func (w *Walker) Object(v any, path string, fields ...string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		w.Problems.Add(path, "invalid_type", "must be an object")
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
		w.Problems.Add(Join(path, k), "unknown_field", "unknown field")
	}
	return m, true
}

// Value returns the member key of m; a missing or null member is absent, and
// a problem when required.
func (w *Walker) Value(m map[string]any, path, key string, required bool) (any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			w.Problems.Add(Join(path, key), "required", "required")
		}
		return nil, false
	}
	return v, true
}

// Str reads the string member key of m.
func (w *Walker) Str(m map[string]any, path, key string, required bool) string {
	v, ok := w.Value(m, path, key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		w.Problems.Add(Join(path, key), "invalid_type", "must be a string")
	}
	return s
}

// Array returns v as an array; path names v itself.
func (w *Walker) Array(v any, path string) []any {
	a, ok := v.([]any)
	if !ok {
		w.Problems.Add(path, "invalid_type", "must be an array")
	}
	return a
}

// Bool reads the true/false member key of m.
func (w *Walker) Bool(m map[string]any, path, key string, required bool) bool {
	v, ok := w.Value(m, path, key, required)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		w.Problems.Add(Join(path, key), "invalid_type", "must be true or false")
	}
	return b
}

// Int64 reads the whole-number member key of m exactly, from its JSON text.
func (w *Walker) Int64(m map[string]any, path, key string, required bool) int64 {
	v, ok := w.Value(m, path, key, required)
	if !ok {
		return 0
	}
	n, isNum := v.(json.Number)
	if !isNum {
		w.Problems.Add(Join(path, key), "invalid_type", "must be a whole number")
		return 0
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		w.Problems.Add(Join(path, key), "invalid_type", "must be a whole number, got %s", n)
	}
	return i
}

// Count reads a whole number that must fit an int32; the caller's Validate
// checks the range that makes sense for the field.
func (w *Walker) Count(m map[string]any, path, key string, required bool) int {
	i := w.Int64(m, path, key, required)
	if i > math.MaxInt32 || i < math.MinInt32 {
		w.Problems.Add(Join(path, key), "out_of_range", "%d is out of range", i)
		return 0
	}
	return int(i)
}

// Number reads the member key of m as a float64, for ratios and measures
// (never money).
func (w *Walker) Number(m map[string]any, path, key string, required bool) float64 {
	v, ok := w.Value(m, path, key, required)
	if !ok {
		return 0
	}
	n, isNum := v.(json.Number)
	if !isNum {
		w.Problems.Add(Join(path, key), "invalid_type", "must be a number")
		return 0
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		w.Problems.Add(Join(path, key), "out_of_range", "%s is out of range", n)
	}
	return f
}

// Time reads the RFC 3339 member key of m, reporting false when it is absent
// or wrong.
func (w *Walker) Time(m map[string]any, path, key string, required bool) (time.Time, bool) {
	v, ok := w.Value(m, path, key, required)
	if !ok {
		return time.Time{}, false
	}
	s, ok := v.(string)
	if !ok {
		w.Problems.Add(Join(path, key), "invalid_type", "must be an RFC 3339 time string")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		w.Problems.Add(Join(path, key), "invalid_time", "%q is not an RFC 3339 time such as 2026-02-14T10:00:00+08:00", s)
		return time.Time{}, false
	}
	return t, true
}

// OptionalTime is Time for fields where absence is meaningful (nil).
func (w *Walker) OptionalTime(m map[string]any, path, key string) *time.Time {
	t, ok := w.Time(m, path, key, false)
	if !ok {
		return nil
	}
	return &t
}
