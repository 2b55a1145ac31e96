// Command images writes the OCI image tarballs of fleetlb-controller and elbd (`make images`).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fleetlb/fleetlb/packaging/images"
)

func main() {
	root := flag.String("root", "..", "the repository")
	out := flag.String("out", "../bin/images", "where the tarballs go (NAME.tar)")
	names := flag.String("images", "fleetlb-controller,elbd", "commands under cmd/ to make images of")
	arches := flag.String("arch", "amd64,arm64", "architectures")
	version := flag.String("version", "", "the version (the Makefile's VERSION)")
	commit := flag.String("commit", "", "the commit (the Makefile's COMMIT)")
	ldflags := flag.String("ldflags", "", "go build -ldflags (the Makefile's LDFLAGS)")
	flag.Parse()
	if *version == "" {
		fmt.Fprintln(os.Stderr, "images: --version is required (make images passes git describe)")
		os.Exit(2)
	}
	if err := build(*root, *out, *names, *arches, *version, *commit, *ldflags); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func build(root, out, names, arches, version, commit, ldflags string) error {
	work, err := os.MkdirTemp("", "fleetlb-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for _, name := range strings.Split(names, ",") {
		tar := filepath.Join(out, name+".tar")
		err := images.Build(images.Spec{
			Name: name, Root: root, Arches: strings.Split(arches, ","), Version: version, Commit: commit,
			LDFlags: ldflags, WorkDir: work, Created: time.Now().UTC().Truncate(time.Second),
		}, tar)
		if err != nil {
			return err
		}
		fmt.Println("wrote", tar)
	}
	return nil
}
