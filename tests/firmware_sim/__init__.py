"""Tests of the simulated laundry room hardware."""
