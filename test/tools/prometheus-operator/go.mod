// Pins the Prometheus Operator module whose CRDs (example/prometheus-operator-crd/)
// the monitoring test installs in the test control plane, to dry-run the chart's
// PrometheusRule, PodMonitors and ServiceMonitor against their real schemas.
// The test of monitoring on the real node also builds and runs its operator
// (cmd/operator, test/harness/build-go-tool.sh).
module acp.dev/test/tools/prometheus-operator

go 1.26.0

require github.com/prometheus-operator/prometheus-operator v0.90.1
