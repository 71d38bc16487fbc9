{{/* The name of every object of the release. */}}
{{- define "kubewhy.fullname" -}}
{{- if contains "kubewhy" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kubewhy" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kubewhy.selectorLabels" -}}
app.kubernetes.io/name: kubewhy
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubewhy.labels" -}}
{{ include "kubewhy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kubewhy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubewhy.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kubewhy.slackSecret" -}}
{{- default (printf "%s-slack" (include "kubewhy.fullname" .)) .Values.slack.existingSecret -}}
{{- end -}}

{{/* The Lease the replicas elect their leader on (one per release). */}}
{{- define "kubewhy.leaseName" -}}
{{- printf "%s-watch" (include "kubewhy.fullname" .) -}}
{{- end -}}
