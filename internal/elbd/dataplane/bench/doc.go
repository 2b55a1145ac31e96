// Package bench holds the helpers of `make bench-dataplane`
// (scripts/bench-dataplane.sh): backend is a small HTTP server for the
// backends, lb serves data plane configurations given on its command line
// without the API, for profiling the data plane on its own.
package bench
