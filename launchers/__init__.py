"""What starts the system: the ``kywash`` command, the demo, the embedded broker and provisioning.

They sit above the edge, the cloud and the simulator and wire them together, so they live
outside the shared kernel (``kywash``), which each of those parts imports.
"""
