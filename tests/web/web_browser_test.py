#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""web_browser_test.py - the web interface's page in a real browser: Debian's chromium, headless, driven through
chromium-driver by python3-selenium (registered by tests/cmake/web_tests.cmake).

    web_browser_test.py --peer P2P_PEER --tap P2P_TAP [--work DIR] [--screenshot FILE]

What a user would check, in order:
  1. the page does not load without the token, and loads with the printed URL (which then leaves the address bar)
  2. a peer that connects on its own appears within 2 s, without a reload
  3. the connect box connects to a peer, whose files appear, each with download buttons
  4. a file named <img src=x onerror=alert(1)>.txt shows as those characters: no alert, no img element
  5. a download button fetches a file (checked byte for byte) while the progress bar moves, with rate and time left
  6. a running download can be cancelled from the page; a failed connect shows in the failed-connection list
  7. another site's page cannot make the peer act (cross-origin POSTs are refused)
  8. the page has no horizontal scrolling at a phone's width, and the console has no errors (no CSP violation)
The transfers go through `p2p-tap relay --delay`, so that they last long enough to watch on any machine.
Exits 77 (skipped) with the reason when selenium, chromium or chromium-driver is missing or cannot start.
"""
import argparse
import http.server
import os
import random
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_client import (SKIP, STARTUP_S, STEP_S, TRANSFER_S, check, failure, harness, make_folder, process, read,  # noqa
                        run_scenario)

HOSTILE = "<img src=x onerror=alert(1)>.txt"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
APPEAR_S = 2.0  # a peer that connects must show within this long
DELAY_MS = 25  # the relay's delay each way
CHUNK = 128 * 1024
OTHER_CHUNKS = 512
assert OTHER_CHUNKS * 2 * DELAY_MS / 1000 > STEP_S, "other.bin must outlast the wait for its cancel"


def skip(reason):
    print(f"SKIP: {reason}")
    return SKIP


def dead_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_browser(webdriver, Service, profile):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Headless as root in a container: no sandbox (it needs user namespaces), no GPU, no /dev/shm; and nothing that
    # talks to the network on its own.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1100,960", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class evil_site:
    """Another web site on this machine (another origin): its page tries to make the peer connect somewhere."""

    def __init__(self, directory, target, address):
        page = f"""<!doctype html><title>evil</title><iframe name="sink"></iframe>
<form id="f" method="POST" action="{target}/api/connect" enctype="text/plain" target="sink">
<input name='{{"address":"{address}","x":"' value='"}}'></form>
<script>
const results = [];
async function attempt(name, init) {{
  try {{
    const r = await fetch("{target}/api/connect", init);
    results.push(name + ":" + r.type + ":" + r.status);
  }} catch (e) {{
    results.push(name + ":blocked");
  }}
}}
(async () => {{
  const body = JSON.stringify({{address: "{address}"}});
  await attempt("json", {{method: "POST", credentials: "include", headers: {{"Content-Type": "application/json"}}, body}});
  await attempt("no-cors", {{method: "POST", mode: "no-cors", credentials: "include",
                             headers: {{"Content-Type": "text/plain"}}, body}});
  await attempt("guessed-token", {{method: "POST", credentials: "include",
                                   headers: {{"Content-Type": "application/json", "X-P2P-Token": "{'0' * 64}"}}, body}});
  document.getElementById("f").submit();
  document.body.dataset.results = results.join(",");
  document.title = "done";
}})();
</script>"""
        with open(os.path.join(directory, "evil.html"), "w") as f:
            f.write(page)
        handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=directory, **kw)  # noqa: E731
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/evil.html"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def run(h, args, webdriver, Service, By, WebDriverWait, NoAlertPresentException, StaleElementReferenceException,
        TimeoutException):
    # Stop-and-wait through the relay's 25 ms each way: 96 chunks take 4.8 s at least, long enough to see the bar move
    # (about 24 progress reports) however slowly the browser is driven.
    big = random.Random(21).randbytes(96 * CHUNK)
    # other.bin is there to be cancelled: its 512 chunks take at least 25.6 s, longer than the step that waits for the
    # cancel (STEP_S), so it cannot end before the cancel lands on a slow machine (with 4 MiB, it once did in CI).
    other = os.urandom(OTHER_CHUNKS * CHUNK)
    a, a_id, a_port, web = h.web_serve("A", make_folder(h.path("a"), {"notes.txt": b"my notes\n"}),
                                       "--chunk-size", str(CHUNK), "--window", "1")
    b, b_id, b_port = h.serve("B", make_folder(h.path("b"), {"big.bin": big, "other.bin": other,
                                                                HOSTILE: b"<script>alert(2)</script>"}))
    relay = process("relay", [args.tap, "relay", "--listen", "0", "--bind", "127.0.0.1", "--to",
                              f"127.0.0.1:{b_port}", "--out", h.path("relay.cap"), "--delay", str(DELAY_MS)], h.dir)
    relay_port = int(relay.wait_for(r"relay listening on tcp://[^ ]+:(\d+)$", STARTUP_S).group(1))

    profile = tempfile.mkdtemp(prefix="chromium-", dir=h.dir)
    try:
        driver = start_browser(webdriver, Service, profile)
    except Exception as e:  # selenium's WebDriverException, or the driver binary failing to run
        return skip(f"chromium cannot start here: {str(e).strip().splitlines()[0] if str(e).strip() else e}")
    try:
        # The page redraws lists when events come: an element found a moment ago may be gone, so look again.
        wait = lambda timeout=STEP_S: WebDriverWait(  # noqa: E731
            driver, timeout, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException])
        js = driver.execute_script

        def texts(selector):
            """The text of every element matching selector, read in one go (no element can go stale between)."""
            return js("return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);", selector)

        # 1. Without the token: refused. With the printed URL: the page, and the token leaves the address bar.
        driver.get(f"http://127.0.0.1:{web.port}/")
        text = driver.find_element(By.TAG_NAME, "body").text
        check("token is needed" in text and not driver.find_elements(By.ID, "peers"), f"page without token: {text}")
        driver.get(web.url)
        check(driver.current_url == f"http://127.0.0.1:{web.port}/", f"address bar: {driver.current_url}")
        wait().until(lambda d: d.find_element(By.ID, "self-id").text == a_id)
        wait().until(lambda d: d.find_element(By.ID, "status").text == "Live")
        check(driver.title == f"p2p peer {a_id}", f"title: {driver.title}")
        js("window.notReloaded = true;")
        driver.get_log("browser")  # forget the refused load above; from here on the console must stay clean

        # 2. A peer that connects by itself appears within 2 s of connecting, with no reload.
        c, c_id, _ = h.serve("C", make_folder(h.path("c"), {"c.txt": b"c"}), "--connect", f"127.0.0.1:{a_port}")
        c.wait_for(rf"^Connected to peer {a_id}")
        connected = time.monotonic()
        wait(APPEAR_S + 1).until(lambda d: d.find_elements(By.CSS_SELECTOR, f'article[data-peer^="{c_id}"]'))
        appeared = time.monotonic() - connected
        check(appeared <= APPEAR_S, f"peer C appeared {appeared:.2f} s after connecting")
        check(js("return window.notReloaded === true;"), "the page reloaded")

        # 3. The connect box, to B through the relay.
        box = driver.find_element(By.ID, "connect-address")
        box.send_keys(f"127.0.0.1:{relay_port}")
        driver.find_element(By.ID, "connect-button").click()
        wait().until(lambda d: d.find_element(By.ID, "message").text.startswith(f"Connected to peer {b_id}"))
        peer_b = f'article[data-peer^="{b_id}"]'
        wait().until(lambda d: len(d.find_elements(By.CSS_SELECTOR, f"{peer_b} li.file")) == 3)

        # 4. The hostile name is text: shown as typed, nothing injected, nothing run.
        names = texts(f"{peer_b} li.file .name")
        check(HOSTILE in names, f"the hostile name is not shown as text: {names}")
        check(js("return document.querySelectorAll('main img, main script, main iframe').length;") == 0,
              "an element was injected into the page")
        try:
            alert = driver.switch_to.alert
            raise failure(f"an alert opened: {alert.text!r}")
        except NoAlertPresentException:
            pass

        def click(name, button):
            """Clicks a button in the row of file `name` of peer B, the way a user would (a real click event)."""
            js("""const row = [...document.querySelectorAll(arguments[0] + ' li.file')]
                      .find(li => li.querySelector('.name').textContent === arguments[1]);
                  row.querySelector(arguments[2]).click();""", peer_b, name, button)

        # 5. Download big.bin from B with its button, watching the bar move.
        click("big.bin", "button.get-one")
        seen, details, state = set(), set(), None
        deadline = time.monotonic() + TRANSFER_S
        while time.monotonic() < deadline:
            snapshot = js("""
                const t = [...document.querySelectorAll('article.transfer')]
                    .find(e => e.querySelector('.name').textContent === 'big.bin');
                if (!t) return null;
                const bar = t.querySelector('progress');
                return {state: t.dataset.state, value: bar.value, max: bar.max,
                        detail: t.querySelector('.detail').textContent};""")
            if snapshot:
                state = snapshot["state"]
                if 0 < snapshot["value"] < snapshot["max"]:
                    seen.add(snapshot["value"])
                    details.add(snapshot["detail"])
                if state in ("done", "failed"):
                    break
            time.sleep(0.03)
        check(state == "done", f"big.bin ended as {state}")
        check(len(seen) >= 2, f"the progress bar did not move: values {sorted(seen)}")
        check(any("/s" in d and "left" in d for d in details), f"no rate and time left shown: {details}")
        b_full = js(f"return document.querySelector('{peer_b}').dataset.peer;")
        a.wait_for(rf"^Got file big\.bin from peer {b_id} ", TRANSFER_S)
        check(read(h.path("a", "big.bin")) == big, "big.bin on disk differs from B's")
        wait().until(lambda d: "big.bin" in texts("#files .name"))
        check(js("""return !document.querySelector('article.transfer[data-state="done"] canvas').hidden;"""),
              "the rate chart is not shown")

        # 6. Cancel a running download; a failed connect goes to the failed-connection list.
        click("other.bin", "button.get-any")
        running = 'article.transfer[data-state="running"] button.cancel'
        wait(TRANSFER_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, running))
        driver.find_element(By.CSS_SELECTOR, running).click()
        other_transfer = "//article[contains(@class,'transfer')][.//span[@class='name' and text()='other.bin']]"
        try:
            wait().until(lambda d: "cancelled" in d.find_element(By.XPATH, other_transfer).text)
        except TimeoutException:
            raise failure(f"other.bin was not cancelled: its transfer shows "
                          f"{driver.find_element(By.XPATH, other_transfer).text!r}; the page says "
                          f"{driver.find_element(By.ID, 'message').text!r}")
        check(not os.path.exists(h.path("a", "other.bin")), "a cancelled download reached its final name")
        dead = dead_port()
        box.send_keys(f"127.0.0.1:{dead}")
        driver.find_element(By.ID, "connect-button").click()
        wait().until(lambda d: d.find_element(By.ID, "message").text.startswith("Connection error: "))
        wait().until(lambda d: f"127.0.0.1:{dead}" in d.find_element(By.ID, "failures").text)
        # Errors the API answered on purpose (the failed connect's 502) are logged as failed loads: those are
        # expected. Anything else (a script error, a Content-Security-Policy violation) is not.
        console = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE" and
                   "the server responded with a status of" not in entry["message"]]

        if args.screenshot:
            js("window.scrollTo(0, 0);")
            os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
            check(driver.save_screenshot(args.screenshot), f"cannot save the screenshot to {args.screenshot}")

        # 8 (first, while the page is open). At a phone's width nothing scrolls sideways.
        driver.set_window_size(390, 844)
        wait().until(lambda d: d.execute_script("return window.innerWidth;") <= 400)
        overflow = js("return document.documentElement.scrollWidth - window.innerWidth;")
        check(overflow <= 0, f"the page scrolls sideways by {overflow} px at a phone's width")
        if args.screenshot:
            phone = os.path.splitext(args.screenshot)[0] + "-phone.png"
            check(driver.save_screenshot(phone), f"cannot save the screenshot to {phone}")
        check(not console, f"the browser console has errors: {console}")

        # 7. Another site's page tries to make the peer connect: every attempt is refused, nothing happens.
        evil_target = dead_port()
        site = evil_site(h.path(), f"http://127.0.0.1:{web.port}", f"127.0.0.1:{evil_target}")
        try:
            driver.get(site.url)
            wait().until(lambda d: d.title == "done")
            results = js("return document.body.dataset.results;")
        finally:
            site.close()
        check("json:blocked" in results and "guessed-token:blocked" in results, f"cross-origin fetches: {results}")
        failures = web.get_json("/api/failures")
        check(all(f["address"] != f"127.0.0.1:{evil_target}" for f in failures),
              f"a cross-origin request made the peer connect: {failures}")
        check(not any(f"{evil_target}" in line for line in a.output), "the peer printed the evil connect")
        check(web.get("/api/self", headers={"Origin": site.url.rsplit("/", 1)[0]}).status == 403,
              "a request from the other origin was not refused")
        check(b_full.startswith(b_id), "B's id")
    finally:
        driver.quit()
    for p in (a, b, c, relay):
        check(p.stop() == 0, f"{p.name} did not stop cleanly")
    print(f"browser: token, live join in {appeared:.2f} s, connect box, hostile name as text, download with "
          f"{len(seen)} bar positions, cancel, failures, cross-origin refused ({results}), phone width")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", required=True, help="the p2p-peer binary")
    parser.add_argument("--tap", required=True, help="the p2p-tap binary (its relay slows the transfers down)")
    parser.add_argument("--work", default="/tmp", help="folder for the test's files")
    parser.add_argument("--screenshot", help="save a screenshot of the page here (docs/images/web.png is one), and "
                        "one at a phone's width beside it (NAME-phone.png)")
    args = parser.parse_args()
    try:
        from selenium import webdriver
        from selenium.common.exceptions import (NoAlertPresentException, StaleElementReferenceException,
                                                TimeoutException)
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError as e:
        return skip(f"python3-selenium is not installed ({e}); apt-get install python3-selenium")
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(binary, os.X_OK):
            return skip(f"{binary} is missing; apt-get install {package}")
    h = harness(args.peer, args.work, "browser")
    return run_scenario(lambda: run(h, args, webdriver, Service, By, WebDriverWait, NoAlertPresentException,
                                    StaleElementReferenceException, TimeoutException), h.dir)


if __name__ == "__main__":
    sys.exit(main())
