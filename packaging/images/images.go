// Package images builds fleetlb's container images without a Docker daemon (P5), with
// go-containerregistry: a static binary (CGO_ENABLED=0, -trimpath, version stamped), the CA
// certificates of the build machine (Debian's ca-certificates), an /etc/passwd naming the
// non-root user 65532, no shell; one image per architecture under one index, written as an OCI
// layout tarball that `docker load` and `ctr import` accept.
package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// User is the image's user and group: not root, the usual "nonroot" ID (the chart runs as it).
const User = "65532"

// CACertificates is where the image has the CA bundle: Go's crypto/x509 reads it on Linux, so
// the controller trusts the cloud's API endpoints.
const CACertificates = "/etc/ssl/certs/ca-certificates.crt"

// Spec says what to build.
type Spec struct {
	Name     string   // the command under cmd/ (fleetlb-controller, elbd): the binary and image name
	Root     string   // the repository (its go.mod)
	Arches   []string // GOARCH values: amd64, arm64
	Version  string   // the image's tag and org.opencontainers.image.version
	Commit   string   // org.opencontainers.image.revision
	LDFlags  string   // -ldflags for go build (the Makefile's: the version stamped into the binary)
	CAFile   string   // the CA bundle to copy; default /etc/ssl/certs/ca-certificates.crt
	Repo     string   // the image's name in docker load / ctr import: default fleetlb/NAME
	WorkDir  string   // where the binaries are built
	Created  time.Time
	GoBinary string // default "go"
}

// Build builds one image per architecture and writes them, under one index, as the OCI layout
// tarball out.
func Build(s Spec, out string) error {
	if s.CAFile == "" {
		s.CAFile = CACertificates
	}
	if s.Repo == "" {
		s.Repo = path.Join("fleetlb", s.Name) // the image name, not an ownership mark
	}
	if s.GoBinary == "" {
		s.GoBinary = "go"
	}
	ca, err := os.ReadFile(s.CAFile)
	if err != nil {
		return fmt.Errorf("the CA certificates for the image: %w (install Debian's ca-certificates, or pass the bundle)", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range s.Arches {
		bin := filepath.Join(s.WorkDir, s.Name+"-linux-"+arch)
		cmd := exec.Command(s.GoBinary, "build", "-trimpath", "-ldflags", s.LDFlags, "-o", bin, "./cmd/"+s.Name)
		cmd.Dir = s.Root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s for linux/%s: %w\n%s", s.Name, arch, err, out)
		}
		img, err := image(s, arch, bin, ca)
		if err != nil {
			return err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	return writeTarball(idx, s.Repo+":"+s.Version, s.Version, out)
}

// image is one architecture's image: one layer, the entrypoint, the user, the labels.
func image(s Spec, arch, bin string, ca []byte) (v1.Image, error) {
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	entry := "/usr/local/bin/" + s.Name
	layerTar, err := tarFiles([]file{
		{"etc/", nil, 0o755, true},
		{"etc/passwd", []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"), 0o644, false},
		{"etc/group", []byte("root:x:0:\nnonroot:x:65532:\n"), 0o644, false},
		{"etc/ssl/", nil, 0o755, true},
		{"etc/ssl/certs/", nil, 0o755, true},
		{CACertificates[1:], ca, 0o644, false},
		{"tmp/", nil, 0o1777, true},
		{"usr/", nil, 0o755, true},
		{"usr/local/", nil, 0o755, true},
		{"usr/local/bin/", nil, 0o755, true},
		{entry[1:], exe, 0o755, false},
	}, s.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, v1.Time{Time: s.Created}
	cf.Config = v1.Config{
		Entrypoint: []string{entry},
		User:       User + ":" + User,
		WorkingDir: "/",
		Env:        []string{"PATH=/usr/local/bin"},
		Labels: map[string]string{
			"org.opencontainers.image.title":    s.Name,
			"org.opencontainers.image.version":  s.Version,
			"org.opencontainers.image.revision": s.Commit,
			"org.opencontainers.image.source":   "https://github.com/fleetlb/fleetlb",
		},
	}
	return mutate.ConfigFile(img, cf)
}

type file struct {
	name string
	data []byte
	mode int64
	dir  bool
}

func tarFiles(files []file, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: mtime, Typeflag: tar.TypeReg, Size: int64(len(f.data)), Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeTarball writes idx as an OCI layout (index.json naming it ref, as docker load and ctr
// import read the name) and tars the layout into out.
func writeTarball(idx v1.ImageIndex, ref, tag, out string) error {
	dir, err := os.MkdirTemp("", "fleetlb-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"io.containerd.image.name":          "docker.io/" + ref,
		"org.opencontainers.image.ref.name": tag,
	})); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
