"""Browser tests against real processes: the widget server and a provider's website, both over
HTTPS on loopback, a real SMTP mailbox, and Debian's Chromium driven by Playwright.

Host names under `.test` all resolve to 127.0.0.1 inside the browser, so `widget.test` framed
by `provider.test` is a genuinely cross-site iframe: cookie partitioning, third-party cookie
blocking and CSP frame-ancestors behave as they do on the real web. One trustme CA signs one
certificate for every host; the browser contexts ignore HTTPS errors instead of trusting it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from playwright.sync_api import BrowserContext, BrowserType, ConsoleMessage, Page

E2E_DIR = Path(__file__).resolve().parent
PROJECT_DIR = E2E_DIR.parent
from widget_server.demo import TENANTS_DIR as DEMO_TENANTS  # noqa: E402

sys.path.insert(0, str(PROJECT_DIR / "tests"))

from fake_stripe import FakeStripe  # noqa: E402
from smtp import Mailbox, free_port  # noqa: E402  (tests/ is not a package)

PYTHON = str(PROJECT_DIR / ".venv" / "bin" / "python")
WIDGET_CLI = str(PROJECT_DIR / ".venv" / "bin" / "widget-server")
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
                 if Path(p).exists()), None)
SCREENSHOTS = E2E_DIR / "screenshots"
HOSTS = ("widget.test", "provider.test", "other.test", "rogue.test")
STARTUP_TIMEOUT = 30.0

VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}

LOAD_DEMO = """
import sys
from datetime import date
from widget_server.core.db import make_engine, session_scope
from widget_server.demo.data import load_demo
engine = make_engine(sys.argv[1])
with session_scope(engine) as session:
    for slug in ("demo", "demo-sk"):
        load_demo(session, slug, date.today())
engine.dispose()
"""


# --- processes --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Certificates:
    key: Path
    cert: Path


@pytest.fixture(scope="session")
def certificates(tmp_path_factory) -> Certificates:
    """One server certificate for every test host, from a throwaway CA."""
    directory = tmp_path_factory.mktemp("tls")
    server = trustme.CA().issue_cert(*HOSTS)
    key, cert = directory / "server.key", directory / "server.pem"
    server.private_key_pem.write_to_path(str(key))
    server.cert_chain_pems[0].write_to_path(str(cert))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    return Certificates(key=key, cert=cert)


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """The real SMTP server the widget sends its login e-mails to."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@dataclass(frozen=True)
class ProviderSites:
    """One process answering as several unrelated websites (the host name makes the site)."""

    port: int

    def url(self, host: str = "provider.test", path: str = "/") -> str:
        """`/` frames the widget by hand; `/my-profile` embeds it with the snippet."""
        return f"https://{host}:{self.port}{path}"


@pytest.fixture(scope="session")
def provider_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def provider_sites(provider_port, widget, certificates,
                   tmp_path_factory) -> Iterator[ProviderSites]:
    env = os.environ | {"WIDGET_ORIGIN": widget.origin}
    log = tmp_path_factory.mktemp("provider") / "provider.log"
    with _Process([PYTHON, "-m", "uvicorn", "provider_site:app", "--app-dir", str(E2E_DIR),
                   "--host", "127.0.0.1", "--port", str(provider_port),
                   "--ssl-keyfile", str(certificates.key),
                   "--ssl-certfile", str(certificates.cert), "--log-level", "warning"],
                  env, log, f"https://127.0.0.1:{provider_port}/"):
        yield ProviderSites(port=provider_port)


@pytest.fixture(scope="session")
def tenants_dir(tmp_path_factory, provider_port) -> Path:
    """The repository's tenant files, with `demo` framable by provider.test and other.test
    (and deliberately not by rogue.test), its profile page being provider.test/my-profile."""
    directory = tmp_path_factory.mktemp("tenants")
    for path in DEMO_TENANTS.glob("*.toml"):
        shutil.copy(path, directory / path.name)
    demo = directory / "demo.toml"
    origins = [f"https://provider.test:{provider_port}", f"https://other.test:{provider_port}"]
    text = demo.read_text()
    for key, value in (("allowed_origins", origins),
                       ("profile_page_url", f"https://provider.test:{provider_port}/my-profile")):
        text, count = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {json.dumps(value)}", text)
        assert count == 1, f"demo.toml has no single-line {key} to rewrite"
    demo.write_text(text)
    # The Slovak school is framed by provider.test too, for the two-schools page.
    sk = directory / "demo-sk.toml"
    sk_text, count = re.subn(r"(?m)^allowed_origins\s*=.*$",
                             f"allowed_origins = {json.dumps(origins[:1])}", sk.read_text())
    assert count == 1
    sk.write_text(sk_text)
    return directory


@dataclass(frozen=True)
class Widget:
    port: int
    log: Path
    tenant: str = "demo"

    @property
    def origin(self) -> str:
        return f"https://widget.test:{self.port}"

    @property
    def loopback_origin(self) -> str:
        """Where Python (not the browser) reaches it: `.test` resolves only in Chromium."""
        return f"https://127.0.0.1:{self.port}"

    def url(self, path: str = "", tenant: str | None = None) -> str:
        return f"{self.origin}/t/{tenant or self.tenant}/{path}"


@pytest.fixture(scope="session")
def fake_stripe() -> Iterator[FakeStripe]:
    """Stripe's API and hosted checkout, faked on loopback (tests/fake_stripe.py); the demo
    tenant takes card payments through it."""
    stripe = FakeStripe()
    stripe.start()
    yield stripe
    stripe.stop()


@pytest.fixture(scope="session")
def widget(certificates, mailbox, tenants_dir, fake_stripe,
           tmp_path_factory) -> Iterator[Widget]:
    """The widget server as in production: migrated database, demo data, uvicorn over TLS."""
    directory = tmp_path_factory.mktemp("widget")
    port = free_port()
    fake_stripe.widget = f"https://127.0.0.1:{port}"  # where its checkout page reports back
    env = os.environ | {
        "WIDGET_DATABASE_URL": f"sqlite:///{directory / 'e2e.db'}",
        "WIDGET_SECRET_KEYS": "e2e-secret",
        "WIDGET_BASE_URL": f"https://widget.test:{port}",
        "WIDGET_TENANTS_DIR": str(tenants_dir),
        "WIDGET_SMTP_HOST": "127.0.0.1",
        "WIDGET_SMTP_PORT": str(mailbox.port),
        "WIDGET_SMTP_TLS": "none",
        "WIDGET_STRIPE_SECRET_KEY_DEMO": fake_stripe.secret_key,
        "WIDGET_STRIPE_WEBHOOK_SECRET_DEMO": fake_stripe.webhook_secret,
        "WIDGET_STRIPE_API_BASE": fake_stripe.url,
        # No timed e-mails (reminders, waiting-list offers): a reminder landing between a
        # login e-mail and the test reading it would be read as the login e-mail.
        "WIDGET_SCHEDULER_INTERVAL": "0",
        # Every e2e login comes from 127.0.0.1.
        "WIDGET_LOGIN_EMAILS_PER_IP": "1000",
        # Many stories log in the richest demo families; the limit itself has its own tests.
        "WIDGET_LOGIN_EMAILS_PER_ADDRESS": "100",
        "WIDGET_LOGIN_CODES_PER_IP": "1000",
    }
    for command in ([WIDGET_CLI, "migrate"],
                    [PYTHON, "-c", LOAD_DEMO, env["WIDGET_DATABASE_URL"]]):
        done = subprocess.run(command, env=env, cwd=PROJECT_DIR, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"{command[:2]} failed ({done.returncode}):\n{done.stderr}",
                        pytrace=False)
    with _Process([PYTHON, "-m", "uvicorn", "widget_server.asgi:app",
                   "--host", "127.0.0.1", "--port", str(port),
                   "--ssl-keyfile", str(certificates.key),
                   "--ssl-certfile", str(certificates.cert)],
                  env, directory / "widget.log", f"https://127.0.0.1:{port}/healthz"):
        yield Widget(port, log=directory / "widget.log")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed test shows the end of the widget server's log (tracebacks land there)."""
    report = yield
    widget = getattr(item, "funcargs", {}).get("widget")
    if report.failed and isinstance(widget, Widget) and widget.log.exists():
        tail = widget.log.read_text(errors="replace").splitlines()[-40:]
        report.sections.append(("widget server log (last 40 lines)", "\n".join(tail)))
    return report


class _Process:
    """A server subprocess that is ready once `ready_url` answers 200; its output goes to a
    file (a pipe nobody reads would eventually block the server)."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, ready_url: str):
        self.command, self.env, self.log, self.ready_url = command, env, log, ready_url
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> subprocess.Popen:
        self._file = self.log.open("wb")
        self.process = subprocess.Popen(self.command, env=self.env, cwd=PROJECT_DIR,
                                        stdout=self._file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail(f"exited with {self.process.returncode}")
            try:
                if httpx.get(self.ready_url, verify=False, timeout=2).status_code == 200:
                    return self.process
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self._fail(f"did not answer {self.ready_url} within {STARTUP_TIMEOUT:.0f} s")
        raise AssertionError("unreachable")

    def _fail(self, why: str) -> None:
        self.__exit__()
        output = self.log.read_text(errors="replace")
        pytest.fail(f"{' '.join(self.command[:4])} {why}; its output:\n{output}", pytrace=False)

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._file.close()


# --- the browser ------------------------------------------------------------------------------

BROWSER_ARGS = [
    "--host-resolver-rules=MAP *.test 127.0.0.1",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch options plus Debian's Chromium and the *.test resolver."""
    if CHROMIUM is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium", pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": BROWSER_ARGS}


@pytest.fixture(scope="session")
def base_url() -> None:
    """Shadows pytest-playwright's `base_url`, a session fixture written as an instance method,
    which pytest 9 deprecates (an error under `filterwarnings = error`). Tests use full URLs."""
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "ignore_https_errors": True, "locale": "en-GB"}


class ConsoleWatch:
    """Collects console errors and uncaught exceptions of every page it watches."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        """Expect errors matching `pattern` (a regex) in this test."""
        self.allowed.append(re.compile(pattern))

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"console error on {page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error on {page.url}: "
                                                              f"{error}"))

    def watch_context(self, context: BrowserContext) -> None:
        for page in context.pages:
            self.watch(page)
        context.on("page", self.watch)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def console() -> Iterator[ConsoleWatch]:
    """Fails the test on any console error it did not `allow`."""
    watch = ConsoleWatch()
    yield watch
    unexpected = watch.unexpected()
    if unexpected:
        pytest.fail("unexpected browser console errors:\n" + "\n".join(unexpected),
                    pytrace=False)


@pytest.fixture
def open_context(new_context, console) -> Callable[..., BrowserContext]:
    """A fresh incognito context (third-party cookies blocked, as Chromium now ships) at one
    of VIEWPORTS."""

    def open_(viewport: str = "desktop", **kwargs: Any) -> BrowserContext:
        context = new_context(**VIEWPORTS[viewport], **kwargs)
        console.watch_context(context)
        return context

    return open_


@pytest.fixture
def open_profile(browser_type: BrowserType, browser_type_launch_args, browser_context_args,
                 console, tmp_path) -> Iterator[Callable[..., BrowserContext]]:
    """A persistent context whose Chromium profile starts from the given Preferences, e.g.
    {"profile": {"cookie_controls_mode": 0}} to allow third-party cookies."""
    contexts: list[BrowserContext] = []

    def open_(preferences: dict, viewport: str = "desktop") -> BrowserContext:
        user_data = tmp_path / f"profile-{len(contexts)}"
        (user_data / "Default").mkdir(parents=True)
        (user_data / "Default" / "Preferences").write_text(json.dumps(preferences))
        context = browser_type.launch_persistent_context(
            str(user_data), **browser_type_launch_args, **browser_context_args,
            **VIEWPORTS[viewport])
        contexts.append(context)
        console.watch_context(context)
        return context

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def shoot() -> Callable[[Page, str], None]:
    """Save a screenshot of the whole page (iframe included) to e2e/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def shoot_(page: Page, name: str) -> None:
        page.wait_for_timeout(300)  # let the framed profile paint after its last resize
        if page.locator("iframe").count() == 0:
            page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
            return
        # Headless Chromium leaves a cross-site iframe blank in full-page shots, so frame the
        # screen on the widget and shoot what a person sees there.
        page.locator("iframe").first.evaluate("e => e.scrollIntoView()")
        page.screenshot(path=SCREENSHOTS / f"{name}.png")

    return shoot_


@dataclass
class Inbox:
    """The mailbox, read one new message at a time."""

    mailbox: Mailbox
    seen: int = field(default=0)

    def mark(self) -> None:
        """Remember what is there now; `next_to` waits for something newer."""
        self.seen = len(self.mailbox.messages)

    def next_to(self, address: str, timeout: float = 10.0):
        """The newest message to `address` since the last look, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        while True:
            fresh = [m for m in self.mailbox.messages[self.seen:] if address in m["To"]]
            if fresh:
                self.mark()
                return fresh[-1]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no new e-mail to {address} within {timeout} s")
            try:
                self.mailbox.wait_for(len(self.mailbox.messages) + 1, timeout=min(left, 1.0))
            except AssertionError:
                pass


@pytest.fixture
def inbox(mailbox) -> Inbox:
    box = Inbox(mailbox)
    box.mark()
    return box



def settled(page: Page) -> None:
    """Wait until the framed widget's new screen has loaded and the provider's page has
    finished scrolling it into view (cp:scroll): a click aimed while the page still scrolls
    lands where the target was, not where it is."""
    for frame in page.frames[1:]:
        frame.wait_for_load_state()
    page.wait_for_function("""() => new Promise(done => {
        let last = scrollY, calm = 0;
        const tick = () => {
            calm = scrollY === last ? calm + 1 : 0;
            last = scrollY;
            calm >= 5 ? done(true) : requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    })""")
