//go:build tools

// Package deps pins the project's dependencies before every package that uses them exists.
package deps

import (
	_ "github.com/google/uuid"
	_ "github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	_ "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v2"
	_ "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/cobra"
	_ "go.etcd.io/bbolt"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/client-go/kubernetes"
	_ "sigs.k8s.io/controller-runtime"
	_ "sigs.k8s.io/yaml"
)
