"""The GIMP 3 adapter: libgimp on one side, ``core`` on the other.

Modules that touch libgimp (``plugin``, ``canvas``, ``runner``, ``dialog``) must only be called
on GIMP's main thread; ``arguments``, ``bootstrap`` and ``logs`` are plain Python.
"""
