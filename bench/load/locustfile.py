"""A firm at work: each virtual user is one person of the seeded firm (``seed.py``).

    uv run locust -f bench/load/locustfile.py --headless -u 30 -r 5 -t 60s \\
        --host http://127.0.0.1:8765 --credentials bench/out/load-x/credentials.json

Every virtual user takes the next person of ``credentials.json`` (never two users on one
credential; more users than people is refused), sends from that person's own loopback address,
and signs in with their password once (cookie + CSRF token, like the web UI) or uses their own
API key. Then, with a think time between actions (uniform 0.5-1.5 x ``--think``), it does one of:

    list_matters      GET  /api/v1/matters
    list_documents    GET  /api/v1/matters/{id}/documents
    search            GET  /api/v1/matters/{id}/search       words, "phrases", prefix*, -exclude, OR
    open_document     GET  /api/v1/documents/{id}
    analysis          GET  /api/v1/documents/{id}/analysis
    page_text         GET  /api/v1/documents/{id}/pages/{n}
    ask               POST /api/v1/matters/{id}/ask          offline (extractive) answers
    download          GET  /api/v1/documents/{id}/original
    upload            POST /api/v1/matters/{id}/documents    PDF, DOCX, e-mail with attachment, zip
    check_uploads     GET  /api/v1/documents/{id}            status of one of its own uploads

with the weights of ``DEFAULT_MIX`` (``--mix upload=3,ask=0`` changes some). Viewers do not upload.
Requests are named by route template, so statistics are per route. Any status other than the
expected one fails the request; 5xx and 429 are counted apart as well, with the request id of
each 5xx, so they can be found in the server log. Before starting, the mix is checked against the
per-person and per-address rate limits (``--limits``): the worst case (no response time at all)
must stay under 80 % of every limit, or the run is refused.

Every upload acknowledged with 202 is tracked until it is ``ready`` or ``failed``: its uploader
looks at it now and then (``check_uploads``, only uploads older than ``--poll-after`` seconds);
what is still pending at the end is written to the report (``--report``), and ``run.py`` follows
it up. A share of the uploads (``--bad-share``) are broken PDFs that must end ``failed``; the
processing success ratio is computed over the good files only.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from locust import HttpUser, events, task
from locust.clients import LocustHttpAdapter
from locust.exception import StopUser
from urllib3 import PoolManager

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus
from results import processing_seconds, summarize_uploads

DEFAULT_MIX: dict[str, float] = {
    "list_matters": 8,
    "list_documents": 14,
    "search": 22,
    "open_document": 12,
    "analysis": 8,
    "page_text": 10,
    "ask": 5,
    "download": 5,
    "upload": 1.5,
    "check_uploads": 2,
}
# The rate limit group of each action ("default" unless named here), as in security/ratelimit.py.
GROUP = {"search": "search", "ask": "ai", "upload": "upload"}
DEFAULT_LIMITS = "login_ip=10,upload=60,search=120,ai=30,default=600"
UPLOAD_FORMATS = {"pdf": 0.40, "docx": 0.35, "eml": 0.15, "zip": 0.10}

QUERIES = [
    "indemnification",
    '"limitation of liability"',
    "terminat*",
    "confidential* -employee",
    '"governing law" OR "choice of law"',
    "warrant* -disclaim*",
    '"change of control"',
    "assign* consent",
    "exclusiv* territory",
    '"most favored" OR "most favoured"',
    'noncompete OR non-competition OR "covenant not to compete"',
    "audit records",
    'insurance "general liability"',
    '"force majeure"',
    "renew* -automatic",
    "royalt* payment",
    '"intellectual property" ownership',
    '"liquidated damages"',
    "arbitration -court",
    '"notice period" OR "written notice"',
    "minimum purchase",
    '"third party beneficiar*"',
    "escrow source code",
    "insolvency OR bankruptcy",
]
QUESTIONS = [
    "Which law governs this agreement?",
    "Can either party terminate the agreement for convenience?",
    "What is the cap on liability?",
    "Is there a non-compete clause?",
    "Who owns the intellectual property created under the agreement?",
    "How long is the term and does it renew automatically?",
    "How much notice is required to terminate?",
    "May a party assign the agreement without consent?",
    "What are the payment terms?",
    "Is there an exclusivity obligation?",
    "What happens on a change of control?",
    "Are there audit rights?",
]


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    g = parser.add_argument_group("legalai firm")
    g.add_argument(
        "--credentials", env_var="LOAD_CREDENTIALS", default="", help="credentials.json of seed.py"
    )
    g.add_argument("--think", env_var="LOAD_THINK", type=float, default=1.0, help="mean think time, seconds")
    g.add_argument("--mix", env_var="LOAD_MIX", default="", help="weights, e.g. upload=3,ask=0")
    g.add_argument(
        "--report", env_var="LOAD_REPORT", default="", help="JSON report (default: by credentials)"
    )
    g.add_argument("--bad-share", env_var="LOAD_BAD_SHARE", type=float, default=0.03)
    g.add_argument("--poll-after", env_var="LOAD_POLL_AFTER", type=float, default=10.0)
    g.add_argument("--limits", env_var="LOAD_LIMITS", default=DEFAULT_LIMITS, help="per person, per minute")
    g.add_argument("--shared-ip-factor", env_var="LOAD_SHARED_IP_FACTOR", type=int, default=50)


# ---- shared state (gevent: one thread, no locks needed) ------------------------------------------


class Firm:
    credentials: dict[str, Any] = {}
    people: list[dict[str, Any]] = []
    next_person = itertools.count()
    templates: list[corpus.Template] = []
    mix: dict[str, float] = dict(DEFAULT_MIX)
    think = 1.0
    bad_share = 0.03
    poll_after = 10.0
    uploads: list[dict[str, Any]] = []  # one per accepted document
    rejected_at_upload: list[dict[str, Any]] = []
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    server_errors: list[dict[str, Any]] = []
    refused: str = ""
    started = 0.0


def _parse_pairs(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        out[name.strip()] = float(value)
    return out


def check_mix(
    mix: dict[str, float], think: float, limits: dict[str, float], per_address: int, factor: int
) -> list[str]:
    """Problems if the worst case of one person, or the average of everyone behind one address,
    could exceed 80 % of a limit (many people at once average out; one person may not)."""
    total = sum(mix.values())
    if total <= 0:
        return ["the mix has no positive weight"]
    per_minute = 60.0 / (0.5 * think)  # every think time at its minimum, responses taking no time
    mean_per_minute = 60.0 / think
    problems = []
    for group in ("upload", "search", "ai", "default"):
        share = sum(w for a, w in mix.items() if GROUP.get(a, "default") == group) / total
        extra = 1 if group == "default" else 0
        worst = per_minute * share + extra
        address = (mean_per_minute * share + extra) * per_address
        for who, rate, limit in (
            ("person", worst, limits[group]),
            (f"address ({per_address} people)", address, limits[group] * factor),
        ):
            if rate > 0.8 * limit:
                problems.append(
                    f"{group}: up to {rate:.0f} requests a minute per {who}, over 80 % of {limit:.0f}"
                )
    return problems


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not options.credentials:
        Firm.refused = "no --credentials (LOAD_CREDENTIALS): run seed.py first"
        return
    path = Path(options.credentials)
    Firm.credentials = json.loads(path.read_text())
    Firm.people = Firm.credentials["people"]
    Firm.templates = corpus.load_templates(path.parent / Firm.credentials.get("templates", "templates"))
    Firm.mix = {**DEFAULT_MIX, **_parse_pairs(options.mix)}
    unknown = set(Firm.mix) - set(DEFAULT_MIX)
    Firm.think = options.think
    Firm.bad_share = options.bad_share
    Firm.poll_after = options.poll_after
    limits = _parse_pairs(options.limits)
    per_address = max(Counter(p["address"] for p in Firm.people).values())
    problems = [f"unknown actions in --mix: {sorted(unknown)}"] if unknown else []
    problems += check_mix(Firm.mix, Firm.think, limits, per_address, options.shared_ip_factor)
    # The per-address sign-in limit counts failed sign-ins only, and people here know their passwords.
    if options.num_users and options.num_users > len(Firm.people):
        problems.append(f"{options.num_users} users but only {len(Firm.people)} people: seed more people")
    if problems:
        Firm.refused = "; ".join(problems)


@events.test_start.add_listener
def _start(environment: Any, **_: Any) -> None:
    Firm.started = time.time()
    if Firm.refused:
        print(f"load test refused: {Firm.refused}", file=sys.stderr)
        environment.process_exit_code = 2
        environment.runner.quit()


@events.request.add_listener
def _on_request(request_type: str, name: str, response: Any, context: dict[str, Any], **_: Any) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    route = f"{request_type} {name}"
    Firm.statuses[route][status] += 1
    if status >= 500 and len(Firm.server_errors) < 500:
        request_id = response.headers.get("x-request-id")
        with contextlib.suppress(Exception):
            request_id = request_id or response.json().get("request_id")
        Firm.server_errors.append(
            {
                "t": round(time.time() - Firm.started, 1),
                "route": route,
                "status": status,
                "request_id": request_id,
                "person": context.get("person"),
                "body": (response.text or "")[:300],
            }
        )


@events.test_stop.add_listener
def _stop(environment: Any, **_: Any) -> None:
    if not Firm.credentials:
        return
    options = environment.parsed_options
    path = Path(options.report) if options.report else Path(options.credentials).parent / "load_report.json"
    good = [u for u in Firm.uploads if not u["bad"]]
    report = {
        "duration_s": round(time.time() - Firm.started, 1),
        "think_s": Firm.think,
        "mix": Firm.mix,
        "people_used": min(next(Firm.next_person), len(Firm.people)),
        "statuses": {route: dict(counts) for route, counts in sorted(Firm.statuses.items())},
        "server_errors": Firm.server_errors,
        "uploads": Firm.uploads,
        "rejected_at_upload": Firm.rejected_at_upload,
        "upload_summary": summarize_uploads(Firm.uploads),
        "good_uploads": len(good),
    }
    path.write_text(json.dumps(report, indent=1))
    print(f"load report: {path}", file=sys.stderr)


# ---- the person ----------------------------------------------------------------------------------


class FirmPerson(HttpUser):
    """One person of the firm; see the module docstring."""

    def wait_time(self) -> float:
        return random.uniform(0.5 * Firm.think, 1.5 * Firm.think)

    def on_start(self) -> None:
        if Firm.refused:
            raise StopUser()
        index = next(Firm.next_person)
        if index >= len(Firm.people):
            raise StopUser()  # refused at init already; never share a person
        self.person = p = Firm.people[index]
        self.ctx = {"person": p["index"]}
        # The person's own address: per-address limits then count this person only.
        adapter = LocustHttpAdapter(pool_manager=PoolManager(maxsize=2, source_address=(p["address"], 0)))
        self.client.mount("http://", adapter)
        self.client.headers["User-Agent"] = "legalai-loadtest"
        self.writes = p["role"] != "viewer"
        weights = {a: (w if (a != "upload" or self.writes) else 0.0) for a, w in Firm.mix.items()}
        self.actions = [getattr(self, a) for a in weights]
        self.weights = list(weights.values())
        self.docs: dict[str, list[dict[str, Any]]] = {}
        self.pending: list[dict[str, Any]] = []
        self.matters: list[str] = list(p["matters"])
        if p["auth"] == "cookie":
            r = self.call(
                "POST",
                "/api/v1/auth/login",
                json={"email": p["email"], "password": p["password"]},
            )
            if r is None:
                raise StopUser()
            self.client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        else:
            self.client.headers["Authorization"] = f"Bearer {p['api_key']}"
        self.list_matters()
        self.list_documents()

    # ---- plumbing -------------------------------------------------------------------------------

    def call(
        self, method: str, path: str, name: str | None = None, expect: tuple[int, ...] = (200,), **kw: Any
    ) -> Any:
        """One request named by its route template; None unless it got an expected status."""
        with self.client.request(
            method, path, name=name or path, catch_response=True, context=self.ctx, **kw
        ) as r:
            if r.status_code in expect:
                r.success()
                return r
            if r.status_code == 429:
                r.failure(f"429 rate limited: {r.text[:160]}")
            elif r.status_code == 0:
                r.failure(f"no response: {type(r.error).__name__}")
            else:
                title = ""
                try:
                    title = r.json().get("title", "")
                except Exception:
                    title = r.text[:80]
                r.failure(f"HTTP {r.status_code} {title}")
            return None

    def matter(self) -> str:
        return random.choice(self.matters)

    def document(self) -> dict[str, Any] | None:
        """A ready document of one of the person's matters, from what they have listed."""
        known = [m for m in self.matters if self.docs.get(m)]
        if not known:
            return None
        return random.choice(self.docs[random.choice(known)])

    @task
    def act(self) -> None:
        random.choices(self.actions, self.weights)[0]()

    # ---- actions --------------------------------------------------------------------------------

    def list_matters(self) -> None:
        r = self.call("GET", "/api/v1/matters", params={"limit": 100})
        if r is not None:
            visible = [m["id"] for m in r.json()]
            self.matters = [m for m in visible if m in self.person["matters"]] or visible or self.matters

    def list_documents(self) -> None:
        if not self.matters:
            return
        matter = self.matter()
        r = self.call(
            "GET",
            f"/api/v1/matters/{matter}/documents",
            name="/api/v1/matters/{id}/documents",
            params={"limit": 100},
        )
        if r is not None:
            self.docs[matter] = [d for d in r.json()["items"] if d["status"] == "ready"]

    def search(self) -> None:
        self.call(
            "GET",
            f"/api/v1/matters/{self.matter()}/search",
            name="/api/v1/matters/{id}/search",
            params={"q": random.choice(QUERIES), "limit": 20},
        )

    def _on_document(self, suffix: str, name: str, **kw: Any) -> None:
        doc = self.document()
        if doc is None:
            self.list_documents()
            return
        self.call(
            "GET", f"/api/v1/documents/{doc['id']}{suffix}", name=f"/api/v1/documents/{{id}}{name}", **kw
        )

    def open_document(self) -> None:
        self._on_document("", "")

    def analysis(self) -> None:
        self._on_document("/analysis", "/analysis")

    def page_text(self) -> None:
        doc = self.document()
        if doc is None:
            self.list_documents()
            return
        n = random.randint(1, max(1, int(doc.get("page_count") or 1)))
        self.call("GET", f"/api/v1/documents/{doc['id']}/pages/{n}", name="/api/v1/documents/{id}/pages/{n}")

    def download(self) -> None:
        self._on_document("/original", "/original")

    def ask(self) -> None:
        body: dict[str, Any] = {"question": random.choice(QUESTIONS), "mode": "extractive"}
        self.call("POST", f"/api/v1/matters/{self.matter()}/ask", name="/api/v1/matters/{id}/ask", json=body)

    def upload(self) -> None:
        if not self.writes or not self.matters:
            return
        matter = self.matter()
        name, data, mime, fmt, bad = self._new_file()
        r = self.call(
            "POST",
            f"/api/v1/matters/{matter}/documents",
            name="/api/v1/matters/{id}/documents",
            expect=(202, 415, 422) if bad else (202,),
            files=[("files", (name, data, mime))],
        )
        if r is None:
            return
        if r.status_code != 202:
            Firm.rejected_at_upload.append({"file": name, "format": fmt, "bad": bad, "status": r.status_code})
            return
        body = r.json()
        now = time.time()
        for item in body["accepted"]:
            entry = {
                "document_id": item["document_id"],
                "matter_id": matter,
                "person": self.person["index"],
                "format": fmt,
                "kind": item.get("kind"),
                "bad": bad,
                "deduplicated": item.get("deduplicated", False),
                "accepted_at": round(now - Firm.started, 2),
                "status": item.get("status") or "queued",
                "reason": None,
                "finished_seen_at": None,
            }
            Firm.uploads.append(entry)
            if entry["status"] not in ("ready", "failed"):
                self.pending.append(entry)
        for item in body["rejected"]:
            Firm.rejected_at_upload.append(
                {"file": item["filename"], "format": fmt, "bad": bad, "error": item["error"]}
            )

    def check_uploads(self) -> None:
        now = time.time() - Firm.started
        due = [u for u in self.pending if now - u["accepted_at"] >= Firm.poll_after]
        if not due:
            return
        entry = due[0]
        r = self.call("GET", f"/api/v1/documents/{entry['document_id']}", name="/api/v1/documents/{id}")
        if r is None:
            return
        doc = r.json()
        if doc["status"] in ("ready", "failed"):
            entry.update(
                status=doc["status"],
                reason=doc.get("failure_reason"),
                finished_seen_at=round(now, 2),
                processing_s=processing_seconds(doc),
            )
            self.pending.remove(entry)
        else:
            entry["status"] = doc["status"]
            self.pending.remove(entry)
            self.pending.append(entry)  # look at the others first

    # ---- files ----------------------------------------------------------------------------------

    def _new_file(self) -> tuple[str, bytes, str, str, bool]:
        """(file name, content, media type, format, is it a broken file) of a new upload."""
        token = corpus.unique_token()
        suffix = token.decode()[2:8].lower()
        if random.random() < Firm.bad_share:
            return f"Scan-{suffix}.pdf", corpus.broken_pdf(token), corpus.MIME["pdf"], "pdf", True
        fmt = random.choices(list(UPLOAD_FORMATS), list(UPLOAD_FORMATS.values()))[0]
        if fmt in ("pdf", "docx"):
            template = random.choice([t for t in Firm.templates if t.format == fmt])
            data = corpus.personalize(template, token)
            return f"{template.title}-{suffix}.{fmt}", data, corpus.MIME[fmt], fmt, False
        if fmt == "eml":
            template = random.choice(Firm.templates)
            attachment = corpus.personalize(template, token)
            ext = template.format
            mail = corpus.email_with_attachment(
                self.person["email"],
                f"Signed {template.title.replace('-', ' ')}",
                "Attached is the signed version, for the matter file.\n\nThanks",
                attachment,
                f"{template.title}.{ext}",
                corpus.MIME[ext],
            )
            return f"Signed-{template.title}-{suffix}.eml", mail, corpus.MIME["eml"], "eml", False
        picks = random.sample(Firm.templates, min(2, len(Firm.templates)))
        entries = [
            (f"exhibits/{i + 1}-{t.title}.{t.format}", corpus.personalize(t, corpus.unique_token()))
            for i, t in enumerate(picks)
        ]
        return f"Exhibits-{suffix}.zip", corpus.small_zip(entries), corpus.MIME["zip"], "zip", False
