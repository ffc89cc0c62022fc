"""Sensor drivers: door switches on GPIO and the current board on a serial port."""
