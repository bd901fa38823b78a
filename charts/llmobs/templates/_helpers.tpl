{{/* Names and labels shared by the templates. */}}
{{- define "llmobs.operatorName" -}}{{ .Release.Name }}-operator{{- end }}
{{- define "llmobs.webhookService" -}}{{ .Release.Name }}-webhook{{- end }}
{{- define "llmobs.tlsSecret" -}}{{ .Release.Name }}-webhook-tls{{- end }}
{{- define "llmobs.labels" -}}
app.kubernetes.io/name: llmobs
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
{{- define "llmobs.selectorLabels" -}}
app.kubernetes.io/name: llmobs
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}
