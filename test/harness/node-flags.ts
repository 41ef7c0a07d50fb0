// The node flags the chart runs the operator and the webhook with, shared by
// the test harness and the benchmarks so they run the processes as shipped
// (the chart test keeps the chart's commands equal to these). The heap is
// capped at 60% of the container's memory limit: the heap limit V8 derives
// from a container limit is above that limit (259 MB in a 96Mi cgroup,
// measured), so without the cap the heap could grow past the limit before
// V8 collects hard. With it, 1,000 identities or policies run in the
// operator's 256Mi and the webhook's apiserver benchmark in 128Mi with no
// OOM kill (test/bench). The webhook's young generation is fixed at 8 MB
// semi-spaces: in a 128Mi container V8 picks ~1 MB ones, and under
// admission load it then scavenged every 3 ms and spent 18% of its CPU in
// GC (measured: 1,680 scavenges and 71 full collections in 35,000
// admissions; 230 and 5 with the flag).
export const OPERATOR_NODE_FLAGS = ['--max-old-space-size-percentage=60'];
export const WEBHOOK_NODE_FLAGS = [
  '--max-old-space-size-percentage=60',
  '--max-semi-space-size=8',
  '--min-semi-space-size=8',
];
