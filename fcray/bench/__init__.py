"""Load testing of the served model (what users feel: TTFT, inter-token latency, end-to-end latency,
throughput) over a matrix of concurrency x prompt length."""
