"""The app's Home tab: every onboarding at a glance for the engineers (overview.py: what each
row says and the order of urgency; service.py: who may see it, filters, pages, and who has it
open so that a change republishes it)."""
