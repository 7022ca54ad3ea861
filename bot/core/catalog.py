"""The service catalog (Katalog layanan SPBE, guideline ch. 3.2): import from YAML,
list and search."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator
from rapidfuzz import fuzz, process, utils
from sqlmodel import Session, col, select

from bot.core.roles import Role, has_any
from storage.db import saved_id
from storage.models import Person, Service, ServiceTechnician, utcnow


class CatalogError(Exception):
    """A catalog file that cannot be imported; the message says where and why."""


class SlaTarget(BaseModel):
    response: int = Field(gt=0, description="minutes to first acknowledgement")
    resolution: int = Field(gt=0, description="minutes to resolution")


class ProbeEntry(BaseModel):
    """How availability is checked (bot.core.probes); without it, derived from `access`."""

    type: Literal["http", "tcp", "dns", "none"] | None = None
    target: str | None = None
    interval: int = Field(60, ge=10, description="seconds between checks")
    expect_status: int | None = Field(None, ge=100, le=599)
    keyword: str | None = None
    latency_ms: int | None = Field(None, gt=0, description="slower than this is 'degraded'")


class ContinuityEntry(BaseModel):
    """Service continuity (guideline ch. 7.1.4): how fast and from how recent a copy the
    service must come back, and who leads its recovery."""

    rto: int | None = Field(None, gt=0, description="minutes: recovery time objective")
    rpo: int | None = Field(None, gt=0, description="minutes: recovery point objective")
    backup: Literal["", "real-time", "per jam", "harian", "mingguan", "bulanan"] = ""
    dr_site: str = Field("", max_length=200)
    owner: str | None = None
    last_test: date | None = None


class ServiceEntry(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=2, max_length=200)
    description: str = ""
    category: Literal["administrasi pemerintahan", "layanan publik"] = "administrasi pemerintahan"
    provider_unit: str
    service_manager: str | None = None
    technical_managers: list[str] = []
    access: str = ""
    availability_target: float = Field(99.0, gt=0, le=100)
    criticality: Literal["tinggi", "sedang", "rendah"] = "sedang"
    business_hours: str = "senin-jumat 07:30-16:00"
    keywords: list[str] = []
    sla: dict[int, SlaTarget] = {}
    probe: ProbeEntry | None = None
    continuity: ContinuityEntry = ContinuityEntry()

    @field_validator("sla")
    @classmethod
    def _priorities(cls, value: dict[int, SlaTarget]) -> dict[int, SlaTarget]:
        bad = [p for p in value if p not in (1, 2, 3, 4)]
        if bad:
            raise ValueError(f"SLA priorities must be 1..4, got {bad}")
        return value


class CatalogFile(BaseModel):
    services: list[ServiceEntry]


def _load_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise CatalogError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: invalid YAML: {exc}") from None


def parse_catalog(path: Path) -> list[ServiceEntry]:
    raw = _load_yaml(path)
    try:
        parsed = CatalogFile.model_validate(raw if isinstance(raw, dict) else {"services": raw})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            if err["loc"][:1] == ("services",) and len(err["loc"]) > 1 and isinstance(raw, dict):
                idx = err["loc"][1]
                try:
                    sid = raw["services"][idx].get("id", "?")
                    where = f"service #{int(idx) + 1} ({sid}): " + ".".join(
                        str(p) for p in err["loc"][2:]
                    )
                except (IndexError, KeyError, TypeError, AttributeError):
                    pass
            lines.append(f"{path}: {where}: {err['msg']}")
        raise CatalogError("\n".join(lines)) from None
    ids = [s.id for s in parsed.services]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CatalogError(f"{path}: duplicate service ids: {', '.join(dupes)}")
    return parsed.services


def import_catalog(session: Session, path: Path) -> tuple[int, int]:
    """Upsert every service of the file; re-running with the same file changes nothing.
    Returns (created, updated)."""
    entries = parse_catalog(Path(path))
    by_email = {p.email.lower(): p for p in session.exec(select(Person)) if p.email}
    problems = []
    for e in entries:
        for email in [e.service_manager, *e.technical_managers]:
            if email and email.lower() not in by_email:
                problems.append(
                    f"{path}: service {e.id}: unknown person {email} (import people first)"
                )
        owner = e.continuity.owner
        if owner and owner.lower() in by_email:
            if not has_any(by_email[owner.lower()], {Role.KOORDINATOR_PEMULIHAN, Role.ADMIN}):
                problems.append(
                    f"{path}: service {e.id}: recovery owner {owner} is not a "
                    f"{Role.KOORDINATOR_PEMULIHAN.value}"
                )
        elif owner:
            problems.append(f"{path}: service {e.id}: unknown person {owner} (import people first)")
    if problems:
        raise CatalogError("\n".join(problems))
    created = updated = 0
    for e in entries:
        svc = session.get(Service, e.id)
        values: dict[str, Any] = {  # column → value, for a new row and for the diff
            "name": e.name,
            "description": e.description,
            "category": e.category,
            "provider_unit": e.provider_unit,
            "service_manager_id": by_email[e.service_manager.lower()].id
            if e.service_manager
            else None,
            "access": e.access,
            "availability_target": e.availability_target,
            "criticality": e.criticality,
            "business_hours": e.business_hours,
            "keywords": list(e.keywords),
            "sla": {str(p): t.model_dump() for p, t in sorted(e.sla.items())},
            "probe": e.probe.model_dump(exclude_none=True) if e.probe else None,
            "rto_minutes": e.continuity.rto,
            "rpo_minutes": e.continuity.rpo,
            "backup_frequency": e.continuity.backup,
            "dr_site": e.continuity.dr_site,
            "recovery_owner_id": by_email[e.continuity.owner.lower()].id
            if e.continuity.owner
            else None,
            "last_dr_test": e.continuity.last_test,
        }
        if svc is None:
            svc = Service(id=e.id, **values)
            created += 1
        elif any(getattr(svc, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(svc, k, v)
            svc.updated_at = utcnow()
            updated += 1
        session.add(svc)
        session.flush()
        wanted = {saved_id(by_email[m.lower()]) for m in e.technical_managers}
        current = set(
            session.exec(
                select(ServiceTechnician.person_id).where(ServiceTechnician.service_id == e.id)
            )
        )
        if wanted != current:
            session.execute(
                sa.delete(ServiceTechnician)
                .where(col(ServiceTechnician.service_id) == e.id)
                .where(col(ServiceTechnician.person_id).not_in(wanted))
            )
            for pid in wanted - current:
                session.add(ServiceTechnician(service_id=e.id, person_id=pid))
    session.flush()
    return created, updated


def list_services(session: Session) -> list[Service]:
    return list(session.exec(select(Service).where(Service.active).order_by(col(Service.name))))


_GENERIC = frozenset(
    {"sistem", "informasi", "layanan", "dan", "aplikasi", "kementerian", "resmi", "dinas", "di"}
)


def _tokens(text: str) -> list[str]:
    return [w for w in utils.default_process(text).split() if len(w) >= 2]


def search_services(
    session: Session, text: str, limit: int = 5, cutoff: float = 80
) -> list[tuple[Service, float]]:
    """Users write "eofis", "surel", "zoom", or a whole sentence: every word of the query
    is matched (typo-tolerant) against the words of each service's id, name and keywords,
    and a service scores the sum of its matched words, so "presensi pegawai" prefers the
    attendance service over another that only shares "pegawai"."""
    query = _tokens(text)
    if not query:
        return []
    scored: list[tuple[Service, float]] = []
    for svc in list_services(session):
        phrases = [svc.id, svc.name, *svc.keywords]
        multi = [utils.default_process(k) for k in svc.keywords if len(_tokens(k)) > 1]
        single = [svc.id, svc.name, *(k for k in svc.keywords if len(_tokens(k)) <= 1)]
        words = {w for p in single for w in _tokens(p.replace("-", " "))} | {svc.id}
        words -= _GENERIC
        processed = f" {utils.default_process(text)} "
        total = sum(100.0 for k in multi if f" {k} " in processed)
        for q in query:
            if len(q) < 4:  # short words match exactly, or "ada" would find "data"
                total += 100.0 if q in words else 0.0
                continue
            best = process.extractOne(q, words, scorer=fuzz.ratio)
            if best and best[1] >= cutoff:
                total += best[1]
        whole = max(
            fuzz.ratio(utils.default_process(text), utils.default_process(p)) for p in phrases
        )
        if whole >= cutoff:
            total = max(total, whole) + whole / 100
        if total:
            scored.append((svc, total))
    scored.sort(key=lambda x: -x[1])
    return scored[:limit]


def technicians(session: Session, service_id: str) -> list[Person]:
    return list(
        session.exec(
            select(Person)
            .join(ServiceTechnician, col(ServiceTechnician.person_id) == col(Person.id))
            .where(ServiceTechnician.service_id == service_id)
        )
    )
