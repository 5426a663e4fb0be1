"""Claim dating: when an expectation entered its spec's git history against when the runs it checks
started, in a tiny temporary repository (spec committed, then results, then another claim), and the
same marks read from the committed record in a shallow clone."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import valid_result
from reportgen.report.judge import claimdates
from reportgen.spec.catalog import load_spec
from reportgen.report.judge.findings import check
from reportgen.spec import Expect
from reportgen.results.summary import StudyResults, VariantResults

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

SPEC = '''from reportgen.spec import Expect, Study, Sweep

LOW = 0.5
STUDY = Study(
    title="Toy", question="Does a beat b?",
    sweep=Sweep(variants={{"a": {{"optim.lr": 0.001}}, "b": {{"optim.lr": 0.01}}}}, seeds=(0,)),
    expect=(
{claims}
    ),
)
'''
BEFORE = '        Expect("test_accuracy", variant="a", at_least=0.9, source="{src}"),'
AFTER = '        Expect("test_accuracy", variant="a", higher_than="b", source="written after the runs"),'
RANKING = '        Expect("test_accuracy", highest="a"),'
CONST = '        Expect("test_accuracy", variant="b", at_least=LOW),'


def git(repo: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def commit(repo: Path, when: str, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, when=when)
    return git(repo, "rev-parse", "HEAD").strip()


def write_spec(repo: Path, *claims: str) -> None:
    (repo / "experiments" / "toy.py").write_text(SPEC.format(claims="\n".join(claims)), encoding="utf-8")


def write_run(repo: Path, variant: str, created: str, acc: float, key: str, lr: float = 0.001) -> None:
    run = valid_result(key, study="toy", variant=variant, test={"accuracy": acc, "loss": 0.2})
    run["config"]["optim"]["lr"] = lr
    run["provenance"]["created"] = created
    path = repo / "results" / "toy" / variant / "seed0.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run), encoding="utf-8")


def study(repo: Path) -> StudyResults:
    spec = load_spec(repo / "experiments" / "toy.py")
    vs = []
    for name in ("a", "b"):
        path = repo / "results" / "toy" / name / "seed0.json"
        runs = [json.loads(path.read_text())] if path.exists() else []
        vs.append(VariantResults(name, name, runs, 1))
    return StudyResults(spec, vs, "a")


def marks(repo: Path) -> list[tuple[str, str]]:
    sr = study(repo)
    return [(d.claim, d.dating.status) for d in claimdates.dated(sr, [check(sr, e) for e in sr.spec.study.expect],
                                                                 repo / "results", repo / "docs")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Spec with one claim at 10:00; runs started 11:00 and 11:05, committed 12:00; a second claim
    (and a reworded source on the first) committed 13:00."""
    repo = tmp_path / "repo"
    (repo / "experiments").mkdir(parents=True)
    git(repo, "init", "-q")
    write_spec(repo, BEFORE.format(src="declared first"))
    commit(repo, "2026-01-01T10:00:00+00:00", "spec")
    write_run(repo, "a", "2026-01-01T11:00:00+00:00", 0.95, "k-a")
    write_run(repo, "b", "2026-01-01T11:05:00+00:00", 0.90, "k-b", lr=0.01)
    commit(repo, "2026-01-01T12:00:00+00:00", "results")
    write_spec(repo, BEFORE.format(src="reworded later"), AFTER)
    commit(repo, "2026-01-01T13:00:00+00:00", "claim after the runs")
    return repo


def test_a_claim_committed_before_the_runs_is_marked_before_and_one_added_later_after(repo):
    sr = study(repo)
    checks = claimdates.dated(sr, [check(sr, e) for e in sr.spec.study.expect], repo / "results", repo / "docs")
    first, second = (c.dating for c in checks)
    assert (first.status, second.status) == ("before", "after")
    assert first.label == "declared before the runs" and second.label == "added after the runs"
    # the reworded source does not re-date the first claim; the run time is provenance.created
    assert first.declared == "2026-01-01T10:00:00+00:00" and first.runs_at == "2026-01-01T11:00:00+00:00"
    assert first.detail == (f"claim in commit {first.commit[:7]} of 2026-01-01 10:00:00 UTC; first run of a started "
                            "2026-01-01 11:00:00 UTC, from provenance.created")
    assert checks[0].outcome == check(sr, sr.spec.study.expect[0]).outcome  # the check's own attributes pass through
    record = json.loads((repo / "docs" / claimdates.RECORD).read_text())
    assert set(record["claims"]["toy"]) == {claimdates.claim_id(e) for e in sr.spec.study.expect}
    assert record["runs"]["results/toy/a/seed0.json"]["key"] == "k-a"
    # results elsewhere (a smoke folder, a test's copy) are dated but never enter the record
    other = repo / ".smoke" / "results"
    shutil.copytree(repo / "results", other)
    (other / "toy" / "a" / "seed0.json").write_text(json.dumps({**sr.variants[0].runs[0], "key": "k-smoke"}))
    claimdates.dated(sr, [check(sr, e) for e in sr.spec.study.expect], other, repo / "docs")
    assert json.loads((repo / "docs" / claimdates.RECORD).read_text()) == record


def test_a_ranking_claim_is_dated_against_every_variant_and_an_uncommitted_one_is_after(repo):
    write_spec(repo, BEFORE.format(src="x"), AFTER, RANKING)  # in the working tree only
    assert marks(repo)[2] == ("a has the highest test accuracy", "after")
    sr = study(repo)
    dating = claimdates.dated(sr, [check(sr, e) for e in sr.spec.study.expect], repo / "results", repo / "docs")[2].dating
    assert dating.runs_of == "a, b" and dating.commit is None and "not committed yet" in dating.detail


def test_a_claim_with_no_runs_yet_and_a_changed_bound_is_a_new_claim(tmp_path):
    repo = tmp_path / "r"
    (repo / "experiments").mkdir(parents=True)
    git(repo, "init", "-q")
    write_spec(repo, BEFORE.format(src="s"))
    commit(repo, "2026-01-01T10:00:00+00:00", "spec")
    assert marks(repo) == [("test accuracy of a ≥ 90 %", "no runs")]
    write_run(repo, "a", "2026-01-01T11:00:00+00:00", 0.95, "k-a")
    commit(repo, "2026-01-01T12:00:00+00:00", "results")
    write_spec(repo, BEFORE.format(src="s").replace("0.9", "0.92"))  # the bound moved after the results
    commit(repo, "2026-01-01T13:00:00+00:00", "bound")
    assert marks(repo) == [("test accuracy of a ≥ 92 %", "after")]


def test_a_rewritten_result_keeps_the_time_of_its_first_committed_numbers(repo):
    """A re-keyed file (same config and numbers, new key, later created) dates from the first version."""
    write_run(repo, "a", "2026-01-01T15:00:00+00:00", 0.95, "k-a2")
    old = commit(repo, "2026-01-01T15:30:00+00:00", "re-keyed")
    write_spec(repo, BEFORE.format(src="reworded later"), AFTER, CONST)
    commit(repo, "2026-01-01T14:00:00+00:00", "claim on b, after its run")
    sr = study(repo)
    d = claimdates.dated(sr, [check(sr, e) for e in sr.spec.study.expect], repo / "results", repo / "docs")
    assert d[0].dating.runs_at == "2026-01-01T11:00:00+00:00" and old[:7] not in d[0].dating.runs_how
    assert d[0].dating.status == "before" and d[2].dating.status == "after"
    # a run of another experiment (other config, other numbers) starts a new record
    write_run(repo, "a", "2026-01-01T16:00:00+00:00", 0.97, "k-a3", lr=0.002)
    commit(repo, "2026-01-01T16:30:00+00:00", "new experiment")
    d = claimdates.dated(study(repo), [check(sr, e) for e in sr.spec.study.expect], repo / "results", repo / "docs")
    assert d[0].dating.runs_at == "2026-01-01T16:00:00+00:00"


def test_a_shallow_clone_reads_the_committed_record_and_marks_the_same(repo, tmp_path):
    full = marks(repo)
    commit(repo, "2026-01-01T14:00:00+00:00", "record")  # the record written by the call above
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", (repo.as_uri()), str(clone))
    assert claimdates.Repo.of(clone / "experiments").shallow
    assert marks(clone) == full == [("test accuracy of a ≥ 90 %", "before"),
                                    ("test accuracy of a is higher than that of b", "after")]
    assert (clone / "docs" / claimdates.RECORD).read_text() == (repo / "docs" / claimdates.RECORD).read_text()
    (clone / "docs" / claimdates.RECORD).unlink()  # no record, no history: the dates are unknown
    assert [m[1] for m in marks(clone)] == ["unknown", "unknown"]


def test_claims_are_read_from_old_revisions_by_their_literal_arguments():
    text = SPEC.format(claims="\n".join([BEFORE.format(src="s"), CONST, '        Expect("test_accuracy", lowest=pick()),']))
    assert claimdates.claims_in(text) == {claimdates.claim_id(Expect("test_accuracy", variant="a", at_least=0.9)),
                                          claimdates.claim_id(Expect("test_accuracy", variant="b", at_least=0.5))}
    assert claimdates.claims_in("def (") == set()


def test_tally_counts_outcomes_by_declaration():
    def c(outcome, status):
        return claimdates.Dated(type("C", (), {"outcome": outcome})(), claimdates.Dating(status))
    rows = claimdates.tally([c("held", "before"), c("held", "after"), c("held", "before"),
                             c("contradicted", "after"), c("inconclusive", "unknown")])
    assert [(r["outcome"], r["n"], r["before"], r["after"], r["other"]) for r in rows] == [
        ("held", 3, 2, 1, 0), ("contradicted", 1, 0, 1, 0), ("inconclusive", 1, 0, 0, 1)]


def test_the_pages_workflow_fetches_the_history():
    import yaml

    flow = yaml.safe_load((Path(__file__).resolve().parents[1] / ".github" / "workflows" / "pages.yml").read_text())
    checkout = next(s for s in flow["jobs"]["build"]["steps"] if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
