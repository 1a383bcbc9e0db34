"""Slack: the Bolt app, its HTTP and Socket Mode doors, delivery within Slack's limits, who is
asking (identity), and features/, one module per feature registering its listeners."""
