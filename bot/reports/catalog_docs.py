"""Documents generated from the service catalog: the catalogue itself, the
incident-handling priority, the SLA document and the service continuity plan."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.core.catalog import list_services, technicians
from bot.core.priority import PRIORITY_NAMES, priority_for
from bot.reports.model import Report, Table
from storage.models import Person


def _people(session: Session) -> dict[int | None, Person]:
    return {p.id: p for p in session.exec(select(Person))}


def catalogue(session: Session, *, now: datetime, **_: object) -> Report:
    people = _people(session)
    rows = []
    for s in list_services(session):
        manager = people.get(s.service_manager_id)
        rows.append(
            [
                s.id,
                s.name,
                s.description,
                s.category,
                s.provider_unit,
                manager.name if manager else "-",
                ", ".join(p.name for p in technicians(session, s.id)),
                s.access,
                f"{s.availability_target:g}%",
                s.criticality,
                s.business_hours,
            ]
        )
    return Report(
        "katalog",
        "Katalog Layanan SPBE",
        now,
        sections=[
            Table(
                "Layanan",
                [
                    "Kode",
                    "Nama",
                    "Deskripsi",
                    "Kategori",
                    "Penyedia layanan",
                    "Pengelola layanan",
                    "Pengelola teknis",
                    "Akses",
                    "Target ketersediaan",
                    "Kritikalitas",
                    "Jam layanan",
                ],
                rows,
            )
        ],
    )


def sla_document(session: Session, *, now: datetime, **_: object) -> Report:
    rows = []
    for s in list_services(session):
        for p in ("1", "2", "3", "4"):
            target = s.sla.get(p) or {}
            rows.append(
                [
                    s.name,
                    f"P{p} {PRIORITY_NAMES[int(p)]}",
                    target.get("response"),
                    target.get("resolution"),
                    s.business_hours,
                    f"{s.availability_target:g}%",
                ]
            )
    return Report(
        "sla",
        "Kesepakatan Tingkat Layanan (SLA)",
        now,
        intro="Target tanggapan pertama dan penyelesaian (menit, dihitung dalam jam layanan) per layanan dan prioritas.",
        sections=[
            Table(
                "Target per layanan dan prioritas",
                [
                    "Layanan",
                    "Prioritas",
                    "Tanggapan (menit)",
                    "Penyelesaian (menit)",
                    "Jam layanan",
                    "Target ketersediaan",
                ],
                rows,
            )
        ],
        notes=[
            "OLA dan UC (kesepakatan dengan unit internal dan pihak ketiga) belum dicatat di aplikasi; "
            "target di atas berlaku bagi pengguna layanan."
        ],
    )


def priority_document(session: Session, *, now: datetime, **_: object) -> Report:
    levels = {1: "Tinggi", 2: "Sedang", 3: "Rendah"}
    matrix = [
        [f"Dampak {levels[i]}"]
        + [f"P{priority_for(i, u)} {PRIORITY_NAMES[priority_for(i, u)]}" for u in (1, 2, 3)]
        for i in (1, 2, 3)
    ]
    meaning = [
        ["Dampak tinggi", "Banyak unit terdampak atau layanan publik terganggu"],
        ["Dampak sedang", "Satu unit atau tim terdampak"],
        ["Dampak rendah", "Hanya pelapor yang terdampak"],
        ["Urgensi tinggi", "Pekerjaan terhenti total"],
        ["Urgensi sedang", "Menghambat pekerjaan hari ini"],
        ["Urgensi rendah", "Dapat menunggu"],
    ]
    return Report(
        "prioritas",
        "Prioritas Penanganan Insiden",
        now,
        sections=[
            Table(
                "Matriks dampak × urgensi",
                ["", "Urgensi tinggi", "Urgensi sedang", "Urgensi rendah"],
                matrix,
            ),
            Table("Arti tingkat dampak dan urgensi", ["Tingkat", "Arti"], meaning),
        ],
    )


def continuity_plan(session: Session, *, now: datetime, **_: object) -> Report:
    """Who restores what, how fast, ordered by criticality (guideline ch. 7.1.4)."""
    people = _people(session)
    recovery = (
        ", ".join(
            p.name for p in people.values() if p and "koordinator_pemulihan" in (p.roles or [])
        )
        or "-"
    )
    order = {"tinggi": 0, "sedang": 1, "rendah": 2}
    rows = []
    for s in sorted(list_services(session), key=lambda s: (order.get(s.criticality, 3), s.name)):
        p1 = s.sla.get("1") or {}
        manager = people.get(s.service_manager_id)
        rows.append(
            [
                s.name,
                s.criticality,
                f"{s.availability_target:g}%",
                p1.get("resolution"),
                s.provider_unit,
                manager.name if manager else "-",
                ", ".join(p.name for p in technicians(session, s.id)),
                recovery,
            ]
        )
    return Report(
        "keberlangsungan",
        "Rencana Keberlangsungan Layanan",
        now,
        intro="Urutan pemulihan menurut tingkat kritikalitas; target waktu pemulihan mengikuti target penyelesaian P1.",
        sections=[
            Table(
                "Urutan dan penanggung jawab pemulihan",
                [
                    "Layanan",
                    "Kritikalitas",
                    "Target ketersediaan",
                    "Target pemulihan P1 (menit)",
                    "Penyedia layanan",
                    "Pengelola layanan",
                    "Pengelola teknis",
                    "Koordinator pemulihan",
                ],
                rows,
            )
        ],
        notes=[
            "Gangguan layanan yang terdeteksi pemantauan otomatis membuka insiden dan memberi tahu koordinator pemulihan untuk layanan berkritikalitas tinggi."
        ],
    )


__all__ = ["catalogue", "continuity_plan", "priority_document", "sla_document"]
