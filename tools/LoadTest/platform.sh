#!/usr/bin/env bash
# Starts the platform the way the capacity runs in docs/PERFORMANCE.md measure it: redis-server (AOF off,
# a temporary directory) and the four services from their Release builds as separate processes on the
# default ports, with chat limits raised so the run measures capacity rather than the limits.
#   tools/LoadTest/platform.sh start [extra env assignments...]   e.g. Chat__Simulated__Latency=00:00:00.800
#   tools/LoadTest/platform.sh stop
# It prints the services' API key for the run (also in /tmp/platform-loadtest/platform-key): export it as
# PLATFORM_API_KEY before running the load tool's ratelimit, cache and queue scenarios.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
state=/tmp/platform-loadtest
mkdir -p "$state"

if [[ "${1:-}" == "stop" ]]; then
  for file in "$state"/*.pid; do
    [[ -e "$file" ]] || continue
    pid=$(cat "$file"); rm -f "$file"
    kill "$pid" 2>/dev/null || continue
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done # graceful shutdown takes a moment
  done
  exit 0
fi
[[ "${1:-}" == "start" ]] || { echo "usage: $0 start [KEY=value...] | stop" >&2; exit 2; }
shift

# No build servers: they would outlive this script holding its output open.
dotnet build -c Release "$root/Platform.sln" -v q -nologo --disable-build-servers >/dev/null
redis-server --port 6390 --save '' --appendonly no --dir "$state" >"$state/redis.log" 2>&1 &
echo $! >"$state/redis.pid"

# The services' one credential for this run (every role); the load tool reads it from $PLATFORM_API_KEY.
key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$key" >"$state/platform-key"
auth=(Auth__Credentials__loadtest__Key="$key" Auth__Credentials__loadtest__Roles__0=user
      Auth__Credentials__loadtest__Roles__1=admin Auth__Credentials__loadtest__Roles__2=worker Platform__ApiKey="$key")

start() { # name, then KEY=value settings
  local name=$1; shift
  # exec: the recorded pid is the service's own, so stop reaches it.
  (cd "$root/services/$name/bin/Release/net10.0" && exec env ConnectionStrings__redis=127.0.0.1:6390 ASPNETCORE_ENVIRONMENT=Production \
     Logging__LogLevel__Default=Warning "${auth[@]}" "$@" ./"$name" >"$state/$name.log" 2>&1) &
  echo $! >"$state/$name.pid"
}
limits=(RateLimit__Policies__chat__Limit=1000000000 RateLimit__Policies__chat-tokens__Limit=4000000000
        RateLimit__Policies__chat-tokens__Burst=4000000000 RateLimit__Policies__audio__Limit=1000000000
        RateLimit__Policies__audio__Burst=1000000000 RateLimit__Policies__audio-inflight__Limit=1000000)
start RateLimit Kestrel__Endpoints__http__Url=http://127.0.0.1:5101 Kestrel__Endpoints__json__Url=http://127.0.0.1:5111 "${limits[@]}" "$@"
start Cache Kestrel__Endpoints__http__Url=http://127.0.0.1:5102 Kestrel__Endpoints__json__Url=http://127.0.0.1:5112 "$@"
start AudioQueue Kestrel__Endpoints__http__Url=http://127.0.0.1:5103 Kestrel__Endpoints__json__Url=http://127.0.0.1:5113 AudioQueue__MaxDepth=1000000 "$@"
start ChatApi services__ratelimit__http__0=http://127.0.0.1:5101 services__cache__http__0=http://127.0.0.1:5102 \
  services__audioqueue__http__0=http://127.0.0.1:5103 "$@"
# Ready, as a readiness probe sees it: /health answers 200 once each service has warmed up its hot paths
# (WarmUp) and opened its connections; a load balancer would send nothing before.
began=$(date +%s%N)
for port in 5101 5102 5103; do
  until [[ $(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health") == 200 ]]; do sleep 0.2; done
done
until [[ $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5080/health) == 200 ]]; do sleep 0.2; done
echo "ready $(( ($(date +%s%N) - began) / 1000000 )) ms after start (warm-up included)"
echo "export PLATFORM_API_KEY=$key   # the services' key, for the load tool"
echo "platform up: ChatApi http://localhost:5080 (gRPC 5081), RateLimit 5101, Cache 5102, AudioQueue 5103, Redis 127.0.0.1:6390"
