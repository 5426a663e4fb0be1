"""bench/lighthouse.py's pure parts on a small Lighthouse-style report; Lighthouse itself does not run here
(a minute per page: ``invoke lighthouse``)."""
from __future__ import annotations

import json
from pathlib import Path

from bench import lighthouse

REPORT = {  # the shape of a Lighthouse 12 JSON report, cut down
    "lighthouseVersion": "12.2.3",
    "configSettings": {"formFactor": "mobile"},
    "categories": {
        "accessibility": {"score": 0.94, "auditRefs": [
            {"id": "color-contrast", "weight": 7}, {"id": "image-alt", "weight": 10},
            {"id": "link-name", "weight": 7}, {"id": "video-caption", "weight": 0},
            {"id": "focus-traps", "weight": 0}]},
        "performance": {"score": 0.675, "auditRefs": [{"id": "first-contentful-paint", "weight": 10}]},
        "best-practices": {"score": 1},
        "seo": {"score": None},
    },
    "audits": {
        "color-contrast": {"score": 0, "title": "Background and foreground colors do not have a sufficient contrast ratio.",
                           "details": {"type": "table", "items": [{"node": {"type": "node", "selector": "a.md-nav__link"}},
                                                                  {"node": {"type": "node", "selector": "td > code"}}]}},
        "image-alt": {"score": 1, "title": "Image elements have `[alt]` attributes"},
        "link-name": {"score": 0, "title": "Links do not have a discernible name"},
        "video-caption": {"score": None, "scoreDisplayMode": "notApplicable", "title": "Video captions"},
        "focus-traps": {"score": None, "scoreDisplayMode": "manual", "title": "No focus traps"},
        "first-contentful-paint": {"score": 0.2, "title": "First Contentful Paint", "numericValue": 3012.5},  # not a11y
    },
}


def test_summarize_scores_and_failing_accessibility_audits():
    s = lighthouse.summarize(REPORT)
    assert s["scores"] == {"accessibility": 94, "performance": 68, "best-practices": 100, "seo": None}
    assert s["failing_accessibility"] == [
        {"id": "color-contrast", "title": REPORT["audits"]["color-contrast"]["title"], "n_elements": 2,
         "selectors": ["a.md-nav__link", "td > code"]},
        {"id": "link-name", "title": "Links do not have a discernible name", "n_elements": 0, "selectors": []}]
    assert s["metrics"] == {"first-contentful-paint": 3012.5}
    assert s["form_factor"] == "mobile"
    assert s["runtime_error"] is None


def test_table_and_atomic_strict_json(tmp_path: Path):
    pages = {"index": lighthouse.summarize(REPORT)}
    text = lighthouse.table(pages)
    assert "accessibility" in text and "94" in text and "-" in text.splitlines()[1]
    out = tmp_path / "lighthouse.json"
    lighthouse.write_json(out, {"pages": pages})
    assert json.loads(out.read_text())["pages"]["index"]["scores"]["seo"] is None
    assert [p.name for p in tmp_path.iterdir()] == ["lighthouse.json"]  # the temp file was renamed away
    assert lighthouse.page_name("/studies/optimizer_comparison/") == "studies/optimizer_comparison"
    assert lighthouse.page_name("") == "index"


def test_invoke_task_exists():
    import tasks
    assert tasks.lighthouse.name == "lighthouse"
    assert "bench/lighthouse.py" in Path(tasks.__file__).read_text()
