#!/usr/bin/env bash
# scaleout_netns.sh - the WAN of bench/scaleout_wan.mjs: a network namespace
# for the database server, reached from this host over K veth pairs, each
# rate-limited on the server side (the direction the rows travel).
#
#   bench/scaleout_netns.sh up NS K RATE    e.g. up bfwan 4 40mbit
#   bench/scaleout_netns.sh down NS K
#
# Pair i (0-based): host end ${NS}h$i = 10.77.$i.2/24, server end ${NS}s$i =
# 10.77.$i.1/24 inside NS; a client that connects to 10.77.$i.1 goes over pair
# i. Each pair's server end egress is `tbf rate RATE`, so every shard process
# (one connection each, over its own pair) gets RATE, as a flow over a long
# path does, and the K flows do not share a limit: the 2 local cores, not the
# "network", stay the only shared resource. (The per-flow `fq maxrate` qdisc
# is not in every kernel; this VM's has tbf/htb and no fq, so one shaped pair
# per flow gives the same per-connection limit.)
set -euo pipefail
cmd=${1:-} ns=${2:-bfwan} k=${3:-4} rate=${4:-40mbit}
case "$cmd" in
up)
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  for ((i = 0; i < k; i++)); do
    ip link add "${ns}h$i" type veth peer name "${ns}s$i"
    ip link set "${ns}s$i" netns "$ns"
    ip addr add "10.77.$i.2/24" dev "${ns}h$i"
    ip link set "${ns}h$i" up
    ip -n "$ns" addr add "10.77.$i.1/24" dev "${ns}s$i"
    ip -n "$ns" link set "${ns}s$i" up
    # burst above the largest (GSO) packet a veth hands over, else tbf drops it
    ip netns exec "$ns" tc qdisc add dev "${ns}s$i" root tbf rate "$rate" burst 256kb latency 100ms
  done
  ;;
down)
  for ((i = 0; i < k; i++)); do ip link del "${ns}h$i" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  ;;
*)
  echo "usage: $0 up NS K RATE | down NS K" >&2
  exit 2
  ;;
esac
