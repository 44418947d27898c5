// Package portforward makes a Service's port reachable on 127.0.0.1 through the API server,
// as `kubectl port-forward svc/NAME` does: it picks a ready pod behind the Service and
// forwards to the pod port the Service targets.
package portforward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// Forward is a running port-forward.
type Forward struct {
	// Pod is the pod the traffic goes to.
	Pod    string
	addr   string
	cancel context.CancelFunc
	done   chan error
}

// Addr is the local address, 127.0.0.1:PORT.
func (f *Forward) Addr() string { return f.addr }

// Close stops forwarding and returns why it ended, nil when Close ended it.
func (f *Forward) Close() error {
	f.cancel()
	return <-f.done
}

// ToService forwards a free local port on 127.0.0.1 to the Service port named portName.
// Diagnostics of the forwarder (one line per connection, errors) go to log.
func ToService(ctx context.Context, cfg *rest.Config, namespace, service, portName string, log io.Writer) (*Forward, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	svc, err := cs.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("service %s/%s: %w", namespace, service, err)
	}
	var target *intstr.IntOrString
	for _, p := range svc.Spec.Ports {
		if p.Name == portName {
			target = &p.TargetPort
		}
	}
	if target == nil {
		return nil, fmt.Errorf("service %s/%s has no port named %q", namespace, service, portName)
	}
	pod, err := readyPod(ctx, cs, namespace, svc)
	if err != nil {
		return nil, err
	}
	podPort, err := resolvePort(pod, *target)
	if err != nil {
		return nil, err
	}

	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, err
	}
	url := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod.Name).
		SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)

	fctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	pf, err := portforward.NewOnAddressesWithContext(fctx, dialer, []string{"127.0.0.1"},
		[]string{"0:" + strconv.Itoa(int(podPort))}, ready, log, log)
	if err != nil {
		cancel()
		return nil, err
	}
	f := &Forward{Pod: pod.Name, cancel: cancel, done: make(chan error, 1)}
	go func() { f.done <- pf.ForwardPorts() }()

	select {
	case <-ready:
	case err := <-f.done:
		cancel()
		f.done <- err
		return nil, fmt.Errorf("port-forward to pod %s/%s:%d: %w", namespace, pod.Name, podPort, err)
	case <-ctx.Done():
		_ = f.Close()
		return nil, ctx.Err()
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		_ = f.Close()
		return nil, errors.Join(errors.New("port-forward reported no local port"), err)
	}
	f.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local)))
	return f, nil
}

func readyPod(ctx context.Context, cs kubernetes.Interface, namespace string, svc *corev1.Service) (*corev1.Pod, error) {
	if len(svc.Spec.Selector) == 0 {
		return nil, fmt.Errorf("service %s has no selector", svc.Name)
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String(),
	})
	if err != nil {
		return nil, err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && isReady(p) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("service %s/%s: none of its %d pods is running and ready", namespace, svc.Name, len(pods.Items))
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// resolvePort turns a Service targetPort (a number or a container port name) into the pod's
// port number.
func resolvePort(pod *corev1.Pod, target intstr.IntOrString) (int32, error) {
	if target.Type == intstr.Int {
		return target.IntVal, nil
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == target.StrVal {
				return p.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("pod %s has no container port named %q", pod.Name, target.StrVal)
}
