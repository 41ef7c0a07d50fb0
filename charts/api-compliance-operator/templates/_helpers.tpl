{{/* Common labels and names for every object of the chart. */}}
{{- define "acp.name" -}}api-compliance-operator{{- end -}}
{{- define "acp.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}
{{- define "acp.labels" -}}
app.kubernetes.io/name: {{ include "acp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{/* Webhook: namespaces the injector never matches. */}}
{{- define "acp.webhook.excludedNamespaces" -}}
{{- $ns := list "kube-system" "kube-node-lease" .Release.Namespace -}}
{{- concat $ns .Values.webhook.excludedNamespaces | uniq | toJson -}}
{{- end -}}
{{- define "acp.webhook.labels" -}}
{{ include "acp.labels" . }}
app.kubernetes.io/component: webhook
{{- end -}}
{{- define "acp.webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "acp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}
