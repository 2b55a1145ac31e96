package images

import (
	"archive/tar"
	"crypto/x509"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// P5: an image of elbd built as make images does, opened from its tarball as docker load would:
// one image per architecture, the entrypoint, the non-root user, the CA bundle, no shell, and the
// amd64 binary inside answers --version with the stamped version.
func TestImageTarball(t *testing.T) {
	if testing.Short() {
		t.Skip("builds elbd for two architectures")
	}
	const pkg = "github.com/fleetlb/fleetlb/internal/common/version"
	out := filepath.Join(t.TempDir(), "elbd.tar")
	err := Build(Spec{
		Name: "elbd", Root: "../..", Arches: []string{"amd64", "arm64"}, Version: "v9.8.7", Commit: "0123abcd",
		LDFlags: "-X " + pkg + ".version=v9.8.7 -X " + pkg + ".commit=0123abcd", WorkDir: t.TempDir(),
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}, out)
	if err != nil {
		t.Fatal(err)
	}

	// The tarball is an OCI layout: untar it and read its index.
	dir := t.TempDir()
	untar(t, out, dir)
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := root.IndexManifest()
	if err != nil || len(rm.Manifests) != 1 {
		t.Fatalf("index.json: %+v (%v)", rm, err)
	}
	if name := rm.Manifests[0].Annotations["io.containerd.image.name"]; name != "docker.io/fleetlb/elbd:v9.8.7" {
		t.Errorf("image name %q, want docker.io/fleetlb/elbd:v9.8.7 (docker load and ctr import tag it so)", name)
	}
	idx, err := root.ImageIndex(rm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	arches := map[string]v1.Hash{}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS != "linux" {
			t.Fatalf("manifest without a linux platform: %+v", m)
		}
		arches[m.Platform.Architecture] = m.Digest
	}
	if len(arches) != 2 || arches["amd64"] == (v1.Hash{}) || arches["arm64"] == (v1.Hash{}) {
		t.Fatalf("platforms %v, want linux/amd64 and linux/arm64", arches)
	}
	for arch, digest := range arches {
		img, err := idx.Image(digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		if cf.Architecture != arch || strings.Join(c.Entrypoint, " ") != "/usr/local/bin/elbd" || c.User != "65532:65532" {
			t.Errorf("%s: architecture %q, entrypoint %q, user %q", arch, cf.Architecture, c.Entrypoint, c.User)
		}
		if c.Labels["org.opencontainers.image.version"] != "v9.8.7" || c.Labels["org.opencontainers.image.revision"] != "0123abcd" {
			t.Errorf("%s: labels %v", arch, c.Labels)
		}
		files := extract(t, img)
		if _, ok := files["bin/sh"]; ok {
			t.Errorf("%s: the image has a shell", arch)
		}
		for name := range files {
			if strings.HasPrefix(name, "bin/") || strings.HasPrefix(name, "sbin/") {
				t.Errorf("%s: unexpected %s", arch, name)
			}
		}
		if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(files["etc/ssl/certs/ca-certificates.crt"]) {
			t.Errorf("%s: no CA certificate in /etc/ssl/certs/ca-certificates.crt", arch)
		}
		if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
			t.Errorf("%s: /etc/passwd names no user 65532", arch)
		}
		if arch != runtime.GOARCH {
			continue
		}
		bin := filepath.Join(t.TempDir(), "elbd")
		if err := os.WriteFile(bin, files["usr/local/bin/elbd"], 0o755); err != nil {
			t.Fatal(err)
		}
		got, err := exec.Command(bin, "--version").CombinedOutput()
		if want := "elbd v9.8.7 (commit 0123abcd, " + runtime.Version() + " linux/" + arch + ")\n"; err != nil || string(got) != want {
			t.Errorf("the image's elbd --version: %q (%v), want %q", got, err, want)
		}
	}
}

func untar(t *testing.T, file, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err == nil {
			err = os.WriteFile(p, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// extract is the image's file system: path (no leading /) -> content (nil for directories).
func extract(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "/")] = b
	}
}
