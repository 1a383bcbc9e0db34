"""The onboarding report as a file: a self-contained HTML page (for the channel, and to print
for the change board) and the same content as Markdown (for the server's CLI)."""

from bot.render.report.documents import FORMATS, render_report

__all__ = ["FORMATS", "render_report"]
