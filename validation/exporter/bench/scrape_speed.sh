#!/usr/bin/env bash
# awsdt-exporter's scrape time and memory on a fake sysfs of 32 EFA devices (35 counters each, the most a p5en
# has is 16 devices), against node_exporter's infiniband collector (Debian's prometheus-node-exporter) reading the
# same tree. Prints the median scrape time of each over N scrapes (curl's total time, connection included), their
# ratio, and awsdt-exporter's resident memory after the scrapes. Targets: under 20 ms and under 20 MB.
# Usage: validation/exporter/bench/scrape_speed.sh BIN_DIR [SCRAPES=200]
set -euo pipefail
bin=$1
scrapes=${2:-200}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

counters="alloc_pd_err alloc_ucontext_err cmds_err completed_cmds create_ah_err create_cq_err create_qp_err
impaired_remote_conn_events keep_alive_rcvd lifespan mmap_err no_completion_cmds rdma_read_bytes rdma_read_resp_bytes
rdma_read_wr_err rdma_read_wrs rdma_write_bytes rdma_write_recv_bytes rdma_write_wr_err rdma_write_wrs recv_bytes
recv_wrs reg_mr_err retrans_bytes retrans_pkts retrans_timeout_events rx_bytes rx_drops rx_pkts send_bytes send_wrs
submitted_cmds tx_bytes tx_pkts unresponsive_remote_events"
ib_counters="excessive_buffer_overrun_errors link_downed link_error_recovery local_link_integrity_errors
multicast_rcv_packets multicast_xmit_packets port_rcv_constraint_errors port_rcv_data port_rcv_discards
port_rcv_errors port_rcv_packets port_rcv_remote_physical_errors port_rcv_switch_relay_errors
port_xmit_constraint_errors port_xmit_data port_xmit_discards port_xmit_packets port_xmit_wait symbol_error
unicast_rcv_packets unicast_xmit_packets VL15_dropped"
for d in $(seq 0 31); do
  port=$tmp/sys/class/infiniband/rdmap${d}s0/ports/1
  mkdir -p "$port/hw_counters" "$port/counters"
  for c in $counters; do echo $((d * 1000 + RANDOM)) >"$port/hw_counters/$c"; done
  # node_exporter's infiniband collector reads the standard port counters (and fails a port without them).
  for c in $ib_counters; do echo $((d * 1000 + RANDOM)) >"$port/counters/$c"; done
  for f in board_id fw_ver hca_type; do echo "efa-$f" >"$port/../../$f"; done  # node_exporter needs them
  echo "Ethernet" >"$port/link_layer"
  echo "4: ACTIVE" >"$port/state"
  echo "5: LinkUp" >"$port/phys_state"
  echo "100 Gb/sec (4X EDR)" >"$port/rate"
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # utime + stime of a process, in clock ticks
median_ms() {  # median_ms URL: median over $scrapes of curl's total time, in ms
  for _ in $(seq "$scrapes"); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done |
    sort -n | awk '{ t[NR] = $1 } END { printf "%.2f", 1000 * t[int((NR + 1) / 2)] }'
}
wait_up() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "$1 never answered" >&2; exit 1; }

ours_port=$(free_port)
"$bin/awsdt-exporter" --listen "127.0.0.1:$ours_port" --sysfs "$tmp/sys" --collectors efa >"$tmp/ours.log" 2>&1 &
pids+=($!)
ours_pid=$!
wait_up "http://127.0.0.1:$ours_port/metrics"
samples=$(curl -s "http://127.0.0.1:$ours_port/metrics" | grep -c '^node_amazonefa_')
ticks0=$(cpu_ticks "$ours_pid")
ours=$(median_ms "http://127.0.0.1:$ours_port/metrics")
ticks1=$(cpu_ticks "$ours_pid")
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$ours_pid/status")
echo "awsdt-exporter: 32 devices, $samples node_amazonefa samples, median scrape $ours ms over $scrapes (target < 20 ms)"
# CPU time per scrape does not depend on how busy the machine is (wall time does).
awk -v t=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" -v n="$scrapes" \
  'BEGIN { printf "awsdt-exporter: CPU time per scrape %.2f ms (load average %s)\n", 1000 * t / hz / n, "'"$(cut -d' ' -f1 /proc/loadavg)"'" }'
echo "awsdt-exporter: resident memory after the scrapes $((rss_kb / 1024)) MB ($rss_kb kB; target < 20 MB)"

if command -v prometheus-node-exporter >/dev/null; then
  ref_port=$(free_port)
  prometheus-node-exporter --collector.disable-defaults --collector.infiniband --path.sysfs="$tmp/sys" \
    --web.listen-address="127.0.0.1:$ref_port" >"$tmp/ref.log" 2>&1 &
  pids+=($!)
  wait_up "http://127.0.0.1:$ref_port/metrics"
  ref_samples=$(curl -s "http://127.0.0.1:$ref_port/metrics" | grep -c '^node_infiniband_' || true)
  ref=$(median_ms "http://127.0.0.1:$ref_port/metrics")
  echo "node_exporter (infiniband collector, same tree): $ref_samples node_infiniband samples, median scrape $ref ms"
  awk -v a="$ours" -v b="$ref" 'BEGIN { printf "ratio awsdt-exporter / node_exporter: %.2f\n", a / b }'
else
  echo "node_exporter: not installed (apt-get install prometheus-node-exporter) - no reference"
fi
