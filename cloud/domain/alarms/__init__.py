"""Staff alarms: incidents staff must hear about, each told once when it opens and once when it clears.

Three kinds: a room's edge silent for longer than ``staff_alarm_silent_minutes``
(``silence.py``, opened by the timers, cleared when the edge is heard again), a machine
whose sensors report a fault, and a machine taken out of service automatically
(``machine_incidents.py``, decided inside the transaction of the change that causes them).
The rules are pure (``rules.py``); ``events.py`` is what happens when one opens or clears.
"""
