"""The activity log: every claim, cycle, waitlist change, fault, service change and login."""
