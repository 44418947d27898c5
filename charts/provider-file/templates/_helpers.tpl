{{/* Chart name, cut to the 63 characters a DNS label allows. */}}
{{- define "provider-file.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name; the release name alone when it already contains the chart name. */}}
{{- define "provider-file.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "provider-file.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "provider-file.labels" -}}
helm.sh/chart: {{ include "provider-file.chart" . }}
{{ include "provider-file.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "provider-file.selectorLabels" -}}
app.kubernetes.io/name: {{ include "provider-file.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the `helm test` pod; the NetworkPolicy lets exactly these in. */}}
{{- define "provider-file.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "provider-file.name" . }}-conformance
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "provider-file.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "provider-file.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "provider-file.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "provider-file.testImage" -}}
{{- printf "%s:%s" .Values.tests.image.repository (.Values.tests.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "provider-file.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "provider-file.fullname" .)) }}
{{- end }}

{{/* Cluster DNS name of the Service: what an in-cluster client dials and what a server
certificate is issued for. */}}
{{- define "provider-file.serviceHost" -}}
{{- printf "%s.%s.svc" (include "provider-file.fullname" .) .Release.Namespace }}
{{- end }}

{{/* Settings that cannot work together fail the render with a reason, before anything is
applied to the cluster. */}}
{{- define "provider-file.validate" -}}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount=%d: the file provider keeps its VM inventory in one directory owned by one process; more than one replica would split it (emptyDir) or corrupt it (shared volume). Use 1." (int .Values.replicaCount)) }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) }}
{{- fail "tls.enabled=true needs tls.secretName: a Secret with tls.crt, tls.key and ca.crt" }}
{{- end }}
{{- if and .Values.persistence.enabled (not .Values.persistence.existingClaim) (not .Values.persistence.accessModes) }}
{{- fail "persistence.accessModes is empty: give at least one, e.g. ReadWriteOnce" }}
{{- end }}
{{- end }}
