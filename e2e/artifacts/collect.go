// Package artifacts saves what a failed cluster run leaves to look at: every pod's logs (and
// the previous container's after a restart), the namespace's events and the pods' specs and
// statuses, as files in a folder a CI job can upload.
package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// Collect writes the namespace's pods, logs and events into dir/<namespace>/ and returns every
// problem it met; it keeps going after one, since a partial picture beats none.
func Collect(ctx context.Context, cfg *rest.Config, namespace, dir string) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	out := filepath.Join(dir, namespace)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var errs []error

	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing pods: %w", err))
	} else {
		for i := range pods.Items {
			errs = append(errs, savePod(ctx, cs, &pods.Items[i], out))
		}
	}

	events, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing events: %w", err))
	} else {
		errs = append(errs, os.WriteFile(filepath.Join(out, "events.txt"), []byte(FormatEvents(events.Items)), 0o644))
	}
	return errors.Join(errs...)
}

func savePod(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, out string) error {
	pod.ManagedFields = nil
	spec, err := yaml.Marshal(pod)
	if err != nil {
		return err
	}
	errs := []error{os.WriteFile(filepath.Join(out, pod.Name+".yaml"), spec, 0o644)}
	for _, c := range pod.Spec.Containers {
		errs = append(errs, saveLog(ctx, cs, pod, c.Name, false, filepath.Join(out, pod.Name+"."+c.Name+".log")))
		if restarted(pod, c.Name) {
			errs = append(errs, saveLog(ctx, cs, pod, c.Name, true, filepath.Join(out, pod.Name+"."+c.Name+".previous.log")))
		}
	}
	return errors.Join(errs...)
}

func restarted(pod *corev1.Pod, container string) bool {
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == container {
			return s.RestartCount > 0
		}
	}
	return false
}

func saveLog(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, container string, previous bool, file string) error {
	stream, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
		Container: container, Previous: previous,
	}).Stream(ctx)
	if err != nil {
		// A container that never started has no log; say so in the file instead of failing.
		return os.WriteFile(file, []byte("no log: "+err.Error()+"\n"), 0o644)
	}
	defer func() { _ = stream.Close() }()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	_, copyErr := io.Copy(f, stream)
	return errors.Join(copyErr, f.Close())
}

// FormatEvents renders events oldest first, one per line, like `kubectl get events`.
func FormatEvents(events []corev1.Event) string {
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Time.Before(eventTime(events[j]).Time) })
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%s  %-7s  %-24s  %s/%s  %s",
			eventTime(e).UTC().Format("15:04:05"), e.Type, e.Reason,
			strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, strings.TrimSpace(e.Message))
		if e.Count > 1 {
			fmt.Fprintf(&b, " (x%d)", e.Count)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func eventTime(e corev1.Event) metav1.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.Time{Time: e.EventTime.Time}
	default:
		return e.FirstTimestamp
	}
}
