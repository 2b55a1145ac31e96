package elbtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Faults sits in front of an ELB API handler and does to writes what the real API does to a
// fleet of clients (issue "safe on a real cloud", C5). Each write (a request other than GET) takes
// the next fault of the script; when the script is empty, Every (if set) is used round-robin.
//
//   - "429": API Gateway throttling (APIG.0308); the write is not done.
//   - "409-busy": the load balancer is busy (PENDING_UPDATE); the write is not done, and the next
//     two reads of the load balancer show provisioning_status PENDING_UPDATE.
//   - "lost": the write is done, but its reply is lost (502 instead).
//   - "": passed through.
type Faults struct {
	Next http.Handler

	mu       sync.Mutex
	script   []string
	every    []string
	n        int
	busy     int
	seen     []string
	injected map[string]int
	answered map[int]int // status codes the ELB itself answered to writes
}

// Answered counts the writes the ELB behind answered with status code (not injected faults).
func (f *Faults) Answered(code int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answered[code]
}

// Script sets the faults of the next writes, and clears the log.
func (f *Faults) Script(faults ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script, f.seen = faults, nil
}

// Every sets the faults used round-robin once the script is done ("" passes a write through).
func (f *Faults) Every(faults ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.every, f.n = faults, 0
}

// Log is "METHOD path -> fault" of every request since the last Script.
func (f *Faults) Log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.seen, "\n")
}

// Injected counts the faults injected so far, by kind.
func (f *Faults) Injected() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.injected {
		out[k] = v
	}
	return out
}

func (f *Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fault := ""
	if r.Method != http.MethodGet {
		switch {
		case len(f.script) > 0:
			fault, f.script = f.script[0], f.script[1:]
		case len(f.every) > 0:
			fault = f.every[f.n%len(f.every)]
			f.n++
		}
	}
	pending := false
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/loadbalancers/") && f.busy > 0 {
		f.busy--
		pending = true
	}
	f.seen = append(f.seen, r.Method+" "+r.URL.Path+" -> "+fault)
	if fault != "" {
		if f.injected == nil {
			f.injected = map[string]int{}
		}
		f.injected[fault]++
	}
	if fault == "409-busy" {
		f.busy = 2
	}
	f.mu.Unlock()
	switch fault {
	case "429":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error_code":"APIG.0308","error_msg":"The request is throttled.","request_id":"fault-429"}`)
		return
	case "409-busy":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"error_code":"ELB.1101","error_msg":"Load balancer is in PENDING_UPDATE state; try again later.","request_id":"fault-409"}`)
		return
	}
	rec := httptest.NewRecorder()
	f.Next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if r.Method != http.MethodGet {
		f.mu.Lock()
		if f.answered == nil {
			f.answered = map[int]int{}
		}
		f.answered[rec.Code]++
		f.mu.Unlock()
	}
	if pending {
		var doc map[string]any
		if json.Unmarshal(body, &doc) == nil {
			if lb, ok := doc["loadbalancer"].(map[string]any); ok {
				lb["provisioning_status"] = "PENDING_UPDATE"
				body, _ = json.Marshal(doc)
			}
		}
	}
	if fault == "lost" {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}
