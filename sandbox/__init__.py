"""Execution of untrusted completions against a problem's tests, contained and fast.

A long-lived fork-server worker per sandbox (bwrap or docker backend), harnesses per benchmark,
a dedup cache, and the Ray-facing executor that turns sample shards into verdict shards.
"""
