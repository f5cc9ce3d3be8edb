"""A run's records: the losses of the step in progress, `metrics.jsonl`, and the run summary."""
