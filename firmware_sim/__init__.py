"""Simulated laundry room hardware: machines, door switches, current board, students.

It meets the edge only through real interfaces (gpiozero mock pins, a serial port opened
by pyserial URL) and never imports ``edge``. Start with ``firmware_sim.room``.
"""

from firmware_sim.board import BoardEmulator
from firmware_sim.doors import SimDoor
from firmware_sim.room import GroundTruth, RoomSimulator, SimMachineSpec, demo_machines

__all__ = ["BoardEmulator", "GroundTruth", "RoomSimulator", "SimDoor", "SimMachineSpec", "demo_machines"]
