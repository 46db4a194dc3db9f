"""Datasets from traces: SWE-bench instances, predictions, ATIF trajectories, HF folders."""
