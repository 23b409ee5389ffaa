"""The outer side of the real-Krita tests: ``inner/`` runs inside Krita, never in this pytest."""

collect_ignore = ["inner", "harness"]
