#!/bin/sh
# One-shot (temporal-namespace in docker-compose.yml), run with the temporal
# CLI of temporalio/admin-tools: waits until the Temporal frontend is healthy,
# then registers NAMESPACE unless it exists. Running it again is a no-op, so it
# runs on every `docker compose up`.
#
#   TEMPORAL_ADDRESS     frontend host:port (read by the CLI too)
#   NAMESPACE            namespace to create
#   NAMESPACE_RETENTION  how long closed workflow histories are kept (e.g. 30d)
set -eu

addr="${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is not set}"
ns="${NAMESPACE:?NAMESPACE is not set}"
retention="${NAMESPACE_RETENTION:-30d}"
attempts=60 # x 2 s

i=1
until temporal operator cluster health --address "$addr" >/dev/null 2>&1; do
	if [ "$i" -ge "$attempts" ]; then
		echo "Temporal at $addr is still not healthy; giving up" >&2
		temporal operator cluster health --address "$addr" >&2 || true
		exit 1
	fi
	i=$((i + 1))
	sleep 2
done
echo "Temporal at $addr is healthy"

if temporal operator namespace describe --address "$addr" --namespace "$ns" >/dev/null 2>&1; then
	echo "namespace $ns exists"
	exit 0
fi

i=1
while :; do
	if out=$(temporal operator namespace create --address "$addr" --namespace "$ns" --retention "$retention" 2>&1); then
		echo "namespace $ns created (retention $retention)"
		break
	fi
	case "$out" in
	*[Aa]lready*[Ee]xist*)
		# Another run created it meanwhile: that is the state we want.
		echo "namespace $ns exists"
		exit 0
		;;
	esac
	if [ "$i" -ge 10 ]; then
		echo "creating namespace $ns failed: $out" >&2
		exit 1
	fi
	i=$((i + 1))
	sleep 3
done

# `describe` reads the database; the services pick a new namespace up on
# their next namespace-cache refresh (system.namespaceCacheRefreshInterval,
# 2 s by default in 1.32). Wait a few of those so that the next one-shot
# (refundflow temporal setup) and the first workflows don't race it.
i=1
until temporal operator namespace describe --address "$addr" --namespace "$ns" >/dev/null 2>&1; do
	if [ "$i" -ge 30 ]; then
		echo "namespace $ns was created but cannot be described" >&2
		exit 1
	fi
	i=$((i + 1))
	sleep 1
done
sleep 6
echo "namespace $ns ready"
