"""Takes the Dagster UI screenshots in docs/ui/ (issue 13): a month billed by `ccmeter
bill` materialised as a partition, the asset graph, and the plots of the totals across
months. Not part of the product or the tests; run by hand after billing a few months:

    export CCMETER_HOME=/tmp/shots
    ccmeter demo-data --months 2026-08 2026-09 2026-10
    for m in 2026-08 2026-09 2026-10; do ccmeter bill $m --no-pdf; done
    DAGSTER_HOME=$CCMETER_HOME/.dagster dagster-webserver -w workspace.yaml -p 3070 &
    python docs/ui/screenshots.py http://127.0.0.1:3070   # needs `pip install playwright`

It drives the system's Chromium (/usr/bin/chromium, Debian package `chromium`)."""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent


def main(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})

        def shot(name: str, path: str, click: str | None = None, wait: str | None = None,
                 only: str | None = None) -> None:
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            if click:
                page.get_by_role("button", name=click).first.click()
                page.wait_for_load_state("networkidle")
            if wait:
                page.get_by_text(wait, exact=True).first.wait_for()
            if only:  # the plot of this metadata key at the top of the view
                page.get_by_text(only, exact=True).first.scroll_into_view_if_needed()
                page.mouse.wheel(0, 300)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(HERE / name))
            print(f"wrote {HERE / name}")

        shot("asset-graph.png", "/assets/raw_feeds?view=lineage&lineageScope=downstream&lineageDepth=5")
        shot("specifications-partitions.png", "/assets/specifications?view=partitions&partition=2026-10",
             wait="control_totals")
        shot("specifications-plots.png", "/assets/specifications?view=overview", click="Plots",
             wait="total_EUR_cents", only="total_DKK_cents")
        shot("anomalies-plots.png", "/assets/anomalies?view=overview", click="Plots", wait="anomalies",
             only="anomalies_outside_hours")
        shot("runs.png", "/runs")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:3070")
