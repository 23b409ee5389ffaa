"""Batch jobs: the same edit on many files, online or through OpenAI's Batch API.

- ``jobfile``: JSONL / CSV / ``--images`` shorthand → validated ``BatchJob``s (line numbers kept)
- ``state``: the append-only journal in the output folder that makes runs resumable
- ``apply``: one job's files (read image and selection, prepare, write outputs)
- ``online``: K workers through ``core.jobs.run_job``, one shared 429 back-off, budget
- ``batchapi``: the Batch API path (request JSONL, Files API upload, status, fetch)
- ``rows``: per-job rows, totals and the exit code

Everything a single job does (planning, upload files, retries, history) is ``core.jobs``'
and ``core.client``'s; this package only schedules, records and resumes. File reading and
output encoding are the CLI's (``core.cli.options``, ``core.cli.jobs``), so a batch line and
``python -m core edit`` with the same options write the same file.
"""
