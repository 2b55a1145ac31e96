package main

import (
	elbv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	m2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2/model"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	m3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"
	"github.com/spf13/cobra"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

var (
	hmListFields = []string{"id", "name", "type", "delay", "timeout", "max_retries", "monitor_port", "pools"}
	hmShowFields = []string{"id", "name", "type", "delay", "timeout", "max_retries", "max_retries_down", "monitor_port",
		"url_path", "expected_codes", "http_method", "pools"}
)

func newHealthMonitorCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "healthmonitor", Aliases: []string{"hm", "healthmonitors"}, Short: "Manage the health checks of pools"}
	cmd.AddCommand(hmCreateCmd(g), hmListCmd(g), hmShowCmd(g), hmDeleteCmd(g))
	return cmd
}

func hmCreateCmd(g *globals) *cobra.Command {
	var pool, hmType, name, urlPath, codes, method string
	var delay, timeout, retries, retriesDown, port int32
	cmd := &cobra.Command{
		Use:   "create --pool POOL --type TCP|UDP_CONNECT|HTTP [--delay S] [--timeout S] [--max-retries N]",
		Short: "Health-check a pool's members",
		Args:  cobra.NoArgs,
	}
	check := func(cmd *cobra.Command, _ []string) (err error) {
		if err = requireFlags(cmd, "pool", "type"); err != nil {
			return err
		}
		if hmType, err = oneOf("type", hmType, "TCP", "UDP_CONNECT", "HTTP"); err != nil {
			return err
		}
		if cmd.Flags().Changed("monitor-port") {
			if err = checkPort("monitor-port", port); err != nil {
				return err
			}
		}
		return g.v3Only(cmd, "max-retries-down")
	}
	cmd.RunE = g.dispatch(check,
		func(cmd *cobra.Command, _ []string, c *elbv2.ElbClient) (result, error) {
			return view(hmShowFields).of(c.CreateHealthmonitor(&m2.CreateHealthmonitorRequest{Body: &m2.CreateHealthmonitorRequestBody{Healthmonitor: &m2.CreateHealthmonitorReq{
				PoolId: pool, Type: enum[m2.CreateHealthmonitorReqType](hmType), Delay: delay, Timeout: timeout, MaxRetries: retries,
				MonitorPort: ifSet(cmd, "monitor-port", port), Name: ifSet(cmd, "name", name), UrlPath: ifSet(cmd, "url-path", urlPath),
				ExpectedCodes: ifSet(cmd, "expected-codes", codes), HttpMethod: ifSet(cmd, "http-method", method)}}}))
		},
		func(cmd *cobra.Command, _ []string, c *elbv3.ElbClient) (result, error) {
			return view(hmShowFields).of(c.CreateHealthMonitor(&m3.CreateHealthMonitorRequest{Body: &m3.CreateHealthMonitorRequestBody{Healthmonitor: &m3.CreateHealthMonitorOption{
				PoolId: pool, Type: hmType, Delay: delay, Timeout: timeout, MaxRetries: retries,
				MaxRetriesDown: ifSet(cmd, "max-retries-down", retriesDown), MonitorPort: ifSet(cmd, "monitor-port", port),
				Name: ifSet(cmd, "name", name), UrlPath: ifSet(cmd, "url-path", urlPath),
				ExpectedCodes: ifSet(cmd, "expected-codes", codes), HttpMethod: ifSet(cmd, "http-method", method)}}}))
		})
	f := cmd.Flags()
	f.StringVar(&pool, "pool", "", "pool to check")
	f.StringVar(&hmType, "type", "", "TCP, UDP_CONNECT or HTTP")
	f.Int32Var(&delay, "delay", elbrules.DefaultMonitorDelay, "seconds between checks")
	f.Int32Var(&timeout, "timeout", elbrules.DefaultMonitorTimeout, "seconds a check may take")
	f.Int32Var(&retries, "max-retries", elbrules.DefaultMonitorMaxRetries, "successes in a row that bring a member up")
	f.Int32Var(&retriesDown, "max-retries-down", elbrules.DefaultMonitorMaxRetriesDown, "failures in a row that take a member down (v3 only)")
	f.Int32Var(&port, "monitor-port", 0, "port to check (default: the member's port)")
	f.StringVar(&name, "name", "", "name")
	f.StringVar(&urlPath, "url-path", "", "HTTP checks: path")
	f.StringVar(&codes, "expected-codes", "", "HTTP checks: expected status codes, e.g. 200-299")
	f.StringVar(&method, "http-method", "", "HTTP checks: method")
	return cmd
}

func hmListCmd(g *globals) *cobra.Command {
	return g.listCmd(&cobra.Command{Use: "list", Short: "List health monitors", Args: cobra.NoArgs}, nil, nil,
		hmListFields, listBy((*elbv2.ElbClient).ListHealthmonitors), hmListFields, listBy((*elbv3.ElbClient).ListHealthMonitors))
}

func hmShowCmd(g *globals) *cobra.Command {
	return g.showCmd(&cobra.Command{Use: "show ID", Short: "Show one health monitor", Args: cobra.ExactArgs(1)}, nil,
		hmShowFields, byID((*elbv2.ElbClient).ShowHealthmonitors), hmShowFields, byID((*elbv3.ElbClient).ShowHealthMonitor))
}

func hmDeleteCmd(g *globals) *cobra.Command {
	return g.deleteCmd(&cobra.Command{Use: "delete ID", Short: "Delete a health monitor", Args: cobra.ExactArgs(1)}, nil, "health monitor",
		byID((*elbv2.ElbClient).DeleteHealthmonitor), byID((*elbv3.ElbClient).DeleteHealthMonitor))
}
