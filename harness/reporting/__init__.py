"""Reports: one aggregation of the run's records (``summary``) rendered as summary.json,
JUnit XML, Markdown and a self-contained HTML page; the CI gate and its baselines."""
