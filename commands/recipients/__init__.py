"""Recipient validation: the customer's list of valid recipients, from a spreadsheet (here) or
their directory (commands/directory)."""
