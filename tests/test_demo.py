from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from steward.demo import run_demo


@pytest.mark.slow
@pytest.mark.parametrize("remote", [False, True], ids=["embedded", "remote"])
def test_demo_walks_through_and_ends_with_the_ledger_verified(tmp_path: Path, remote: bool) -> None:
    """The same steps and the same outcomes embedded and over HTTP (``--remote``: every step
    a call of a ``steward serve`` child process's API)."""
    buffer = io.StringIO()
    result = run_demo(Console(file=buffer, width=120), keep=tmp_path / "demo", remote=remote)
    text = buffer.getvalue()
    assert result.ok
    if remote:
        flat = " ".join(text.split())
        assert "served by steward serve (pid " in flat and "2 workers) on http://127.0.0.1:" in flat
        assert "the running server on http://127.0.0.1:" in flat
        assert "and starts it again (pid " in flat
        log = (tmp_path / "demo" / "server.log").read_text()
        assert log.count("as admin on http://127.0.0.1:") == 2, log  # started, restarted
    assert result.events_checked >= 9
    assert "refused (exit 3 on the CLI)" in text
    assert "nothing was written" in text
    assert "standalone verifier" in text and "says: OK" in text
    assert "TAMPERED at event 3" in text
    assert "loans@1: 1,989 rows × 55 columns" in text
    assert "identical to loans@1: no new version registered" in text
    assert "PII columns marked on applicant-contacts@1: contact_email, phone, card_on_file" in text
    assert "column 'emp' of the contract is missing" in text
    assert "column 'race' has 1 new category: 'asian'" in text
    assert "loan-approval@1 registered: " in text
    assert "kept out of the model's inputs: race (declared sensitive attribute), sex" in text
    assert "study loan-approval-" in text and "20 trial runs" in text
    assert "split " in text and "model.registered model:loan-approval@1" in text
    assert "reproduced exactly" in text
    assert "performance v2: passed — roc_auc 0." in text
    assert "fairness v1: " in text and "disparate impact ratio race " in text
    assert (
        "data v1: passed — the data's own evidence: data.pii passed, data.validation passed" in text
    )
    assert "privacy v2: " in text and "robustness v1: " in text and "flip rates noise" in text
    assert "explainability v3: " in text and "tree SHAP, mean |SHAP| (log-odds)" in text
    assert (tmp_path / "demo" / "plots" / "explainability-shap_beeswarm.png").exists()
    assert (tmp_path / "demo" / "plots" / "performance-calibration.png").exists()
    # the gate: first failing for want of approvals, rule by rule (lines may wrap)
    flat = " ".join(text.split())
    assert "FAIL approvals.steward: 0 of 2 steward approval(s)" in flat
    assert "dana is the author of loan-approval@1 and may not approve it" in flat
    assert "loan-approval@1 is in production" in flat
    assert "eli tries to promote it to production: refused (exit 1)" in flat
    assert "FAIL evidence.fairness.attributes.race.disparate_impact_ratio" in flat
    assert "< min 0.8" in flat
    # evidence reproduced by another identity, and the insider's dodge refused
    assert "fairness evidence" in flat and "by dana" in flat and "results agree" in flat
    assert (
        "eli promotes it: refused (exit 1) — the sandbox policy governs, but the high-risk" in flat
    )
    assert "pack of risk tier high is enforced as the floor" in flat
    assert "dana tries to lower its risk tier: refused (exit 3)" in flat
    # serving: deployed through the gate, the biased canary refused, a real server, canary
    # and rollback reaching it
    assert "eli deploys loan-approval@1 to endpoint loans" in flat
    assert "as a 10% canary: refused (exit 1)" in flat
    assert "ready, loans serves loan-approval@1" in flat
    assert "eli's own (unscoped) token: 403" in flat
    assert "with ?explain=true (" in flat and "top contributions" in flat
    assert "a malformed application: 422" in flat and "(wrong_type), zip (unknown)" in flat
    assert 'endpoint="loans",model="loan-approval@1"} 11.0' in flat
    assert "the prediction log holds 51 records" in flat and "email=hmac-sha256:" in flat
    assert "to loan-approval@2" in flat and "the server answers from loan-approval@1 again" in flat
    assert "1 deploy → 2 canary → 3 rollback" in flat
    # monitoring that acts
    assert "eli applies monitor loans-watch@1 to loans" in flat
    assert "calibration, inputs, multivariate, outputs" in flat
    assert "0 input(s) drifted" in flat and "— no alert" in flat
    assert "(high, inputs-drifted): 1 of 52 inputs drifted" in flat
    assert "suspend: loans stopped: it answers 503 with the reason" in flat
    assert "the running server now answers 503" in flat
    assert "realised accuracy 0." in flat and "sofia acknowledges alert" in flat
    assert "loans-retrain@1, 2,289 rows" in flat
    assert "lineage naming loan-approval@1" in flat and "paired bootstrap 95%" in flat
    assert "no shortcut for a challenger" in flat
    assert "as a 10% canary" in flat and "of 200 applicants," in flat
    assert "✓ ledger verified" in text.split("Final check")[1]
    assert (tmp_path / "demo" / "home" / "steward.json").exists()
