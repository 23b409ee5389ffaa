"""A local stand-in for the OpenAI Images API, for tests only.

It speaks the real wire protocol (JSON, multipart, SSE, error bodies, ``x-request-id``) on
127.0.0.1 so the real ``openai`` SDK can be driven over loopback, records what it received, and
injects faults on demand. See ``server.StandIn`` for the in-process API and ``__main__`` for the
subprocess form used by the Krita and GIMP suites.
"""

from .faults import FAULT_KINDS, Fault
from .server import StandIn

__all__ = ["FAULT_KINDS", "Fault", "StandIn"]
