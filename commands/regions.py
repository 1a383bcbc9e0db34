"""The gateway's hosting regions (Mimecast's data centres), by the short name people type."""

from __future__ import annotations

REGIONS: dict[str, str] = {
    "eu": "Europe (UK)",
    "de": "Germany",
    "us": "United States",
    "usb": "United States (US B)",
    "ca": "Canada",
    "za": "South Africa",
    "au": "Australia",
}
