"""Machines and rooms as students see them: the REST view of what the sensors report."""
