"""The gateway's hosting regions (Mimecast's data centres, "grids"), by the short name people
type. The same keys as the shipped profile (commands/profiles/mimecast.yml); a test holds them
together. With CONNECT_GATEWAY_PROFILE, the regions are that profile's (commands/services.py)."""

from __future__ import annotations

REGIONS: dict[str, str] = {
    "eu": "Europe (excluding Germany)",
    "de": "Germany",
    "us": "United States (A grid)",
    "usb": "United States (B grid)",
    "ca": "Canada",
    "za": "South Africa",
    "au": "Australia",
    "je": "Jersey (offshore)",
    "uspcom": "United States public sector",
}
