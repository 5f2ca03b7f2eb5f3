"""Billing through the store and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from neocloud import bootstrap
from neocloud.app import billing, services
from neocloud.app.services import ContractRequest
from neocloud.cli.main import app
from neocloud.core.billing.metering import UsageRecord, usage_key
from neocloud.core.billing.periods import month
from neocloud.core.contracts import ContractKind
from neocloud.core.errors import AlreadyExists, InvalidInterval, InvalidState, UnknownContract, UnknownPool

from ..builders import POOL, refused_without_change

MAY = month("2025-05")  # 31 days
H = 3600


@pytest.fixture
def signed(store: bootstrap.Context) -> tuple[bootstrap.Context, str, str]:
    with store.uow() as uow:
        reserved = services.sign_contract(
            uow,
            ContractRequest(
                "lab",
                ContractKind.RESERVED,
                POOL,
                MAY.start,
                MAY.end + 86_400 * 30,
                gpus=8,
                price_per_gpu_hour=Decimal("2.40"),
            ),
            store.catalog,
            store.new_id,
            store.now(),
        )
        od = services.sign_contract(
            uow,
            ContractRequest("lab", ContractKind.ON_DEMAND, POOL, MAY.start, MAY.end + 86_400 * 30),
            store.catalog,
            store.new_id,
            store.now(),
        )
    return store, reserved.id, od.id


def usage(contract_id: str, job: str, gpus: int, start_h: int, end_h: int, tenant: str = "t-lab") -> UsageRecord:
    start = MAY.start + start_h * H
    return UsageRecord(
        usage_key(contract_id, job, start),
        tenant,
        contract_id,
        POOL,
        "h100-sxm",
        gpus * 1000,
        start,
        MAY.start + end_h * H,
        job,
    )


def test_usage_is_recorded_once_and_invoiced(signed: tuple[bootstrap.Context, str, str]) -> None:
    ctx, reserved, od = signed
    runs = [usage(reserved, "a", 12, 0, 10), usage(od, "b", 2, 5, 8)]
    with ctx.uow() as uow:
        assert len(billing.ingest_usage(uow, runs)) == 2
    with ctx.uow() as uow:
        assert billing.ingest_usage(uow, runs) == []  # replayed after a restart: nothing new
    refused_without_change(ctx, AlreadyExists, lambda uow: billing.ingest_usage(uow, [usage(reserved, "a", 12, 9, 11)]))
    refused_without_change(ctx, UnknownContract, lambda uow: billing.ingest_usage(uow, [usage("c-nope", "z", 1, 0, 1)]))
    with ctx.uow() as uow:
        invoice = billing.generate_invoice(uow, ctx.catalog, "lab", "2025-05", MAY.end + 1, ctx.new_id)
    # commitment 8 x 744 h x 2.40 = 14,284.80; overage 4 x 10 h x 3.00 = 120.00; on-demand 2 x 3 h x 3.00 = 18.00
    assert sorted((line.kind, line.amount) for line in invoice.lines) == [
        ("commitment", Decimal("14284.80")),
        ("overage", Decimal("120.00")),
        ("usage", Decimal("18.00")),
    ]
    assert invoice.total == Decimal("14422.80")
    with ctx.uow() as uow:
        assert uow.billing.get_invoice(invoice.id) == invoice
    # The month is closed: late usage for it, and a second invoice, are refused.
    refused_without_change(ctx, InvalidState, lambda uow: billing.ingest_usage(uow, [usage(od, "late", 1, 20, 21)]))
    refused_without_change(
        ctx,
        InvalidState,
        lambda uow: billing.generate_invoice(uow, ctx.catalog, "lab", "2025-05", MAY.end + 2, ctx.new_id),
    )
    refused_without_change(
        ctx,
        InvalidState,
        lambda uow: billing.generate_invoice(uow, ctx.catalog, "lab", "2025-06", MAY.end + 2, ctx.new_id),
    )
    with ctx.uow() as uow:
        by_contract = {row.contract_id: row.amount for row in billing.revenue(uow, "2025-05")}
        assert by_contract == {reserved: Decimal("14404.80"), od: Decimal("18.00")}
        [use] = billing.sold_versus_used(uow, "2025-05", {POOL: Decimal("1.35")})
    # 8 x 744 = 5,952 GPU-h committed, 80 used within it: 5,872 idle, worth 5,872 x 1.35 = 7,927.20 as spot.
    assert (use.committed_gpu_hours, use.used_gpu_hours, use.idle_gpu_hours) == (
        Decimal("5952.00"),
        Decimal("80.00"),
        Decimal("5872.00"),
    )
    assert use.idle_spot_value == Decimal("7927.20")


def test_billing_cli(signed: tuple[bootstrap.Context, str, str], tmp_path: Path) -> None:
    ctx, _reserved, od = signed
    runner = CliRunner()

    def cli(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(app, ["--db", ctx.url, *args])
        assert result.exit_code == (0 if ok else 1), result.output
        return result

    add = [
        "usage",
        "add",
        "--contract",
        od,
        "--job",
        "j1",
        "--gpus",
        "4",
        "--start",
        str(MAY.start),
        "--end",
        str(MAY.start + 2 * H),
        "--json",
    ]
    assert json.loads(cli(*add).stdout)["added"] == 1
    assert json.loads(cli(*add).stdout)["added"] == 0  # the same run again: nothing new
    csv_file = tmp_path / "usage.csv"
    csv_file.write_text(
        f"contract,job,milli_gpus,start,end,preempted\n{od},j2,500,{MAY.start},{MAY.start + H},false\n"
        f"{od},j3,1000,{MAY.start + 10},{MAY.start + 5},false\n"
    )
    bad = json.loads(cli("usage", "import", str(csv_file), "--json", ok=False).stdout)
    assert bad["error"]["code"] == "invalid_interval"
    csv_file.write_text(f"contract,job,milli_gpus,start,end\n{od},j2,500,{MAY.start},{MAY.start + H}\n")
    assert json.loads(cli("usage", "import", str(csv_file), "--json").stdout) == {"rows": 1, "added": 1}
    assert len(json.loads(cli("usage", "list", "--period", "2025-05", "--json").stdout)["items"]) == 2
    invoice = json.loads(cli("invoice", "generate", "--tenant", "lab", "--period", "2025-05", "--json").stdout)
    # commitment 14,284.80 + on-demand (8 + 0.5) GPU-h x 3.00 = 25.50
    assert invoice["total"] == "14310.30"
    shown = cli("invoice", "show", invoice["id"]).stdout
    assert "total: $14,310.30" in shown
    html_file = tmp_path / "invoice.html"
    cli("invoice", "export", invoice["id"], "--format", "html", "--output", str(html_file))
    assert "<td>14310.30</td>" in html_file.read_text()
    assert cli("invoice", "export", invoice["id"], "--format", "csv").stdout.strip().endswith(",14310.30")
    assert json.loads(cli("invoice", "export", invoice["id"], "--format", "json").stdout)["total"] == "14310.30"
    revenue = json.loads(cli("revenue", "--period", "2025-05", "--capacity", "--json").stdout)
    assert sum(Decimal(r["amount"]) for r in revenue["revenue"]) == Decimal("14310.30")
    assert revenue["capacity"][0]["idle_gpu_hours"] == "5952.00"
    assert json.loads(cli("invoice", "show", "inv-missing", "--json", ok=False).stdout)["error"]["code"] == "not_found"
    incident = json.loads(
        cli("incident", "add", POOL, "--start", str(MAY.end), "--end", "+4h", "--gpus", "2", "--json").stdout
    )
    assert (incident["end"] - incident["start"], incident["gpus"]) == (4 * H, 2)
    assert len(json.loads(cli("incident", "list", "--period", "2025-06", "--json").stdout)["items"]) == 1
    terms = json.loads(cli("contract", "terms", od, "--minimum", "100", "--prepaid", "12.5", "--json").stdout)
    assert terms == {"contract_id": terms["contract_id"], "minimum_per_period": "100.00", "prepaid_balance": "12.50"}
    assert json.loads(cli("contract", "terms", "c-nope", "--json", ok=False).stdout)["error"]["code"] == (
        "unknown_contract"
    )


def test_incidents_and_money_terms_reach_the_invoice(signed: tuple[bootstrap.Context, str, str]) -> None:
    ctx, reserved, od = signed
    with ctx.uow() as uow:
        # 8 GPUs on contract `reserved` down for 10 h of May's 744: availability 98.66 %, below a 99 % SLA.
        billing.record_incident(uow, POOL, MAY.start, MAY.start + 10 * H, ctx.new_id, contract_id=reserved)
        billing.set_billing_terms(uow, od, Decimal("50"), Decimal("30"))
    refused_without_change(
        ctx, InvalidInterval, lambda uow: billing.record_incident(uow, POOL, MAY.start, MAY.start, ctx.new_id)
    )
    refused_without_change(
        ctx, UnknownPool, lambda uow: billing.record_incident(uow, "s9/x", MAY.start, MAY.end, ctx.new_id)
    )
    with ctx.uow() as uow:
        [c] = [c for c in uow.contracts.page() if c.id == reserved]
        uow.contracts.save(replace(c, sla_uptime=Decimal("0.99")))
    with ctx.uow() as uow:
        invoice = billing.generate_invoice(uow, ctx.catalog, "lab", "2025-05", MAY.end + 1, ctx.new_id)
        terms_after = uow.billing.get_terms([od])[od]
    lines = {(line.contract_id, line.kind): line.amount for line in invoice.lines}
    # Credit: 10 % of the 14,284.80 commitment. On-demand: no usage, trued up to the $50 minimum, $30 prepaid.
    assert lines[(reserved, "sla-credit")] == Decimal("-1428.48")
    assert (lines[(od, "minimum")], lines[(od, "prepayment")]) == (Decimal("50.00"), Decimal("-30.00"))
    assert invoice.total == Decimal("14284.80") - Decimal("1428.48") + Decimal("20.00")
    assert terms_after.prepaid_balance == Decimal("0.00")
