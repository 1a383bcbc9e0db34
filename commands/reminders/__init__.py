"""Reminders: when they fall due (when.py), which ones the process sets by itself (rules.py),
and what people do with them (service.py)."""
