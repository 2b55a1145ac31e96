// Command etcd is the etcd server, built from go.etcd.io/etcd/server/v3 so the
// test clusters run the same etcd release as the tools module pins.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
