"""Abuse protection at the edge: rate limits, browser security headers, per-organization quotas.

ratelimit.py   RateLimiter (limits + Redis/memory, fail open), group_for(), RateLimited (429)
headers.py     SecurityHeaders ASGI middleware (CSP, HSTS in production, ...)
quotas.py      check_storage_quota (413), check_daily_documents (429)
"""
