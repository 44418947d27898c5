package cluster

import (
	"fmt"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// kindLogger sends kind's warnings, errors and normal status lines (V(0)) to a Printf-style
// function; kind's debug levels are dropped.
type kindLogger struct {
	logf func(format string, args ...any)
}

func (l kindLogger) Warn(message string)                      { l.logf("kind: warning: %s", message) }
func (l kindLogger) Warnf(format string, args ...any)         { l.Warn(fmt.Sprintf(format, args...)) }
func (l kindLogger) Error(message string)                     { l.logf("kind: error: %s", message) }
func (l kindLogger) Errorf(format string, args ...any)        { l.Error(fmt.Sprintf(format, args...)) }
func (l kindLogger) V(level kindlog.Level) kindlog.InfoLogger { return infoLogger{l.logf, level <= 0} }

type infoLogger struct {
	logf    func(format string, args ...any)
	enabled bool
}

func (i infoLogger) Info(message string) {
	if i.enabled {
		i.logf("kind: %s", message)
	}
}

func (i infoLogger) Infof(format string, args ...any) {
	if i.enabled {
		i.logf("kind: "+format, args...)
	}
}

func (i infoLogger) Enabled() bool { return i.enabled }
