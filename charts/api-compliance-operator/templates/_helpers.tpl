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
{{/*
Pod scheduling of a component (operator or webhook), from its values:
priorityClassName, nodeSelector, tolerations, affinity, and topology spread
(spreadAcrossNodes adds a ScheduleAnyway spread by hostname over the
component's own pods; topologySpreadConstraints adds yours).
Call with (dict "values" .Values.operator "selector" (dict ...)).
*/}}
{{- define "acp.scheduling" -}}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- if or .values.spreadAcrossNodes .values.topologySpreadConstraints }}
topologySpreadConstraints:
{{- if .values.spreadAcrossNodes }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels: {{- toYaml .selector | nindent 8 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end -}}
{{- define "acp.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "acp.name" . }}
app.kubernetes.io/component: operator
{{- end -}}
