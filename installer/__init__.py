"""install.py's implementation: host discovery, vendoring with pip, layout + manifest, kritarc.

Standard library only and Python 3.8 compatible (annotations are strings via __future__), since
users run install.py with whatever python3 they have.
"""
