package artifacts

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFormatEventsOldestFirst(t *testing.T) {
	at := func(s int) metav1.Time { return metav1.NewTime(time.Date(2026, 1, 2, 3, 4, s, 0, time.UTC)) }
	events := []corev1.Event{
		{Type: "Warning", Reason: "BackOff", Message: "Back-off restarting failed container\n", Count: 4,
			LastTimestamp: at(30), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p-1"}},
		{Type: "Normal", Reason: "Scheduled", Message: "Successfully assigned",
			EventTime: metav1.NewMicroTime(at(10).Time), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p-1"}},
	}
	got := FormatEvents(events)
	assert.Equal(t,
		"03:04:10  Normal   Scheduled                 pod/p-1  Successfully assigned\n"+
			"03:04:30  Warning  BackOff                   pod/p-1  Back-off restarting failed container (x4)\n", got)
}
