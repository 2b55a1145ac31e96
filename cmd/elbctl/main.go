// Command elbctl is the operator CLI for an ELB (elbd or Huawei Cloud's), built
// on the official Huawei Cloud Go SDK: v3 for dedicated load balancers, v2 for
// shared ones (--family v2).
package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	hc "github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	"github.com/spf13/cobra"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbflags"
	"github.com/fleetlb/fleetlb/internal/common/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes one elbctl invocation and returns the process exit code.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	g := &globals{getenv: getenv}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "Error:", g.redact(describeError(err)))
		return exitCode(err)
	}
	return exitOK
}

// globals holds the flags every command shares and builds the SDK clients.
type globals struct {
	getenv func(string) string
	elbflags.Flags
	family   string
	output   string
	pageSize int32
}

// limit is the page size v3 list calls ask for; nil leaves it to the server.
func (g *globals) limit() *int32 {
	if g.pageSize <= 0 {
		return nil
	}
	return &g.pageSize
}

const (
	familyV3 = "v3"
	familyV2 = "v2"
)

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "elbctl",
		Short: "Operate an ELB (load balancers, listeners, pools, members, health monitors)",
		Long: `elbctl manages an ELB through the Huawei Cloud ELB API, with the official SDK.

Credentials come from flags or the environment:
  ` + elbflags.Help + `.
--family v3 (default) manages dedicated load balancers, v2 shared ones.
-o table (default), json or yaml on every command that prints.
Shell completion: elbctl completion bash|zsh|fish|powershell --help.

` + exitCodesHelp(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().String("elbctl"), // P1: --version
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.complete(cmd)
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	f := root.PersistentFlags()
	g.Flags.Add(f)
	f.StringVar(&g.family, "family", familyV3, "API family: v3 (dedicated, \"performance\") or v2 (shared, \"union\")")
	f.StringVarP(&g.output, "output", "o", outputTable, "output format: "+strings.Join(outputFormats, ", "))
	f.Int32Var(&g.pageSize, "page-size", 0, "items per list call (v3); lists follow every page either way (default: the server's)")
	fixed := func(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
	}
	_ = root.RegisterFlagCompletionFunc("output", fixed(outputFormats...))
	_ = root.RegisterFlagCompletionFunc("family", fixed(familyV3, familyV2))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return codedError{exitUsage, err} })
	root.AddCommand(newLoadBalancerCmd(g), newListenerCmd(g), newPoolCmd(g), newMemberCmd(g), newHealthMonitorCmd(g), newTopCmd(g), newFleetCmd(g))
	return root
}

// complete fills unset flags from the environment and checks them.
func (g *globals) complete(cmd *cobra.Command) error {
	g.FromEnv(cmd.Flags(), g.getenv)
	switch strings.ToLower(g.family) {
	case familyV3, "performance", "dedicated":
		g.family = familyV3
	case familyV2, "union", "shared":
		g.family = familyV2
	default:
		return fmt.Errorf("--family %q: use v3 (dedicated) or v2 (shared)", g.family)
	}
	if !slices.Contains(outputFormats, g.output) {
		return fmt.Errorf("-o %q: use %s", g.output, strings.Join(outputFormats, ", "))
	}
	return nil
}

// httpClient checks the connection settings and builds the SDK's HTTP client.
func (g *globals) httpClient(builder *hc.HcHttpClientBuilder) (*hc.HcHttpClient, error) {
	if err := g.Missing(); err != nil {
		return nil, err
	}
	if u, err := url.Parse(g.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--endpoint %q must be a URL like http://127.0.0.1:9080", g.Endpoint)
	}
	cred, err := basic.NewCredentialsBuilder().WithAk(g.AK).WithSk(g.SK).WithProjectId(g.ProjectID).SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	httpCfg, err := elbclient.HTTPConfig(g.Config())
	if err != nil {
		return nil, fmt.Errorf("--ca-file (or ELB_CA_FILE) %s: %w", g.CAFile, err)
	}
	return builder.WithEndpoints([]string{g.Endpoint}).WithCredential(cred).WithHttpConfig(httpCfg).SafeBuild()
}

func (g *globals) v3() (*elbv3.ElbClient, error) {
	c, err := g.httpClient(elbv3.ElbClientBuilder())
	if err != nil {
		return nil, err
	}
	return elbv3.NewElbClient(c), nil
}

func (g *globals) v2() (*elbv2.ElbClient, error) {
	c, err := g.httpClient(elbv2.ElbClientBuilder())
	if err != nil {
		return nil, err
	}
	return elbv2.NewElbClient(c), nil
}

// redact removes the secret key from anything elbctl prints.
func (g *globals) redact(s string) string {
	if len(g.SK) >= 4 {
		s = strings.ReplaceAll(s, g.SK, "<redacted>")
	}
	return s
}

// v3Only refuses a flag the shared (v2) API does not have.
func (g *globals) v3Only(cmd *cobra.Command, flags ...string) error {
	if g.family != familyV2 {
		return nil
	}
	for _, f := range flags {
		if cmd.Flags().Changed(f) {
			return fmt.Errorf("--%s exists only for dedicated load balancers; drop it or use --family v3", f)
		}
	}
	return nil
}

// result is what a command prints: an SDK model value and its table fields.
// A nil value prints nothing (the call printed its own confirmation).
type result struct {
	value  any
	fields []string
}

type (
	v2Call func(cmd *cobra.Command, args []string, c *elbv2.ElbClient) (result, error)
	v3Call func(cmd *cobra.Command, args []string, c *elbv3.ElbClient) (result, error)
)

// dispatch runs the call of the selected API family and prints its result.
// check, when not nil, validates flags before any client is built.
func (g *globals) dispatch(check func(*cobra.Command, []string) error, on2 v2Call, on3 v3Call) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if check != nil {
			if err := check(cmd, args); err != nil {
				return err
			}
		}
		var res result
		if g.family == familyV2 {
			if on2 == nil {
				return fmt.Errorf("%q is not part of the shared (v2) API; use --family v3", cmd.CommandPath())
			}
			c, err := g.v2()
			if err != nil {
				return err
			}
			if res, err = on2(cmd, args, c); err != nil {
				return err
			}
		} else {
			c, err := g.v3()
			if err != nil {
				return err
			}
			if res, err = on3(cmd, args, c); err != nil {
				return err
			}
		}
		if res.value == nil {
			return nil
		}
		return g.print(cmd, res.value, res.fields)
	}
}
