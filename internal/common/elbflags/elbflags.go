// Package elbflags is the ELB connection flags the operator commands share (elbctl,
// kubectl-fleetlb): --endpoint, --ak, --sk, --project-id, --ca-file and --timeout, each of the
// first five falling back to its environment variable, and the message that names every missing one.
package elbflags

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/program"
)

// Help names the flags and their environment variables, for a command's long help.
const Help = "--endpoint / ELB_ENDPOINT, --ak / HUAWEICLOUD_SDK_AK, --sk / HUAWEICLOUD_SDK_SK, --project-id / HUAWEICLOUD_SDK_PROJECT_ID, --ca-file / ELB_CA_FILE"

// Flags are the connection settings.
type Flags struct {
	Endpoint  string
	AK, SK    string
	ProjectID string
	// CAFile is a PEM file of the CA that signed an https endpoint's certificate (elbd's
	// --tls-cert); "" trusts the system's roots. Optional, so not in settings.
	CAFile string
	// Timeout bounds each API call.
	Timeout time.Duration
}

// setting is a flag with an environment variable.
type setting struct {
	flag, env string
	v         *string
}

// settings are the flags with an environment variable, in the order they are reported.
func (f *Flags) settings() []setting {
	return []setting{{"endpoint", "ELB_ENDPOINT", &f.Endpoint}, {"ak", "HUAWEICLOUD_SDK_AK", &f.AK},
		{"sk", "HUAWEICLOUD_SDK_SK", &f.SK}, {"project-id", "HUAWEICLOUD_SDK_PROJECT_ID", &f.ProjectID}}
}

// Add defines the flags on fs.
func (f *Flags) Add(fs *pflag.FlagSet) {
	fs.StringVar(&f.AK, "ak", "", "access key (default $HUAWEICLOUD_SDK_AK)")
	fs.StringVar(&f.SK, "sk", "", "secret key (default $HUAWEICLOUD_SDK_SK; prefer the variable, flags show in ps)")
	fs.StringVar(&f.ProjectID, "project-id", "", "project ID (default $HUAWEICLOUD_SDK_PROJECT_ID)")
	fs.StringVar(&f.Endpoint, "endpoint", "", "ELB API endpoint, e.g. http://127.0.0.1:9080 (default $ELB_ENDPOINT)")
	fs.StringVar(&f.CAFile, "ca-file", "", "PEM file of the CA that signed the endpoint's certificate, e.g. elbd's with --tls-cert (default $ELB_CA_FILE; else the system's roots)")
	fs.DurationVar(&f.Timeout, "timeout", 30*time.Second, "timeout of each API call")
}

// FromEnv fills each setting not given on the command line (fs) from its environment variable.
func (f *Flags) FromEnv(fs *pflag.FlagSet, getenv func(string) string) {
	for _, s := range f.settings() {
		if !fs.Changed(s.flag) {
			*s.v = getenv(s.env)
		}
	}
	if !fs.Changed("ca-file") {
		f.CAFile = getenv("ELB_CA_FILE")
	}
}

// Missing is an error naming every setting without a value, flag and variable, or nil.
func (f *Flags) Missing() error {
	var pairs []string
	for _, s := range f.settings() {
		pairs = append(pairs, fmt.Sprintf("--%s (or %s)", s.flag, s.env), *s.v)
	}
	if missing := program.Unset(pairs...); len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// Config is the ELB client's configuration of these settings.
func (f *Flags) Config() elbclient.Config {
	return elbclient.Config{Endpoint: f.Endpoint, ProjectID: f.ProjectID, AK: f.AK, SK: f.SK, Timeout: f.Timeout, CAFile: f.CAFile}
}
