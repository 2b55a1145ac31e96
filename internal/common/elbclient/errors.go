package elbclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
)

// Sentinel kinds; test with errors.Is(err, elbclient.ErrNotFound).
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrBadRequest   = errors.New("bad request")
	ErrThrottled    = errors.New("throttled")
	ErrServer       = errors.New("server error")
	ErrUnreachable  = errors.New("endpoint unreachable")
)

// APIError is a failed ELB call, with what the ELB said.
type APIError struct {
	Op         string // e.g. "v3 CreateListener"
	StatusCode int    // 0 when no HTTP response came back
	Code       string // error_code, e.g. ELB.8902
	Message    string // error_msg
	RequestID  string
	Kind       error // one of the Err* sentinels
	Err        error // the underlying error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ELB %s: %v", e.Op, e.Kind)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else if e.Err != nil && e.StatusCode == 0 {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) etc. work.
func (e *APIError) Is(target error) bool { return target == e.Kind }

func (e *APIError) Unwrap() error { return e.Err }

// Retryable reports whether a call that failed with err may succeed when repeated: conflicts
// (the ELB is busy with a concurrent change), throttling, server errors and transport failures.
// After such a failure the outcome of a write is unknown: re-read before writing again.
func Retryable(err error) bool {
	return errors.Is(err, ErrConflict) || errors.Is(err, ErrThrottled) || errors.Is(err, ErrServer) ||
		errors.Is(err, ErrUnreachable) || errors.Is(err, context.DeadlineExceeded)
}

// classify turns an SDK error into an *APIError.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	ae := &APIError{Op: op, Err: err}
	var sre *sdkerr.ServiceResponseError
	var conn *sdkerr.ConnectionError
	var tmo *sdkerr.RequestTimeoutError
	var nerr net.Error
	switch {
	case errors.As(err, &sre):
		ae.StatusCode, ae.Code, ae.Message, ae.RequestID = sre.StatusCode, sre.ErrorCode, sre.ErrorMessage, sre.RequestId
		ae.Kind = kindOfStatus(sre.StatusCode)
	case errors.As(err, &conn), errors.As(err, &tmo), errors.As(err, &nerr):
		ae.Kind = ErrUnreachable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("ELB %s: %w", op, err)
	default:
		ae.Kind = ErrUnreachable
	}
	return ae
}

func kindOfStatus(code int) error {
	switch {
	case code == http.StatusNotFound:
		return ErrNotFound
	case code == http.StatusConflict:
		return ErrConflict
	case code == http.StatusUnauthorized:
		return ErrUnauthorized
	case code == http.StatusForbidden:
		return ErrForbidden
	case code == http.StatusTooManyRequests:
		return ErrThrottled
	case code >= 500:
		return ErrServer
	default:
		return ErrBadRequest
	}
}

type counterKey struct{}

// WithWriteCounter returns a context whose write calls are also added to n, so that one caller
// (e.g. one Apply) can count its own writes while other callers share the client.
func WithWriteCounter(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, counterKey{}, n)
}

// CountWrite adds one write to the context's counter, if any. Implementations of API call it
// once per write call they make.
func CountWrite(ctx context.Context) {
	if n, ok := ctx.Value(counterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}
