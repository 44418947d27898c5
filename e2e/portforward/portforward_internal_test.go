package portforward

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestResolvePort(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "sidecar", Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9090}}},
		{Name: "provider", Ports: []corev1.ContainerPort{{Name: "grpc", ContainerPort: 9443}}},
	}}}
	p, err := resolvePort(pod, intstr.FromString("grpc"))
	require.NoError(t, err)
	assert.Equal(t, int32(9443), p)

	p, err = resolvePort(pod, intstr.FromInt32(7000))
	require.NoError(t, err)
	assert.Equal(t, int32(7000), p)

	_, err = resolvePort(pod, intstr.FromString("http"))
	assert.ErrorContains(t, err, `no container port named "http"`)
}

func TestIsReady(t *testing.T) {
	pod := func(conds ...corev1.PodCondition) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Conditions: conds}}
	}
	assert.False(t, isReady(pod()))
	assert.False(t, isReady(pod(corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse})))
	assert.False(t, isReady(pod(corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue})))
	assert.True(t, isReady(pod(
		corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})))
}
