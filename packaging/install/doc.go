// Package install holds the install test (P3, P4): charts/fleetlb-controller rendered by Helm's
// Go library (package chart) and applied to a real test-bed cluster, its RBAC checked by
// SubjectAccessReviews as the ServiceAccount, and the fleetlb-controller binary run as the
// Deployment would run it (that ServiceAccount's token, the Secret's credentials) against elbd.
package install
