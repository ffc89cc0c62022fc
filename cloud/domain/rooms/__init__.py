"""Rooms as a whole: staff audit their edges and applied events; anyone reads their busy hours."""
