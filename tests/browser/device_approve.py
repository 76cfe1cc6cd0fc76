"""Approve a device login in a real browser (Debian's Chromium through Playwright), as a person
would: open the device link, press Approve, log in at the dev IdP (and consent if asked), until
the server's callback page says the device is logged in.

    python device_approve.py --url URL --user alice --shots DIR

Prints one JSON line: {"final_url", "title", "console_errors": [...], "failed_requests": [...]}.
Console errors include Content-Security-Policy violations (a form whose redirect CSP blocks,
an inline script); every step has a timeout, and the browser is closed on any exit.
"""

import argparse
import json
import os
import sys
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

STEP_MS = 15_000


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("127.0.0.1", "::1", "localhost")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", default="password")
    ap.add_argument("--shots", required=True)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    os.makedirs(args.shots, exist_ok=True)

    errors: list[str] = []
    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_default_timeout(STEP_MS)
            # Nothing leaves the machine: the dev IdP's pages ask for web fonts, which are cut off.
            page.route(lambda u: not is_loopback(u), lambda route: route.abort())
            page.on("console", lambda m: errors.append(
                {"page": page.url, "source": m.location.get("url", ""), "text": m.text}
            ) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append({"page": page.url, "text": str(e)}))
            page.on("requestfailed", lambda r: failed.append(
                {"page": page.url, "url": r.url, "failure": r.failure}
            ))

            page.goto(args.url)
            page.screenshot(path=os.path.join(args.shots, "device-review.png"), full_page=True)
            page.get_by_role("button", name="Approve").click()

            page.wait_for_selector("input[name=login]")
            page.screenshot(path=os.path.join(args.shots, "idp-login.png"), full_page=True)
            page.fill("input[name=login]", args.user)
            page.fill("input[name=password]", args.password)
            page.press("input[name=password]", "Enter")

            # The dev IdP may ask for consent; then the server's callback page ends the flow.
            page.wait_for_url(lambda u: "/oauth/callback" in u or "/interaction/" in u)
            if "/interaction/" in page.url and page.locator("input[name=prompt][value=consent]").count():
                page.locator("form:has(input[name=prompt][value=consent]) button").first.click()
            page.wait_for_url(lambda u: "/oauth/callback" in u)
            page.wait_for_load_state("load")
            page.screenshot(path=os.path.join(args.shots, "device-approved.png"), full_page=True)
            print(json.dumps({
                "final_url": page.url,
                "title": page.title(),
                "console_errors": errors,
                "failed_requests": failed,
            }))
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
