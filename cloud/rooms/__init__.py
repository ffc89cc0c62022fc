"""Rooms as staff audit them: the edge events the cloud applied, with sequence gaps."""
