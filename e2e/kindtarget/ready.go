package kindtarget

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// waitSystemReady waits until every Deployment and DaemonSet in kube-system is ready. kind
// reports a new cluster ready once the control-plane node is, while CoreDNS and kube-proxy
// are still starting: the port-forward works then, but an in-cluster client (`helm test`)
// resolving or dialling a Service times out.
func waitSystemReady(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var pending []string
	for {
		deps, derr := cs.AppsV1().Deployments(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
		dss, serr := cs.AppsV1().DaemonSets(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
		if derr == nil && serr == nil {
			if pending = notReady(deps.Items, dss.Items); len(pending) == 0 {
				return nil
			}
		} else {
			pending = []string{fmt.Sprintf("listing: %v %v", derr, serr)}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-system not ready after %s: %s", timeout, strings.Join(pending, "; "))
		case <-tick.C:
		}
	}
}

// notReady names the workloads that are not fully rolled out and available.
func notReady(deps []appsv1.Deployment, dss []appsv1.DaemonSet) []string {
	var out []string
	for _, d := range deps {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.UpdatedReplicas < want || s.AvailableReplicas < want {
			out = append(out, fmt.Sprintf("deployment %s %d/%d available", d.Name, s.AvailableReplicas, want))
		}
	}
	for _, d := range dss {
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.UpdatedNumberScheduled < s.DesiredNumberScheduled ||
			s.NumberAvailable < s.DesiredNumberScheduled {
			out = append(out, fmt.Sprintf("daemonset %s %d/%d available", d.Name, s.NumberAvailable, s.DesiredNumberScheduled))
		}
	}
	return out
}
