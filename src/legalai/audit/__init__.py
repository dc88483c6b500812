"""Append-only, hash-chained audit events: ``record`` in the caller's transaction (pending), the
chainer links them (``chain_pending`` on demand), ``verify_chain`` later."""

from legalai.audit.chainer import chain_pending
from legalai.audit.service import ACTIONS, AuditContext, VerifyReport, record, verify_chain

__all__ = ["ACTIONS", "AuditContext", "VerifyReport", "chain_pending", "record", "verify_chain"]
