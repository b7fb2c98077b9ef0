{{/*
Checks across values that values.schema.json cannot express. Fails the
install with what is wrong and how to fix it.
*/}}
{{- define "msm.validate" -}}
{{- $a := .Values.agent }}
{{- if gt (int $a.mediaPorts.from) (int $a.mediaPorts.to) }}
{{- fail (printf "agent.mediaPorts: from (%d) is above to (%d); give the range in increasing order" (int $a.mediaPorts.from) (int $a.mediaPorts.to)) }}
{{- end }}
{{- if lt (sub (int $a.mediaPorts.to) (int $a.mediaPorts.from)) 3 }}
{{- fail (printf "agent.mediaPorts %d-%d: the range needs at least 4 ports (RTP/RTCP pairs)" (int $a.mediaPorts.from) (int $a.mediaPorts.to)) }}
{{- end }}
{{- range $a.gamePorts }}
{{- $r := splitList "-" (toString .) }}
{{- if and (eq (len $r) 2) (gt (atoi (index $r 0)) (atoi (index $r 1))) }}
{{- fail (printf "agent.gamePorts: range %q runs backwards; write it as FROM-TO with FROM <= TO" .) }}
{{- end }}
{{- range $r }}
{{- if gt (atoi .) 65535 }}
{{- fail (printf "agent.gamePorts: port %s is above 65535" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- if not (hasPrefix "/sys/fs/bpf/" $a.pinDir) }}
{{- fail (printf "agent.pinDir %q must lie below /sys/fs/bpf/ (the node's bpffs the chart mounts), e.g. /sys/fs/bpf/msm" $a.pinDir) }}
{{- end }}
{{- with .Values.updateStrategy.rollingUpdate }}
{{- if and (eq $.Values.updateStrategy.type "RollingUpdate") (ne (toString (default 0 .maxSurge)) "0") (ne (toString (default 0 .maxSurge)) "0%") }}
{{- if ne (toString (default 0 .maxUnavailable)) "0" }}
{{- fail "updateStrategy.rollingUpdate.maxSurge: a surge needs maxUnavailable: 0 (Kubernetes refuses both for a DaemonSet); set maxSurge: 0 to replace pods one by one" }}
{{- end }}
{{- if not $.Values.upgrade.handover }}
{{- fail "updateStrategy.rollingUpdate.maxSurge: 1 needs upgrade.handover (two agents cannot otherwise share the node's ports); set maxSurge: 0 and maxUnavailable: 1" }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.securityContext.privileged (eq .Values.securityContext.seccompProfile "RuntimeDefault") }}
{{- /* privileged containers run without seccomp anyway; say so instead of pretending */ -}}
{{- fail "securityContext.seccompProfile=RuntimeDefault has no effect with securityContext.privileged=true; leave it Unconfined" }}
{{- end }}
{{- end }}
