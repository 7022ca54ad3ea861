"""The words of a change request's life cycle, apart from the rules (bot.core.changes)
so that its rendering (bot.core.change_posts) and the reports can name them too."""

from __future__ import annotations

STANDAR, NORMAL, DARURAT = "standar", "normal", "darurat"
KINDS = (STANDAR, NORMAL, DARURAT)
RISKS = ("rendah", "sedang", "tinggi")
BERHASIL = "berhasil"
RESULTS = (BERHASIL, "gagal", "dibatalkan", "dikembalikan")
DIAJUKAN, PERLU_INFO, DISETUJUI, DITOLAK = "diajukan", "perlu_info", "disetujui", "ditolak"
DILAKSANAKAN, DITINJAU = "dilaksanakan", "ditinjau"
STATES = (DIAJUKAN, PERLU_INFO, DISETUJUI, DITOLAK, DILAKSANAKAN, DITINJAU)
#: changes whose window still holds the service: a new one may not overlap them
HOLDING_STATES = (DIAJUKAN, PERLU_INFO, DISETUJUI)
SETUJU, TOLAK, INFO = "setuju", "tolak", "info"
DECISIONS = (SETUJU, TOLAK, INFO)
#: the two approver parties: the koordinator layanan and the service's pengelola layanan
KOORDINATOR, PENGELOLA = "koordinator", "pengelola"
RULES = ("none", "any", "all")
