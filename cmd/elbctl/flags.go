package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// ifSet returns &v when the flag was given on the command line, else nil, so
// that the request leaves unset fields to the server's defaults.
func ifSet[T any](cmd *cobra.Command, flag string, v T) *T {
	if cmd.Flags().Changed(flag) {
		return &v
	}
	return nil
}

// enum builds one of the SDK's enum types (they only decode from JSON).
func enum[T any](s string) T {
	var v T
	// The SDK's enum decoders accept any string; an error cannot happen here.
	_ = json.Unmarshal([]byte(strconv.Quote(s)), &v)
	return v
}

// oneOf upper-cases value and checks it against allowed.
func oneOf(flag, value string, allowed ...string) (string, error) {
	v := strings.ToUpper(value)
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fmt.Errorf("--%s %q: use one of %s", flag, value, strings.Join(allowed, ", "))
}

// requireFlags reports every missing required flag at once.
func requireFlags(cmd *cobra.Command, flags ...string) error {
	var missing []string
	for _, f := range flags {
		if !cmd.Flags().Changed(f) {
			missing = append(missing, "--"+f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return nil
}

func checkPort(flag string, port int32) error {
	if !elbrules.Port.Contains(int(port)) {
		return fmt.Errorf("--%s %d: a port is %d-%d", flag, port, elbrules.Port.Min, elbrules.Port.Max)
	}
	return nil
}

func checkWeight(weight int32) error {
	if !elbrules.ValidWeight(int(weight)) {
		return fmt.Errorf("--weight %d: a weight is %d-%d", weight, elbrules.MinWeight, elbrules.MaxWeight)
	}
	return nil
}

// requireOneOf asks for at least one of the flags (updates).
func requireOneOf(cmd *cobra.Command, flags ...string) error {
	for _, f := range flags {
		if cmd.Flags().Changed(f) {
			return nil
		}
	}
	return fmt.Errorf("nothing to change: give at least one of --%s", strings.Join(flags, ", --"))
}
