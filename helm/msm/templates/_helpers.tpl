{{/*
Names and labels shared by every template.
*/}}

{{/* The chart's short name (nameOverride wins). */}}
{{- define "msm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of the release's objects. A release called "msm" gives "msm" (so that
"kubectl exec ds/msm" works); any other release gives "<release>-msm".
*/}}
{{- define "msm.fullname" -}}
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

{{- define "msm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that never change for a release: the DaemonSet's selector. */}}
{{- define "msm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "msm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "msm.labels" -}}
helm.sh/chart: {{ include "msm.chart" . }}
{{ include "msm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: msm
{{- end }}

{{- define "msm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "msm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "msm.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Whether a listener value {address, port} means the node's IP (status.hostIP). */}}
{{- define "msm.onNodeIP" -}}
{{- if or (eq .address "node") (eq .address "node-ipv6") }}true{{ end }}
{{- end }}

{{/*
The agent flag's value for a listener on the node's IP: the kubelet expands
$(MSM_NODE_IP) in args from the env var of that name (downward API).
*/}}
{{- define "msm.nodeListen" -}}
{{- if eq .address "node-ipv6" }}
{{- printf "[$(MSM_NODE_IP)]:%d" (int .port) }}
{{- else }}
{{- printf "$(MSM_NODE_IP):%d" (int .port) }}
{{- end }}
{{- end }}

{{/* "ADDR:PORT" for a listener value {address, port}. IPv6 addresses get brackets. */}}
{{- define "msm.listen" -}}
{{- if contains ":" .address }}
{{- printf "[%s]:%d" .address (int .port) }}
{{- else }}
{{- printf "%s:%d" .address (int .port) }}
{{- end }}
{{- end }}

{{/* "FROM-TO" for a port range value {from, to}. */}}
{{- define "msm.portRange" -}}
{{- printf "%d-%d" (int .from) (int .to) }}
{{- end }}

{{/* Where the Secrets the agent reads are mounted (read-only), one directory each. */}}
{{- define "msm.secretsDir" -}}/etc/msm-secrets{{- end }}

{{/*
Where the agent keeps its state (the state volume, state.hostPath on the node):
the directory of the agent's default SIP state file (sip.state-file,
/var/lib/msm/sip-state.json), so the config file needs no key for it
(helm-tests' AgentConfigTest checks the two agree).
*/}}
{{- define "msm.stateDir" -}}
/var/lib/msm
{{- end }}
