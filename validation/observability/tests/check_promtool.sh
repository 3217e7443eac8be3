#!/usr/bin/env bash
# The shipped Prometheus files as Prometheus reads them: promtool check config (prometheus.yml with its rule
# file), check rules (alerts.yml) and test rules (alerts_test.yml: every alert fires on its input and not on
# healthy series). Then a broken copy of each must fail, so that a check that passes everything shows.
# Usage: check_promtool.sh OBSERVABILITY_DIR. Exit 77 (skipped) without promtool (tools/setup.sh installs it).
set -euo pipefail
dir=$(cd "$1" && pwd)
command -v promtool >/dev/null || { echo "check_promtool: promtool not installed (Debian: prometheus)"; exit 77; }
promtool check config "$dir/prometheus.yml"
promtool check rules "$dir/alerts.yml"
(cd "$dir/tests" && promtool test rules alerts_test.yml)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$dir/." "$tmp/"
sed -i 's/increase(awsdt_gpu_xid_errors\[10m\]) > 0/increase(awsdt_gpu_xid_errors[10m] > 0/' "$tmp/alerts.yml"
if promtool check rules "$tmp/alerts.yml" >/dev/null 2>&1; then
  echo "check_promtool: a rule with unbalanced parentheses passed promtool check rules"; exit 1
fi
cp "$dir/alerts.yml" "$tmp/alerts.yml"
sed -i 's/> 0.01/> 0.9/' "$tmp/alerts.yml"  # a retransmit threshold nothing reaches: the test must notice
if (cd "$tmp/tests" && promtool test rules alerts_test.yml >/dev/null 2>&1); then
  echo "check_promtool: alerts_test.yml passed with EfaRetransmitRateHigh unable to fire"; exit 1
fi
sed -i 's/^  scrape_interval: 15s/  scrape_interval: fifteen/' "$tmp/prometheus.yml"
if promtool check config "$tmp/prometheus.yml" >/dev/null 2>&1; then
  echo "check_promtool: a config with a bad scrape_interval passed promtool check config"; exit 1
fi
echo "check_promtool: prometheus.yml, alerts.yml and alerts_test.yml pass; broken copies fail"
