"""Recipient validation from the customer's directory: the `recipients.directory` check."""

from commands.checks.directory.stages import (
    DirectoryReport,
    DirectorySettings,
    Recipient,
    check_directory,
)

__all__ = ["DirectoryReport", "DirectorySettings", "Recipient", "check_directory"]
