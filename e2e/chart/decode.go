package chart

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// Object is a rendered manifest decoded into its typed Kubernetes form.
type Object struct {
	Manifest
	Kind string
	Name string
	// Typed is *appsv1.Deployment, *corev1.Service, ... or *ServiceMonitor.
	Typed any
}

// strictYAML rejects unknown and duplicate fields, unlike the API server's default ("Warn"),
// which would silently drop a misspelt field such as readOnlyRootFilesytem.
var strictYAML = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
	kjson.SerializerOptions{Yaml: true, Strict: true})

// Decode decodes one manifest strictly. Built-in kinds go through client-go's scheme;
// ServiceMonitor, a CRD, goes into the structural ServiceMonitor type.
func Decode(m Manifest) (Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal([]byte(m.YAML), &tm); err != nil {
		return Object{}, fmt.Errorf("%s: not YAML: %w", m.Source, err)
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		return Object{}, fmt.Errorf("%s: apiVersion and kind are required", m.Source)
	}

	var typed any
	if tm.APIVersion == ServiceMonitorAPIVersion && tm.Kind == "ServiceMonitor" {
		sm := &ServiceMonitor{}
		if err := yaml.UnmarshalStrict([]byte(m.YAML), sm); err != nil {
			return Object{}, fmt.Errorf("%s: ServiceMonitor: %w", m.Source, err)
		}
		typed = sm
	} else {
		obj, _, err := strictYAML.Decode([]byte(m.YAML), nil, nil)
		if err != nil {
			return Object{}, fmt.Errorf("%s: %s %s: %w", m.Source, tm.APIVersion, tm.Kind, err)
		}
		typed = obj
	}
	meta, ok := typed.(metav1.Object)
	if !ok {
		return Object{}, fmt.Errorf("%s: %s has no object metadata", m.Source, tm.Kind)
	}
	if meta.GetName() == "" {
		return Object{}, fmt.Errorf("%s: %s without metadata.name", m.Source, tm.Kind)
	}
	return Object{Manifest: m, Kind: tm.Kind, Name: meta.GetName(), Typed: typed}, nil
}

// DecodeAll decodes every manifest and reports all failures at once.
func DecodeAll(r *Rendered) ([]Object, error) {
	objs := make([]Object, 0, len(r.Manifests))
	var errs []error
	for _, m := range r.Manifests {
		o, err := Decode(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, o)
	}
	return objs, errors.Join(errs...)
}
