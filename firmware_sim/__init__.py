"""Simulated laundry room hardware: machines, door switches, current board, students."""
