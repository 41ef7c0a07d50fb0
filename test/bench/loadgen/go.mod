module acp.dev/bench/loadgen

go 1.24
