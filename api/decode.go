package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/internal/jsonwalk"
	"github.com/refundflow/refundflow/web"
)

// decode reads one JSON object into v, strictly: unknown fields, wrong
// types, trailing data and oversized bodies are refused with an error that
// names the field.
func decode(c *gin.Context, v any) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return refundflow.Errorf(refundflow.ETOOLARGE, "body_too_large", "the request body is over %d bytes", web.MaxBodyBytes)
		}
		return refundflow.Errorf(refundflow.EINVALID, "unreadable_body", "the request body could not be read")
	}
	return decodeJSON(body, v)
}

func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return refundflow.Errorf(refundflow.EINVALID, "empty_body", "a JSON object is required")
	}
	if err := checkStrings(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return refundflow.Errorf(refundflow.EINVALID, "malformed_json", "unexpected data after the JSON object")
	}
	return nil
}

// checkStrings refuses a body holding a string, member name or value, that
// is not storable text (refundflow.CheckText), naming it by its JSON path.
// encoding/json alone would not notice: it turns bytes that are not UTF-8
// into U+FFFD and passes NUL through to PostgreSQL, which refuses it. A
// body that is not JSON is left for the decoder to report.
func checkStrings(body []byte) error {
	type level struct {
		path   string
		array  bool
		index  int    // an array's next element
		key    string // an object's member whose value comes next
		hasKey bool
	}
	var stack []*level
	// next is the path of the value that comes next, which it then uses up.
	next := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		if top.array {
			top.index++
			return top.path + "[" + itoa(top.index-1) + "]"
		}
		top.hasKey = false
		return jsonwalk.Join(top.path, top.key)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var start int64
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		// The token's own bytes (after the separators before it, all ASCII):
		// the only place bytes that are not UTF-8 can still be seen.
		raw := body[start:dec.InputOffset()]
		start = dec.InputOffset()
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &level{path: next(), array: t == '['})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			var field string
			if top := len(stack) - 1; top >= 0 && !stack[top].array && !stack[top].hasKey {
				stack[top].key, stack[top].hasKey = t, true
				field = jsonwalk.Join(stack[top].path, t)
			} else {
				field = next()
			}
			var pr refundflow.Problems
			if !utf8.Valid(raw) {
				pr.Add(field, "invalid_text", "must be UTF-8 text")
			} else {
				refundflow.CheckText(&pr, field, t)
			}
			if err := pr.Err(); err != nil {
				return err
			}
		default:
			next()
		}
	}
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return refundflow.Errorf(refundflow.EINVALID, "invalid_type", "the body must be a JSON object")
		}
		return refundflow.FieldError(field, "invalid_type", "must be %s, not a JSON %s", describeType(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return refundflow.Errorf(refundflow.EINVALID, "malformed_json", "malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return refundflow.Errorf(refundflow.EINVALID, "malformed_json", "the JSON body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return refundflow.FieldError(field, "unknown_field", "is not a known field")
	}
	return refundflow.Errorf(refundflow.EINVALID, "malformed_json", "%v", err)
}

func describeType(kind string) string {
	switch kind {
	case "int", "int32", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a " + kind
}

// parseTime parses an optional RFC 3339 field.
func parseTime(pr *refundflow.Problems, field string, s *string) *time.Time {
	if s == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		pr.Add(field, "invalid_time", "must be an RFC 3339 time such as 2026-03-01T08:00:00Z")
		return nil
	}
	t = t.UTC()
	return &t
}

// requireTime parses a required RFC 3339 field.
func requireTime(pr *refundflow.Problems, field string, s *string) time.Time {
	if s == nil {
		pr.Add(field, "missing_field", "is required (RFC 3339)")
		return time.Time{}
	}
	if t := parseTime(pr, field, s); t != nil {
		return *t
	}
	return time.Time{}
}

// checkPathID makes sure a body's id, when given, matches the URL's.
func checkPathID(pr *refundflow.Problems, pathID string, bodyID *string) {
	if bodyID != nil && *bodyID != pathID {
		pr.Add("id", "id_mismatch", "is %q but the URL names %q", *bodyID, pathID)
	}
}
