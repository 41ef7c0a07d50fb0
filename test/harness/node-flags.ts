// The node flags the chart runs the operator and the webhook with, shared by
// the test harness and the benchmarks so they run the processes as shipped
// (the chart test keeps the chart's commands equal to these). The heap is
// capped at 60% of the container's memory limit: the heap limit V8 derives
// from a container limit is above that limit (259 MB in a 96Mi cgroup,
// measured), so without the cap the heap grows past the limit before V8
// collects hard and the container is OOM-killed (measured for both).
export const OPERATOR_NODE_FLAGS = ['--max-old-space-size-percentage=60'];
export const WEBHOOK_NODE_FLAGS = ['--max-old-space-size-percentage=60'];
