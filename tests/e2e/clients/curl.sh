#!/usr/bin/env bash
# curl.sh PROVIDER stream|plain [OPT...]: one exchange with curl --http1.1 against the fake
# provider (E2E_PORT, E2E_CA), addressed by the real API host name (api.openai.com or
# api.anthropic.com, pinned to 127.0.0.1 with --resolve: nothing leaves the host), so that SNI and
# Host name the provider. OPTs become opt:... words that steer the answer (gzip, chunked,
# status=NNN). curl replaces this shell (exec), so $$ is curl's own pid for the X-E2E-Pid header.
set -eu
provider=$1 stream=false usage=
[ "$2" = stream ] && stream=true usage=',"stream_options":{"include_usage":true}'
shift 2
prompt="MARK-curl-$$-$RANDOM"
for o in "$@"; do prompt="$prompt opt:$o"; done
prompt="$prompt Say hello."
if [ "$provider" = openai ]; then
    host=api.openai.com path=/v1/chat/completions
    auth="Authorization: Bearer sk-proj-TESTKEYopenaiSECRET0123456789abcdefABCDEF"
    body='{"model":"gpt-4o-mini","stream":'$stream$usage',"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"'$prompt'"}]}'
else
    host=api.anthropic.com path=/v1/messages
    auth="x-api-key: sk-ant-api03-TESTKEYanthropicSECRET0123456789abcdef-AA"
    body='{"model":"claude-haiku-4-5","max_tokens":256,"stream":'$stream',"messages":[{"role":"user","content":"'$prompt'"}]}'
fi
exec curl -sS --http1.1 --compressed --cacert "$E2E_CA" --max-time 60 \
    --resolve "$host:$E2E_PORT:127.0.0.1" \
    -H "$auth" -H "anthropic-version: 2023-06-01" -H "Content-Type: application/json" \
    -H "X-E2E-Pid: $$" --data-binary "$body" "https://$host:$E2E_PORT$path"
