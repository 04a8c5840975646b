"""The performance benchmark (`python -m perf`, docs/performance.md), outside the library:
`gan-train` never imports it. perf/cases/ holds one module per case; perf/synthetic.py writes
run directories with chosen numbers through the real writers (for the collect case and tests)."""
