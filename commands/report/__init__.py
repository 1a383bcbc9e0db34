"""The onboarding report for the customer's change board (`/connect report`)."""
