"""The simulator's errors: one root, each also the builtin it resembles.

SimulatorError
 ├── UnknownMachineError (KeyError)     a machine id the room does not have
 ├── UnknownProgramError (ValueError)  a program name the machine does not offer
 └── BadRoomLayoutError (ValueError)   duplicate ids, pins or channels; unknown kinds
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Root of every error the simulator raises on purpose."""


class UnknownMachineError(SimulatorError, KeyError):
    """A machine id that is not in the room."""


class UnknownProgramError(SimulatorError, ValueError):
    """A program name the machine's control panel does not offer."""


class BadRoomLayoutError(SimulatorError, ValueError):
    """A room description that no real wiring could produce."""
