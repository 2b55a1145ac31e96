package k8stest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// Objects decodes a multi-document YAML manifest (empty documents skipped).
func Objects(manifest string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split("\n"+manifest, "\n---") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, err
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
	return out, nil
}

// Applier creates and deletes objects of any kind the API server serves, as kubectl does.
type Applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewApplier is an Applier acting with cfg.
func NewApplier(cfg *rest.Config) (*Applier, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))}, nil
}

// resource is o's endpoint; the kinds are discovered again once when o's is unknown (a CRD just
// created).
func (a *Applier) resource(o *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource).Namespace(o.GetNamespace()), nil
	}
	return a.dyn.Resource(m.Resource), nil
}

// Create creates o; the error is the API server's refusal (kind not served, invalid field...).
func (a *Applier) Create(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	r, err := a.resource(o)
	if err != nil {
		return nil, err
	}
	return r.Create(ctx, o, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict})
}

// Delete deletes o and waits until it is gone (its finalizers done).
func (a *Applier) Delete(ctx context.Context, o *unstructured.Unstructured) error {
	r, err := a.resource(o)
	if err != nil {
		return err
	}
	fg := metav1.DeletePropagationForeground
	if err := r.Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	for {
		_, err := r.Get(ctx, o.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ServiceAccountUser is how the API server authenticates ServiceAccount ns/name: its user name
// and groups, for SubjectAccessReviews and impersonation.
func ServiceAccountUser(ns, name string) (user string, groups []string) {
	return "system:serviceaccount:" + ns + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
}

// Allowed asks the API server's authorizer (a SubjectAccessReview) whether ServiceAccount ns/name
// may do attrs.
func Allowed(ctx context.Context, cs kubernetes.Interface, ns, name string, attrs authorizationv1.ResourceAttributes) (bool, error) {
	user, groups := ServiceAccountUser(ns, name)
	r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: groups, ResourceAttributes: &attrs,
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return r.Status.Allowed, nil
}

// WaitForRBAC waits until the API server's authorizer grants ServiceAccount ns/name each of
// attrs: new roles and bindings reach it through informers, a moment after they are created,
// and a controller started at once would be refused.
func WaitForRBAC(t testing.TB, cs kubernetes.Interface, ns, name string, attrs ...authorizationv1.ResourceAttributes) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range attrs {
		for {
			ok, err := Allowed(context.Background(), cs, ns, name, a)
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("service account %s/%s still may not %s %s after 30s (%v)", ns, name, a.Verb, a.Resource, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// ServiceAccountToken is a token of ServiceAccount ns/name from the TokenRequest API, valid
// for an hour, as the kubelet mounts into its Pods.
func ServiceAccountToken(t testing.TB, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	exp := int64(3600)
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Status.Token
}

// InstallRBAC creates the objects of the manifest file (a ServiceAccount and its RBAC, such as
// config/rbac.yaml) and returns a token of its ServiceAccount once its roles grant attrs.
func InstallRBAC(t testing.TB, cfg *rest.Config, manifest string, attrs ...authorizationv1.ResourceAttributes) string {
	t.Helper()
	raw, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Objects(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", manifest, err)
	}
	a, err := NewApplier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sa *unstructured.Unstructured
	for _, o := range objs {
		if _, err := a.Create(context.Background(), o); err != nil {
			t.Fatalf("%s: %s %s: %v", manifest, o.GetKind(), o.GetName(), err)
		}
		if o.GetKind() == "ServiceAccount" {
			sa = o
		}
	}
	if sa == nil {
		t.Fatalf("%s has no ServiceAccount", manifest)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	WaitForRBAC(t, cs, sa.GetNamespace(), sa.GetName(), attrs...)
	return ServiceAccountToken(t, cs, sa.GetNamespace(), sa.GetName())
}
