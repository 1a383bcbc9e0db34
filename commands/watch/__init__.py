"""The bot's own watch on an onboarding's DNS: while the inbound step is in progress it looks
for the MX switch (cut-over mode); once the step is done it looks, more slowly, for a change that
would bypass the gateway (regression mode). See schedule.py (when), observe.py (what is asked),
conclude.py (what a run decides) and service.py (runs under a claim, as reminders are sent)."""
