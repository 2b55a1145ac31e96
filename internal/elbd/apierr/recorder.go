package apierr

import (
	"bytes"
	"net/http"
)

// Recorder is an http.ResponseWriter that holds a handler's reply in memory, for a caller that
// looks at the reply before sending it on (elbd's fault injector) or instead of sending it (the
// console's in-process API calls).
type Recorder struct {
	// Code is the first status written; 200 once a body is written without one.
	Code   int
	Body   bytes.Buffer
	header http.Header
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (r *Recorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter; only the first status counts.
func (r *Recorder) WriteHeader(code int) {
	if r.Code == 0 {
		r.Code = code
	}
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.Code == 0 {
		r.Code = http.StatusOK
	}
	return r.Body.Write(b)
}
