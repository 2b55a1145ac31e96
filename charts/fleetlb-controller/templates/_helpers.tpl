{{- define "fleetlb.name" -}}fleetlb-controller{{- end -}}

{{- define "fleetlb.labels" -}}
app.kubernetes.io/name: {{ include "fleetlb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "fleetlb.selector" -}}
app.kubernetes.io/name: {{ include "fleetlb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The port of a bind address (":8081", "127.0.0.1:8081"); "" when the address is "0" (off). */}}
{{- define "fleetlb.port" -}}
{{- if and . (ne (toString .) "0") -}}{{ regexReplaceAll "^.*:" (toString .) "" }}{{- end -}}
{{- end -}}

{{/* The Subject every binding names. */}}
{{- define "fleetlb.subject" -}}
- kind: ServiceAccount
  name: {{ .Values.serviceAccount.name }}
  namespace: {{ .Release.Namespace }}
{{- end -}}
