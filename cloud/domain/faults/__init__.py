"""Fault reports from students and from the edge; machines out of service and back."""
