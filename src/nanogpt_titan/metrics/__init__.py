"""A run's records: the losses of the step in progress (`step_loss`), `metrics.jsonl`
(`records`), and what a run says when it ends (`summary`)."""
