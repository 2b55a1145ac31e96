// Package chart renders charts/fleetlb-controller with Helm's Go library (helm.sh/helm/v4, no
// helm binary), as `helm template` would: the chart's values, then the given ones, checked
// against values.schema.json. It writes the plain manifests of config/ (P2).
package chart

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// Release is the release name the manifests of config/ are rendered with.
const Release = "fleetlb-controller"

// Namespace is where config/ installs the controller: kube-system, beside the ConfigMap that
// records the cluster ID and the default leader-election Lease.
const Namespace = "kube-system"

// Render renders the chart in dir into namespace with values over the chart's own, and returns
// each template's output by its file name (rbac.yaml, deployment.yaml...), empty ones left out.
func Render(dir, namespace string, values map[string]any) (map[string]string, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load the chart %s: %w", dir, err)
	}
	vals, err := util.ToRenderValues(ch, values, common.ReleaseOptions{
		Name: Release, Namespace: namespace, Revision: 1, IsInstall: true,
	}, nil)
	if err != nil {
		return nil, err
	}
	out, err := engine.Engine{Strict: true}.RenderWithContext(context.Background(), ch, vals)
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	for name, text := range out {
		if path.Ext(name) != ".yaml" || strings.TrimSpace(text) == "" {
			continue
		}
		files[path.Base(name)] = text
	}
	return files, nil
}

// Header starts every file of config/.
const Header = "# Rendered from charts/fleetlb-controller with its default values by `make manifests`;\n" +
	"# do not edit: change the chart (a test keeps the two equal).\n"

// Manifests are the files of config/: the chart rendered with its defaults into Namespace, each
// with Header.
func Manifests(chartDir string) (map[string]string, error) {
	files, err := Render(chartDir, Namespace, nil)
	if err != nil {
		return nil, err
	}
	for name, text := range files {
		files[name] = Header + strings.TrimLeft(text, "-\n")
	}
	return files, nil
}

// WriteManifests makes config/ the chart's defaults: writes every file and removes the .yaml
// files no template renders any more.
func WriteManifests(chartDir, configDir string) error {
	files, err := Manifests(chartDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(configDir, "*.yaml"))
	for _, f := range old {
		if _, ok := files[filepath.Base(f)]; !ok {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(configDir, n), []byte(files[n]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// InstallOrder is the documents of rendered files in the order `helm install` creates them,
// kind by kind (helm's releaseutil.InstallOrder: the ServiceAccount and RBAC before the
// Deployment).
func InstallOrder(files map[string]string) ([]string, error) {
	return ordered(files, releaseutil.InstallOrder)
}

// UninstallOrder is the documents of rendered files in the order `helm uninstall` deletes
// them (releaseutil.UninstallOrder: the Deployment before its RBAC).
func UninstallOrder(files map[string]string) ([]string, error) {
	return ordered(files, releaseutil.UninstallOrder)
}

func ordered(files map[string]string, order releaseutil.KindSortOrder) ([]string, error) {
	_, ms, err := releaseutil.SortManifests(files, nil, order)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Content
	}
	return out, nil
}
