package console_test

import "github.com/fleetlb/fleetlb/internal/elbd/store"

// scopeP1 is what key AK1 of elbdtest.Config sees: the dedicated resources of project p1.
var scopeP1 = store.Scope{Family: store.FamilyV3, ProjectID: "p1"}

func ptr[T any](v T) *T { return &v }
