"""Slack transport and process entry points: Bolt app, rendering, runners, settings, CLI."""
