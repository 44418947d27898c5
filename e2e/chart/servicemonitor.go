package chart

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ServiceMonitorAPIVersion is the Prometheus Operator API the chart targets.
const ServiceMonitorAPIVersion = "monitoring.coreos.com/v1"

// ServiceMonitor is the part of the Prometheus Operator's ServiceMonitor that the chart
// renders. Strict decoding into it catches misspelt fields without importing the operator's
// module; a field the chart starts to use must be added here, with the operator's spelling.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec selects the Services to scrape and how.
type ServiceMonitorSpec struct {
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector NamespaceSelector    `json:"namespaceSelector"`
	Endpoints         []Endpoint           `json:"endpoints"`
	JobLabel          string               `json:"jobLabel,omitempty"`
}

// NamespaceSelector is the operator's namespace choice (not a label selector).
type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// Endpoint is one scrape endpoint of a ServiceMonitor.
type Endpoint struct {
	Port          string `json:"port,omitempty"`
	Path          string `json:"path,omitempty"`
	Scheme        string `json:"scheme,omitempty"`
	Interval      string `json:"interval,omitempty"`
	ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
}
