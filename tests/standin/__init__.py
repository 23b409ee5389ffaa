"""A local stand-in for the OpenAI Images API, for tests only.

It speaks the real wire protocol (JSON, multipart, SSE, error bodies, ``x-request-id``) on
127.0.0.1 so the real ``openai`` SDK can be driven over loopback, records what it received, and
injects faults on demand.

In process (pytest: the ``standin`` fixture in tests/conftest.py does this and resets per test)::

    api = StandIn(); base_url = api.start()      # http://127.0.0.1:PORT/v1
    api.root_url                                 # http://127.0.0.1:PORT  (Azure azure_endpoint)
    api.requests; api.image_requests(); api.stats(); api.reset()
    api.queue_faults([{"kind": "rate_limit", "retry_after": 1}]); api.event_delay = 0.5
    api.stop()

As a process (Krita/GIMP suites; run from the project root, needs Pillow)::

    python -m tests.standin --port 0 --ready-file FILE [--event-delay SECONDS]

FILE receives the base URL once the server listens; SIGTERM/SIGINT stop it.

Control endpoints (no auth): ``GET /_standin/requests``, ``POST /_standin/reset``,
``POST /_standin/faults`` (JSON list, one consumed per image request), ``GET /_standin/faults``,
``GET /_standin/stats`` (image_requests, generated = reached the model (billable), completed,
images_delivered).

Faults (``kind`` + options): rate_limit (retry_after=1), insufficient_quota, server_error
(status=500), slow (seconds=5, then answers), stream_cut (after=1 events; non-streaming: half the
body), malformed (200 with broken JSON), moderation (stage=input, categories=[violence]),
stream_error (code=moderation_blocked, stage=output; an ``error`` event after ``after`` events),
auth (401), forbidden (403), delay (seconds=0.3 between stream events).
Prompt tokens: ``[[fault:KIND]]`` / ``[[fault:KIND:ARG]]`` (ARG = the main option, e.g.
``[[fault:server_error:503]]``, ``[[fault:moderation:output]]``) apply to every request with that
prompt; ``[[delay:0.5]]`` slows a stream. The key ``sk-invalid`` is always refused (401).

Images: generations = flat colour + centred block from hash(prompt, index) (``imaging.
generation_colors``); edits = the first image resized to ``size`` (auto keeps it), inverted and
tinted where the mask is transparent or everywhere without a mask (``imaging.edited_pixel``).
"""

from .faults import FAULT_KINDS, Fault
from .server import StandIn

__all__ = ["FAULT_KINDS", "Fault", "StandIn"]
