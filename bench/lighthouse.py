"""Lighthouse (mobile) on the built site: scores per page → bench/lighthouse.json and a short table.

Run: ``invoke lighthouse`` or ``python bench/lighthouse.py [--site DIR] [--page PATH ...] [--json FILE]``.

- Builds the site with ``mkdocs build --strict`` into a temporary folder (unless ``--site`` names an
  already built one) and serves it on 127.0.0.1 at a free port (http.server, in a thread), text
  gzip-compressed as GitHub Pages serves it.
- Runs ``lighthouse@12.2.3`` (installed once with npm into ``.lighthouse/``, git-ignored) with its default
  mobile profile in headless Chromium, on the index page and ``studies/optimizer_comparison/`` (``--page``
  picks others; repeatable), categories accessibility, performance, best-practices and seo.
- Writes the 0–100 scores, the failing accessibility audits, the Lighthouse and Chromium versions, the
  date and the load average to the JSON (atomically), and prints a table.

Needs: Node.js with npm (the first run installs Lighthouse, ~20 s) and Chromium (``$CHROME_PATH``,
default /usr/bin/chromium). Takes about a minute per page on 2 cores, plus the build (~1 min).
The performance score is noisy on a loaded machine; accessibility, best-practices and seo are not.
"""
from __future__ import annotations

import argparse
import datetime
import functools
import gzip
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "12.2.3"
PREFIX = ROOT / ".lighthouse"
CATEGORIES = ("accessibility", "performance", "best-practices", "seo")
DEFAULT_PAGES = ("", "studies/optimizer_comparison/")
CHROME_FLAGS = "--headless=new --no-sandbox"
METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift",
           "speed-index")  # numericValue: ms, except the layout shift (unitless)


def summarize(report: dict) -> dict:
    """Scores (0–100, None when Lighthouse could not score a category) and failing accessibility audits
    (score below 1; audits that do not apply or need a manual check have no score) of one JSON report."""
    cats = report.get("categories", {})
    scores = {c: (None if cats.get(c, {}).get("score") is None else round(cats[c]["score"] * 100))
              for c in CATEGORIES if c in cats}
    audits = report.get("audits", {})
    refs = cats.get("accessibility", {}).get("auditRefs")
    ids = [r["id"] for r in refs] if refs is not None else list(audits)
    failing = [{"id": i, "title": audits[i].get("title", ""), **_elements(audits[i])} for i in ids
               if i in audits and audits[i].get("score") is not None and audits[i]["score"] < 1]
    metrics = {m: audits[m].get("numericValue") for m in METRICS if m in audits}
    return {"scores": scores, "failing_accessibility": failing, "metrics": metrics,
            "form_factor": report.get("configSettings", {}).get("formFactor"),
            "runtime_error": (report.get("runtimeError") or {}).get("message")}


def _elements(audit: dict, most: int = 5) -> dict:
    """How many elements an accessibility audit flags, and the CSS selectors of the first few."""
    nodes = [it["node"] for it in (audit.get("details") or {}).get("items") or [] if isinstance(it.get("node"), dict)]
    return {"n_elements": len(nodes), "selectors": [n.get("selector", "") for n in nodes[:most]]}


def page_name(page: str) -> str:
    return page.strip("/") or "index"


def table(pages: dict) -> str:
    cols = [c for c in CATEGORIES if any(c in p["scores"] for p in pages.values())]
    width = max([len(n) for n in pages] + [4])
    lines = [f"{'page':<{width}}  " + "  ".join(f"{c:>14}" for c in cols)]
    for name, p in pages.items():
        cells = ["-" if p["scores"].get(c) is None else str(p["scores"][c]) for c in cols]
        lines.append(f"{name:<{width}}  " + "  ".join(f"{v:>14}" for v in cells))
    return "\n".join(lines)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    os.replace(tmp, path)


def _fail(msg: str) -> None:
    sys.exit(f"lighthouse: {msg}")


def chromium() -> str:
    path = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    found = shutil.which(path)
    if not found:
        _fail(f"no Chromium at {path} (install it, or set CHROME_PATH)")
    return found


def lighthouse_bin() -> Path:
    """The local Lighthouse CLI, installed into .lighthouse/ with npm the first time."""
    cli = PREFIX / "node_modules" / "lighthouse" / "cli" / "index.js"
    pkg = PREFIX / "node_modules" / "lighthouse" / "package.json"
    if pkg.exists() and json.loads(pkg.read_text()).get("version") == VERSION and cli.exists():
        return cli
    if not shutil.which("npm") or not shutil.which("node"):
        _fail("npm/node not found: install Node.js (20+) to fetch Lighthouse")
    print(f"installing lighthouse@{VERSION} into {PREFIX} ...", flush=True)
    r = subprocess.run(["npm", "install", "--prefix", str(PREFIX), f"lighthouse@{VERSION}", "--no-audit", "--no-fund"])
    if r.returncode != 0 or not cli.exists():
        _fail(f"npm install lighthouse@{VERSION} failed (exit {r.returncode})")
    return cli


def build_site(out: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                        "-d", str(out)], cwd=ROOT, env={**os.environ, "DISABLE_MKDOCS_2_WARNING": "true"})
    if r.returncode != 0:
        _fail(f"mkdocs build --strict failed (exit {r.returncode})")


#: Text types compressed as GitHub Pages compresses them (gzip when the browser accepts it); images are not.
COMPRESSED = (".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".csv", ".map")


def serve(site: Path) -> http.server.ThreadingHTTPServer:
    """The built site on 127.0.0.1 at a free port, text gzip-compressed as GitHub Pages serves it (an
    uncompressed server would charge the simulated mobile network several times the bytes a reader
    downloads)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # one line per request drowns the table
            pass

        def send_head(self):
            path = Path(self.translate_path(self.path))
            if path.is_dir():
                path = path / "index.html"
            if (path.suffix.lower() not in COMPRESSED or not path.is_file()
                    or "gzip" not in self.headers.get("Accept-Encoding", "")):
                return super().send_head()
            body = gzip.compress(path.read_bytes(), mtime=0)
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_page(cli: Path, chrome: str, url: str, out: Path) -> dict:
    cmd = ["node", str(cli), url, "--output=json", f"--output-path={out}", "--quiet",
           f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROME_FLAGS}"]
    r = subprocess.run(cmd, env={**os.environ, "CHROME_PATH": chrome}, timeout=600)
    if r.returncode != 0 or not out.exists():
        _fail(f"Lighthouse failed on {url} (exit {r.returncode})")
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--site", type=Path, help="an already built site (default: build one with mkdocs)")
    ap.add_argument("--page", action="append", help="a page path under the site, e.g. studies/dropout_ablation/ "
                                                     "(repeatable; default: the index and studies/optimizer_comparison/)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "lighthouse.json")
    args = ap.parse_args(argv)
    chrome, cli = chromium(), lighthouse_bin()
    version = subprocess.run([chrome, "--version"], capture_output=True, text=True).stdout.strip()
    start, load_before = time.monotonic(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp:
        site = args.site
        if site is None:
            site = Path(tmp) / "site"
            print("building the site (mkdocs build --strict) ...", flush=True)
            build_site(site)
        if not (site / "index.html").exists():
            _fail(f"{site} has no index.html: not a built site")
        server = serve(site)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        pages, lh_version = {}, None
        try:
            for page in args.page or DEFAULT_PAGES:
                url = base + page.lstrip("/")
                print(f"lighthouse {url} ...", flush=True)
                report = run_page(cli, chrome, url, Path(tmp) / f"report-{len(pages)}.json")
                lh_version = report.get("lighthouseVersion", lh_version)
                pages[page_name(page)] = {"path": "/" + page.lstrip("/"), **summarize(report)}
        finally:
            server.shutdown()
    data = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "lighthouse_version": lh_version, "chromium_version": version,
            "chrome_flags": CHROME_FLAGS,
            "cpu_count": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "seconds": round(time.monotonic() - start, 1), "pages": pages}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.json, data)
    print()
    print(table(pages))
    for name, p in pages.items():
        for a in p["failing_accessibility"]:
            print(f"  {name}: accessibility fails {a['id']} ({a['n_elements']} elements): {a['title']}")
    load = ", ".join(f"{x:.2f}" for x in data["loadavg_after"])
    print(f"\nperformance is noisy on a loaded {os.cpu_count()}-core machine (load average {load}): compare it "
          f"across runs with care. {data['seconds']:.0f} s → {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
