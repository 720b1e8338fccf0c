"""Benchmarks for mastra_store: the reference workloads W1-W8 and C1 (issue #6). See bench/README.md."""
