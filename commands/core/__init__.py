"""What every feature shares: who is asking (context), which onboarding they may act on
(access), the steps and how they move (steps), the onboarding as shown (views), the audit trail
(audit), roles and message text. Features import from here; core imports no feature."""
