"""Prepare a firm for the load test, through the public REST API only.

    uv run python bench/load/seed.py --base-url http://127.0.0.1:8765 \\
        --owner-email owner@firm.example --out bench/out/load-seed [--people 220 --matters 40 ...]

The owner must exist already (``legalai admin create-user --role owner``, or the first-run set-up
link); its password comes from ``--owner-password`` or ``LOAD_OWNER_PASSWORD``. Then, as the
people of a firm would do it:

1. The owner signs in (cookie + CSRF) and creates a few admins ("office managers") and ``--people``
   people (attorneys, paralegals, viewers), each with their own password.
2. Each admin, and each person who works with an API key, signs in from their own address and
   creates their own key (scopes read,write; read for viewers; admins also admin), then signs out.
   The others (``--cookie-share``) sign in with their password during the load run, like the web UI.
3. The admins open ``--matters`` matters (an admin is the first member of what it creates, so the
   first admin's key can follow every document later), make each person a member of 2-4 of them,
   and upload ``--docs-per-matter`` real contracts into each: mostly ``.txt``, every third one as a
   PDF, DOCX, an e-mail with a DOCX attachment or a small zip, in turn.
4. Wait until every document is ``ready`` or ``failed``.
5. Render the upload templates (PDF and DOCX excerpts of other contracts) for the locustfile, and
   write ``credentials.json`` (mode 0600: it holds passwords and keys) and ``seed.json``.

Addresses: every person gets their own loopback source address (127.10.x.y; ``--people-per-address``
puts several behind one, ``0`` puts everyone on 127.0.0.1), because the server counts sign-ins and
requests per address as well as per person (see README.md). Requests refused with 429 are retried
after ``Retry-After``; the seeder counts them and stays well below the limits.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus

T = TypeVar("T")
API = "/api/v1"
ROLES_CYCLE = ["attorney", "paralegal", "attorney", "paralegal", "attorney", "viewer"]  # 1/2, 1/3, 1/6
CLIENTS = [
    "Acme Holdings", "Birchwood Capital", "Cobalt Therapeutics", "Delmar Logistics", "Evergreen Foods",
    "Fairhaven Bank", "Granite Mining", "Harbor Freight Lines", "Ironclad Security", "Juniper Software",
    "Keystone Energy", "Lakeside Hospital", "Meridian Airlines", "Northstar Retail", "Oakridge Pharma",
    "Pinnacle Media", "Quarry Partners", "Redwood Insurance", "Summit Telecom", "Tidewater Shipping",
]  # fmt: skip
MATTER_KINDS = [
    "supply agreement review", "acquisition due diligence", "licensing dispute", "franchise renewal",
    "vendor contracts audit", "distribution arbitration", "joint venture", "outsourcing renegotiation",
]  # fmt: skip
SPECIALS = ("pdf", "docx", "eml", "zip")


class SeedError(RuntimeError):
    pass


def address_for(index: int, per_address: int, base: int = 10) -> str:
    """The loopback source address of person ``index`` (``127.<base>.x.y``)."""
    if per_address <= 0:
        return "127.0.0.1"
    n = index // per_address
    return f"127.{base}.{n // 250}.{n % 250 + 1}"


class Api:
    """One person's HTTP client: their own source address, key or cookie session, 429 retries."""

    retries_429 = 0
    _lock = threading.Lock()

    def __init__(self, base_url: str, address: str, key: str | None = None, timeout: float = 180.0) -> None:
        transport = httpx.HTTPTransport(local_address=address, retries=2)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=base_url, transport=transport, timeout=timeout, headers=headers)
        self.address = address

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, expect: Iterable[int] = (200,), **kwargs: Any) -> httpx.Response:
        expected = set(expect)
        for attempt in range(30):
            try:
                response = self.http.request(method, API + path, **kwargs)
            except httpx.TransportError as exc:
                if attempt >= 3:
                    raise SeedError(f"{method} {path}: {exc}") from exc
                time.sleep(1 + attempt)
                continue
            if response.status_code == 429:
                with Api._lock:
                    Api.retries_429 += 1
                time.sleep(float(response.headers.get("retry-after", "2")) + random.random())
                continue
            if response.status_code in (502, 503) and attempt < 5:
                time.sleep(1 + attempt)
                continue
            if response.status_code not in expected:
                raise SeedError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
            return response
        raise SeedError(f"{method} {path}: still rate limited after 30 attempts")

    def sign_in(self, email: str, password: str) -> str:
        body = self.call("POST", "/auth/login", json={"email": email, "password": password}).json()
        csrf = str(body["csrf_token"])
        self.http.headers["X-CSRF-Token"] = csrf
        return csrf

    def sign_out(self) -> None:
        self.call("POST", "/auth/logout", expect=(204,))
        self.http.headers.pop("X-CSRF-Token", None)
        self.http.cookies.clear()


def parallel(fn: Callable[[T], Any], items: list[T], threads: int) -> list[Any]:
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return list(pool.map(fn, items))


def own_key(base_url: str, address: str, email: str, password: str, scopes: list[str]) -> str:
    """Sign in as the person, create their own API key, sign out: what a person does once."""
    api = Api(base_url, address)
    try:
        api.sign_in(email, password)
        created = api.call("POST", "/api-keys", expect=(201,), json={"name": "load test", "scopes": scopes})
        api.sign_out()
        return str(created.json()["key"])
    finally:
        api.close()


def seed_files(
    contracts: list[corpus.Contract], matter_index: int, per_matter: int, rng: random.Random
) -> list[tuple[str, bytes, str]]:
    """The seed upload of one matter: (file name, content, media type) for each document."""
    files: list[tuple[str, bytes, str]] = []
    for j in range(per_matter):
        g = matter_index * per_matter + j
        contract = contracts[g % len(contracts)]
        name = f"{j + 1:02d}-{contract.short_name}"
        special = SPECIALS[(g // 3) % len(SPECIALS)] if g % 3 == 0 else "txt"
        if special == "txt":
            files.append((f"{name}.txt", contract.text.encode("utf-8"), "text/plain"))
        elif special == "pdf":
            files.append((f"{name}.pdf", corpus.render_pdf(contract.text), corpus.MIME["pdf"]))
        elif special == "docx":
            files.append((f"{name}.docx", corpus.render_docx(contract.text), corpus.MIME["docx"]))
        elif special == "eml":
            other = contracts[(g + 101) % len(contracts)]
            attachment = corpus.render_docx(corpus.excerpt(other, 15_000))
            mail = corpus.email_with_attachment(
                "partner@firm.example",
                f"Executed copy: {other.short_name.replace('-', ' ')}",
                "Please find attached the executed copy for the file.\n\nBest regards",
                attachment,
                f"{other.short_name}.docx",
                corpus.MIME["docx"],
            )
            files.append((f"{name}.eml", mail, corpus.MIME["eml"]))
        else:
            entries = [
                (f"exhibits/{k + 1}-{c.short_name}.txt", corpus.excerpt(c, 12_000).encode())
                for k, c in enumerate(rng.sample(contracts, 2))
            ]
            files.append((f"{name}.zip", corpus.small_zip(entries), corpus.MIME["zip"]))
    return files


def wait_processed(readers: dict[str, Api], timeout: float) -> dict[str, Any]:
    """Poll each matter's document list (as the admin who opened it: membership decides who sees
    a matter) until every document is ready or failed."""
    pending = set(readers)
    docs: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for matter_id in sorted(pending):
            items = (
                readers[matter_id]
                .call("GET", f"/matters/{matter_id}/documents", params={"limit": 1000})
                .json()["items"]
            )
            for d in items:
                docs[d["id"]] = d
            if items and all(d["status"] in ("ready", "failed") for d in items):
                pending.discard(matter_id)
        if pending:
            time.sleep(2.0)
    statuses: dict[str, int] = {}
    for d in docs.values():
        statuses[d["status"]] = statuses.get(d["status"], 0) + 1
    failed = [
        {"filename": d["filename"], "kind": d["kind"], "reason": d.get("failure_reason")}
        for d in docs.values()
        if d["status"] == "failed"
    ]
    return {
        "documents": len(docs),
        "statuses": statuses,
        "failed": failed,
        "timed_out_matters": len(pending),
        "kinds": sorted({d["kind"] for d in docs.values()}),
    }


def seed(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    phases: dict[str, float] = {}
    rng = random.Random(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = args.base_url.rstrip("/")
    password = args.owner_password or os.environ.get("LOAD_OWNER_PASSWORD", "")
    if not password:
        raise SeedError("the owner's password: --owner-password or LOAD_OWNER_PASSWORD")
    contracts = corpus.load_contracts(Path(args.contracts), args.max_contract_bytes)

    def phase(name: str) -> None:
        phases[name] = round(time.monotonic() - started - sum(phases.values()), 2)
        print(f"seed: {name} done ({phases[name]:.1f} s)", file=sys.stderr, flush=True)

    # 1. The owner creates the admins and the people.
    owner = Api(base, address_for(0, 1, base=11))
    owner.sign_in(args.owner_email, password)
    me = owner.call("GET", "/auth/me").json()
    n_admins = args.admins or max(1, math.ceil(args.matters / 12))
    tag = secrets.token_hex(3)  # people are unique per seeding, so a database can be seeded twice
    admins = [
        {"email": f"admin{k + 1}.{tag}@firm.example", "role": "admin", "address": address_for(k + 1, 1, 11)}
        for k in range(n_admins)
    ]
    people: list[dict[str, Any]] = []
    for i in range(args.people):
        role = ROLES_CYCLE[i % len(ROLES_CYCLE)]
        auth = "cookie" if rng.random() < args.cookie_share else "key"
        people.append(
            {
                "index": i,
                "email": f"person{i + 1:03d}.{tag}@firm.example",
                "display_name": f"Person {i + 1}",
                "role": role,
                "auth": auth,
                "address": address_for(i, args.people_per_address),
            }
        )

    def create(p: dict[str, Any]) -> None:
        p["password"] = secrets.token_urlsafe(18)
        body = {"email": p["email"], "password": p["password"], "role": p["role"]}
        body["display_name"] = p.get("display_name", p["email"].split("@")[0])
        p["user_id"] = owner.call("POST", "/users", expect=(201,), json=body).json()["id"]

    parallel(create, admins + people, args.threads)
    owner.sign_out()
    owner.close()
    phase("people created")

    # 2. Admins and key people create their own keys.
    def key_for(p: dict[str, Any]) -> None:
        scopes = {"admin": ["read", "write", "admin"], "viewer": ["read"]}.get(p["role"], ["read", "write"])
        p["api_key"] = own_key(base, p["address"], p["email"], p["password"], scopes)

    parallel(key_for, admins + [p for p in people if p["auth"] == "key"], args.threads)
    phase("api keys created")

    # 3. Matters, members, seed documents.
    admin_apis = [Api(base, a["address"], a["api_key"]) for a in admins]
    matters: list[dict[str, Any]] = []
    for m in range(args.matters):
        name = f"{CLIENTS[m % len(CLIENTS)]}: {MATTER_KINDS[(m // len(CLIENTS)) % len(MATTER_KINDS)]}"
        if m >= len(CLIENTS) * len(MATTER_KINDS):
            name += f" ({m + 1})"
        matters.append({"index": m, "name": f"{name} [{tag}]", "members": []})
    for p in people:
        count = min(len(matters), rng.randint(2, 4))
        p["matters"] = []
        for m in rng.sample(matters, count):
            m["members"].append(p)

    def open_matter(m: dict[str, Any]) -> None:
        api = admin_apis[m["index"] % len(admin_apis)]
        body = {"name": m["name"], "description": "Seeded for the load test"}
        m["id"] = api.call("POST", "/matters", expect=(201,), json=body).json()["id"]
        for p in m["members"]:
            api.call("POST", f"/matters/{m['id']}/members", json={"user_id": p["user_id"]})
            p["matters"].append(m["id"])

    parallel(open_matter, matters, len(admin_apis))
    phase("matters and members")

    uploads: list[dict[str, Any]] = []

    def upload(m: dict[str, Any]) -> None:
        api = admin_apis[m["index"] % len(admin_apis)]
        files = seed_files(contracts, m["index"], args.docs_per_matter, random.Random(args.seed + m["index"]))
        if not files:
            return
        response = api.call(
            "POST",
            f"/matters/{m['id']}/documents",
            expect=(202,),
            files=[("files", f) for f in files],
        ).json()
        uploads.append(response)

    parallel(upload, matters, len(admin_apis))
    rejected = [r for u in uploads for r in u["rejected"]]
    phase("seed documents uploaded")

    # 4. Templates for the upload stream, rendered while the server processes the seed documents.
    templates = corpus.write_templates(out / "templates", contracts, args.templates, args.upload_chars)
    phase("upload templates rendered")
    readers = {m["id"]: admin_apis[m["index"] % len(admin_apis)] for m in matters}
    processed = wait_processed(readers, args.wait_timeout)
    phase("seed documents processed")
    for api in admin_apis:
        api.close()

    credentials = {
        "base_url": base,
        "organization_id": me["organization_id"],
        "tag": tag,
        "seeder": {k: admins[0][k] for k in ("email", "api_key", "address")},
        "admins": [{k: a[k] for k in ("email", "api_key", "address")} for a in admins],
        "people": [
            {
                "index": p["index"],
                "email": p["email"],
                "role": p["role"],
                "auth": p["auth"],
                "password": p["password"] if p["auth"] == "cookie" else None,
                "api_key": p.get("api_key"),
                "address": p["address"],
                "user_id": p["user_id"],
                "matters": p["matters"],
            }
            for p in people
        ],
        "matters": [{"id": m["id"], "name": m["name"], "members": len(m["members"])} for m in matters],
        "templates": "templates",
    }
    path = out / "credentials.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(credentials, indent=1))
    summary = {
        "people": len(people),
        "people_by_role": {
            r: sum(p["role"] == r for p in people) for r in ("attorney", "paralegal", "viewer")
        },
        "people_with_keys": sum(p["auth"] == "key" for p in people),
        "people_with_passwords": sum(p["auth"] == "cookie" for p in people),
        "admins": len(admins),
        "matters": len(matters),
        "memberships": sum(len(p["matters"]) for p in people),
        "seed_uploads_rejected": rejected,
        "seed_documents": processed,
        "templates": templates,
        "retries_after_429": Api.retries_429,
        "seconds": round(time.monotonic() - started, 1),
        "phases": phases,
    }
    (out / "seed.json").write_text(json.dumps(summary, indent=1))
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True)
    p.add_argument("--owner-email", required=True)
    p.add_argument("--owner-password", default=None, help="default: $LOAD_OWNER_PASSWORD")
    p.add_argument("--out", required=True, help="folder for credentials.json, seed.json, templates/")
    p.add_argument("--people", type=int, default=220)
    p.add_argument("--matters", type=int, default=40)
    p.add_argument("--docs-per-matter", type=int, default=4)
    p.add_argument("--cookie-share", type=float, default=0.4, help="share of people who sign in (no key)")
    p.add_argument("--people-per-address", type=int, default=0, help="0: everyone on 127.0.0.1")
    p.add_argument("--admins", type=int, default=0, help="default: one per 12 matters")
    p.add_argument("--contracts", default=str(corpus.DEFAULT_CONTRACTS))
    p.add_argument("--max-contract-bytes", type=int, default=80_000)
    p.add_argument("--templates", type=int, default=12, help="PDF and DOCX templates for the uploads")
    p.add_argument("--upload-chars", type=int, default=9_000, help="length of an uploaded excerpt")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--wait-timeout", type=float, default=900.0)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        summary = seed(args)
    except SeedError as exc:
        print(f"seed failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=1))
    docs = summary["seed_documents"]
    return 0 if not docs["timed_out_matters"] else 1


if __name__ == "__main__":
    sys.exit(main())
