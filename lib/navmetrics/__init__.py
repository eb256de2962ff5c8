"""NavMetrics."""
