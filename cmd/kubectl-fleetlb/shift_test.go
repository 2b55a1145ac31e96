package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	for _, c := range []struct {
		from, to, step int
		want           []Step
	}{
		{100, 0, 25, []Step{{75, 25}, {50, 50}, {25, 75}, {0, 100}}},
		{80, 20, 30, []Step{{50, 50}, {20, 80}, {0, 100}}}, // the last step moves what is left
		{70, 60, 50, []Step{{20, 100}, {0, 100}}},          // the target capped at 100
		{0, 40, 10, nil}, // nothing to move
		{5, 0, 10, []Step{{0, 5}}},
	} {
		if got := Plan(c.from, c.to, c.step); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Plan(%d, %d, %d) = %v, want %v", c.from, c.to, c.step, got, c.want)
		}
	}
}

func TestFlagErrorsSayWhatToChange(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"shift", "--service", "default/web", "--from", "a"}, "--from CTX --to CTX"},
		{[]string{"shift", "--service", "default/web", "--from", "a", "--to", "a"}, "name two clusters"},
		{[]string{"shift", "--service", "default/web", "--from", "a", "--to", "b", "--step", "0"}, "--step 0: use 1-100"},
		{[]string{"status", "--service", "web"}, "give NAMESPACE/NAME"},
		{[]string{"status", "--service", "default/web"}, "missing --endpoint (or ELB_ENDPOINT)"},
	} {
		root := newRootCmd(func(string) string { return "" })
		root.SetArgs(c.args)
		root.SetOut(&strings.Builder{})
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
