// Package apierr writes the ELB API's error envelope and holds the small request helpers that both
// API families (v2 shared, v3 dedicated) share: request IDs and lenient JSON decoding.
//
// The real ELB answers every failed call with
//
//	{"error_msg": "...", "error_code": "ELB.8902", "request_id": "..."}
//
// and the same request ID in the X-Request-Id header; the official SDK reads both.
package apierr

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Error codes as the real ELB API returns them.
const (
	// CodeInvalid is a request parameter that breaks a rule (HTTP 400).
	CodeInvalid = "ELB.8902"
	// CodeNotFound is a resource (or a resource a request names) that does not exist (HTTP 404).
	CodeNotFound = "ELB.8904"
	// CodeConflict is a duplicate, or a resource still in use (HTTP 409).
	CodeConflict = "ELB.8907"
	// CodeUnauthorized is a missing or wrong signature, access key or date (HTTP 401).
	CodeUnauthorized = "APIGW.0301"
	// CodeForbidden is a key acting outside its project (HTTP 403).
	CodeForbidden = "APIGW.0302"
	// CodeAPINotExist is a path or method the server does not serve (HTTP 404).
	CodeAPINotExist = "APIGW.0101"
	// CodeTooLarge is a request body over MaxBody (HTTP 413), API Gateway's "request entity too large".
	CodeTooLarge = "APIGW.0201"
	// CodeInternal is a server-side failure (HTTP 500).
	CodeInternal = "ELB.0001"
)

// HeaderRequestID is the response header carrying the request ID.
const HeaderRequestID = "X-Request-Id"

// Error is an API error: the HTTP status, the ELB error code and a message telling the caller what
// to change. Handlers return it; Write turns it into the envelope.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg) }

// Invalid is a 400 with CodeInvalid.
func Invalid(format string, a ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Msg: fmt.Sprintf(format, a...)}
}

// NotFound is a 404 with CodeNotFound.
func NotFound(format string, a ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Msg: fmt.Sprintf(format, a...)}
}

// Conflict is a 409 with CodeConflict.
func Conflict(format string, a ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeConflict, Msg: fmt.Sprintf(format, a...)}
}

// StatusError is any error that knows its HTTP status and ELB code (store.Error, auth errors do).
type StatusError interface {
	error
	HTTPStatus() int
	ErrorCode() string
}

// HTTPStatus implements StatusError.
func (e *Error) HTTPStatus() int { return e.Status }

// ErrorCode implements StatusError.
func (e *Error) ErrorCode() string { return e.Code }

// Envelope is the JSON body of an error response.
type Envelope struct {
	ErrorMsg  string `json:"error_msg"`
	ErrorCode string `json:"error_code"`
	RequestID string `json:"request_id"`
}

// Write sends err as the error envelope. A StatusError keeps its status and code; anything else is
// a 500 whose message does not leak internals.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := http.StatusInternalServerError, CodeInternal, "internal server error"
	var se StatusError
	if errors.As(err, &se) {
		status, code, msg = se.HTTPStatus(), se.ErrorCode(), se.Error()
		var ae *Error
		if errors.As(err, &ae) {
			msg = ae.Msg
		}
	}
	id := RequestID(r)
	w.Header().Set(HeaderRequestID, id)
	WriteJSON(w, status, Envelope{ErrorMsg: msg, ErrorCode: code, RequestID: id})
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error_msg":"encoding response failed","error_code":"ELB.0001"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type ctxKey struct{}

// NewRequestID returns a fresh 32-hex-digit request ID, as the real API uses.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WithRequestID returns r carrying id (see RequestID); the router does this for every request and
// sets the X-Request-Id response header.
func WithRequestID(r *http.Request, id string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
}

// RequestID is the request's ID, set by the router; a request without one gets a fresh ID.
func RequestID(r *http.Request) string {
	if id, ok := r.Context().Value(ctxKey{}).(string); ok && id != "" {
		return id
	}
	return NewRequestID()
}

// MaxBody bounds request bodies (F2): 1 MiB, far above the largest real request (a 200-member
// batch is about 60 KiB), so a client cannot make elbd buffer an unbounded body.
const MaxBody = 1 << 20

// TooLarge is the 413 for a body over MaxBody.
func TooLarge() *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
		Msg: fmt.Sprintf("request body is larger than %d bytes (1 MiB); send fewer items per call", MaxBody)}
}

// Decode reads r's JSON body into v. Unknown fields are tolerated, as the real API does; an empty
// or malformed body is a 400 that says what is wrong, one larger than MaxBody a 413 (TooLarge).
func Decode(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return Invalid("reading the request body failed: %v", err)
	}
	if len(data) > MaxBody {
		return TooLarge()
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return &Error{Status: http.StatusBadRequest, Code: "ELB.0002", Msg: "the request body is empty; send a JSON object"}
	}
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if FieldPath(te) == "" {
				return Invalid("request body must be a JSON object, got %s", te.Value)
			}
			return Invalid("field %q must be a JSON %s, got %s", FieldPath(te), te.Type.Kind(), te.Value)
		}
		return Invalid("malformed JSON in request body: %v", err)
	}
	return nil
}

// FieldPath is the JSON path of the field a type error is about, without the Go names of the
// embedded request fragments encoding/json puts in it ("v3Named.name" is "name"): the API's
// keys are lower-case snake_case.
func FieldPath(te *json.UnmarshalTypeError) string {
	parts := strings.Split(te.Field, ".")
	keep := parts[:0]
	for _, p := range parts {
		if strings.ToLower(p) == p {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ".")
}

type projectKey struct{}

// WithProjectID returns r carrying the {project_id} of its path; the router sets it after
// authenticating the request, so family handlers need not parse the path again.
func WithProjectID(r *http.Request, projectID string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), projectKey{}, projectID))
}

// ProjectID is the authenticated {project_id} of the request, "" outside the router.
func ProjectID(r *http.Request) string {
	id, _ := r.Context().Value(projectKey{}).(string)
	return id
}
