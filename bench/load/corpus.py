"""Files for the load test: real CUAD contracts as text, PDF, DOCX, e-mail and zip.

Two uses:

* ``seed.py`` uploads whole contracts (mostly ``.txt``, a few rendered as PDF and DOCX, an e-mail
  with an attachment, a small zip) and renders *templates* for the upload stream into the run
  directory (``templates/``): PDFs and DOCX files whose first line holds a placeholder token.
* ``locustfile.py`` turns a template into a new, unique file for every upload by replacing the
  token (same length, so a PDF's cross-reference offsets stay valid and no re-rendering is
  needed), then wraps it as an e-mail attachment or in a zip now and then. Unique content matters:
  identical content in a matter is stored once and would not be processed again.

Only the standard library is imported at module level (the locustfile runs under gevent); fpdf2
and python-docx are imported inside the renderers, which only the seeder calls.
"""

from __future__ import annotations

import io
import json
import random
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONTRACTS = ROOT.parent / "shared" / "data" / "cuad" / "contracts"

# Replaced in every upload by a unique id of the same length (see ``personalize``).
TOKEN = b"LDREF000000000000000000000000000"  # 32 bytes: "LDREF" + 27 characters
TOKEN_LEN = len(TOKEN)
MIME = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "eml": "message/rfc822",
    "zip": "application/zip",
    "txt": "text/plain",
}

_LATIN1_MAP: dict[int, str] = {
    **{ord(c): "'" for c in "\u2018\u2019\u201a\u201b\u2032\u02bc"},
    **{ord(c): '"' for c in "\u201c\u201d\u201e\u201f\u2033\u02ba"},
    **{ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
    **{ord(c): "*" for c in "\u2022\u25cf\u25cb\u25aa\u25a0\u25e6"},
    **{ord(c): " " for c in "\u00a0\u2002\u2003\u2009\u202f\t"},
    **{ord(c): "" for c in "\u200b\u200c\u200d\ufeff\r"},
    ord("\u2026"): "...",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Contract:
    name: str  # file stem
    text: str

    @property
    def short_name(self) -> str:
        """A file-name-friendly short title: 'ENDORSEMENT AGREEMENT' -> 'Endorsement-Agreement'."""
        tail = self.name.rsplit("-", 1)[-1] if "-" in self.name else self.name
        words = re.findall(r"[A-Za-z0-9]+", tail)[:5] or ["Contract"]
        return "-".join(w.capitalize() for w in words)


def load_contracts(folder: Path = DEFAULT_CONTRACTS, max_bytes: int = 80_000) -> list[Contract]:
    """The plain-text contracts of ``folder`` (sorted by name), skipping very long ones."""
    found: list[Contract] = []
    for path in sorted(folder.glob("*.txt")):
        if path.stat().st_size > max_bytes or path.stat().st_size < 2_000:
            continue
        found.append(Contract(path.stem, path.read_bytes().decode("utf-8", errors="replace")))
    if not found:
        raise SystemExit(f"no contracts (.txt, 2 kB to {max_bytes} bytes) in {folder}")
    return found


def latin1_safe(text: str) -> str:
    text = _CONTROL.sub("", text.translate(_LATIN1_MAP))
    return text.encode("latin-1", errors="replace").decode("latin-1")


def render_pdf(text: str, *, compress: bool = True) -> bytes:
    """Letter pages, Helvetica 11 pt. Uncompressed for templates, so the token can be replaced."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="pt", format="Letter")
    pdf.set_compression(compress)
    pdf.set_creation_date(datetime(2024, 1, 1, tzinfo=UTC))
    pdf.set_margins(72, 72, 72)
    pdf.set_auto_page_break(True, margin=72)
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 13.2, latin1_safe(text), align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def render_docx(text: str) -> bytes:
    from docx import Document

    doc = Document()
    for line in _XML_UNSAFE.sub("", text.replace("\r\n", "\n")).split("\n"):
        if line.strip():
            doc.add_paragraph(line.strip())
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def excerpt(contract: Contract, chars: int) -> str:
    """The contract's first ``chars`` characters, cut at a paragraph end where possible."""
    text = contract.text.strip()
    if len(text) <= chars:
        return text
    cut = text.rfind("\n", chars // 2, chars)
    return text[: cut if cut > 0 else chars]


# ---- upload templates ---------------------------------------------------------------------------


def write_templates(folder: Path, contracts: list[Contract], count: int, chars: int, seed: int = 7) -> int:
    """Render ``count`` PDF and ``count`` DOCX templates of contract excerpts into ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = rng.sample(contracts, min(count, len(contracts)))
    index = []
    for i, contract in enumerate(chosen):
        header = f"Reference {TOKEN.decode()}\n"
        body = header + excerpt(contract, chars)
        for fmt in ("pdf", "docx"):
            data = render_pdf(body, compress=False) if fmt == "pdf" else render_docx(body)
            if fmt == "pdf" and data.count(TOKEN) != 1:
                continue  # the token was split across lines or escaped: skip this one
            name = f"{i:03d}.{fmt}"
            (folder / name).write_bytes(data)
            index.append({"file": name, "format": fmt, "title": contract.short_name})
    (folder / "index.json").write_text(json.dumps(index, indent=1))
    return len(index)


@dataclass(frozen=True)
class Template:
    format: str  # pdf or docx
    title: str
    data: bytes


def load_templates(folder: Path) -> list[Template]:
    index = json.loads((folder / "index.json").read_text())
    return [Template(i["format"], i["title"], (folder / i["file"]).read_bytes()) for i in index]


def unique_token() -> bytes:
    value = ("LD" + uuid.uuid4().hex + "000")[:TOKEN_LEN]
    return value.upper().encode()


def personalize(template: Template, token: bytes) -> bytes:
    """The template with its token replaced: a new file with new content."""
    if template.format == "pdf":
        return template.data.replace(TOKEN, token, 1)
    return _rezip(template.data, {"word/document.xml": lambda b: b.replace(TOKEN, token, 1)})


def _rezip(data: bytes, edits: dict[str, object]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            edit = edits.get(info.filename)
            if callable(edit):
                content = edit(content)
            dst.writestr(info, content)
    return out.getvalue()


def email_with_attachment(
    sender: str, subject: str, body: str, attachment: bytes, filename: str, mime: str
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "records@firm.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@firm.example>"
    msg.set_content(body)
    maintype, subtype = mime.split("/", 1)
    msg.add_attachment(attachment, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


def small_zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return out.getvalue()


def broken_pdf(token: bytes) -> bytes:
    """A file that starts like a PDF and is not one: it must end ``failed`` with a reason."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog " + token + b"\n" + bytes(range(256)) * 8
