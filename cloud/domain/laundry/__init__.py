"""Policy over the sensors: claims, waitlists with holds, reminders — the rules students live by."""
