"""Recovery plans (runbooks, guideline ch. 7.1.4): one YAML file per service in
knowledge/recovery/, reviewed like code. `check_recovery_plans` collects every problem
for `helpdesk kb check`; `load_plan` gives the core one service's plan to walk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

PLANS_DIR = Path(__file__).resolve().parent / "recovery"


class PlanError(Exception):
    """A plan file that cannot be used; the message names the file and the field."""


class PlanStep(BaseModel):
    title: str = Field(min_length=3, max_length=300)
    #: who does the step: a role of bot.core.roles (checked by `check_recovery_plans`)
    role: str = Field(min_length=2, max_length=40)
    minutes: int = Field(gt=0, le=10080, description="expected minutes for the step")


class RecoveryPlan(BaseModel):
    service: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    title: str = Field(min_length=3, max_length=200)
    steps: list[PlanStep] = Field(min_length=1)

    @property
    def expected_minutes(self) -> int:
        return sum(s.minutes for s in self.steps)


def plan_files(directory: Path | str = PLANS_DIR) -> list[Path]:
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


def read_plan(path: Path) -> RecoveryPlan:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: invalid YAML: {exc}") from None
    try:
        return RecoveryPlan.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"{path}: {'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise PlanError("\n".join(lines)) from None


def load_plan(service_id: str, directory: Path | str = PLANS_DIR) -> RecoveryPlan | None:
    """The plan of one service, or None when it has none; a broken file raises PlanError
    (`helpdesk kb check` reports it before it reaches a coordinator)."""
    for path in plan_files(directory):
        if path.stem == service_id:
            return read_plan(path)
    return None


def check_recovery_plans(
    directory: Path | str,
    rto_by_service: Mapping[str, int | None] | None = None,
    roles: Iterable[str] | None = None,
) -> list[str]:
    """Problems as "file: message", empty when every plan is sound. `rto_by_service` is
    the catalog (service id -> RTO minutes); `roles`, the roles a step may name."""
    known_roles = set(roles) if roles is not None else None
    problems: list[str] = []
    for path in plan_files(directory):
        try:
            plan = read_plan(path)
        except PlanError as exc:
            problems.append(str(exc))
            continue
        if plan.service != path.stem:
            problems.append(f"{path}: service '{plan.service}' but the file is named {path.name}")
        for n, step in enumerate(plan.steps, start=1):
            if known_roles is not None and step.role not in known_roles:
                problems.append(f"{path}: steps.{n}: unknown role '{step.role}'")
        if rto_by_service is None:
            continue
        if plan.service not in rto_by_service:
            problems.append(f"{path}: unknown service '{plan.service}'")
            continue
        rto = rto_by_service[plan.service]
        if rto is None:
            problems.append(f"{path}: service '{plan.service}' has no RTO in the catalog")
        elif plan.expected_minutes > rto:
            problems.append(
                f"{path}: the steps take {plan.expected_minutes} minutes, more than the "
                f"RTO of {rto} minutes"
            )
    return problems
