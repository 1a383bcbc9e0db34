"""The product's logic, with no Slack in it: grammar, onboarding service, steps."""
