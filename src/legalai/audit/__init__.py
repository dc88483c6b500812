"""Append-only, hash-chained audit events: ``record`` in the caller's transaction, ``verify_chain`` later."""

from legalai.audit.service import ACTIONS, AuditContext, VerifyReport, record, verify_chain

__all__ = ["ACTIONS", "AuditContext", "VerifyReport", "record", "verify_chain"]
