"""The web application: JSON API under ``/api/v1`` and HTML pages, one FastAPI app."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from urllib.parse import urlencode

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maillon import __version__
from maillon.auth.api import AuthenticationFailed
from maillon.auth.context import Security
from maillon.core.errors import FieldError, MaillonError, error_body
from maillon.core.settings import Settings
from maillon.identify import routes as identify_routes
from maillon.link import routes as link_routes
from maillon.money import routes as money_routes
from maillon.refer import routes as refer_routes
from maillon.screen import routes as screen_routes
from maillon.stats import routes as stats_routes
from maillon.store.api import Store
from maillon.store.crypto import FieldCipher
from maillon.web import api_routes, auth_routes, pages
from maillon.web.security import SIGNED_IN, SessionCache


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


MAX_CONCURRENT_REQUESTS = 16
"""Requests processed at once; the others wait their turn in arrival order. A request holds up
to three store connections for its whole life (sign-in check, its session, and the audit
entry's own transaction), so the store's pool (``maillon.store.db``: 20 + 40 overflow) must
hold three per request: without this bound, a burst of requests each takes a first connection
and then all wait for a second one until the pool times out (seen in the load test)."""


REQUESTS_PER_CONNECTION = 20
"""After this many requests on one kept-alive connection, the answer says ``Connection: close``.

With several server processes on one socket, a connection stays with the process that accepted
it. Under a steady load the connections a client keeps alive can pile up on one process while
the other idles (seen in ``bench/load_bench.py``: 170 requests/s on one worker, 30 on the other,
p99 over 200 ms for seconds on end). Closing each connection after a few requests lets the
client's next connection be accepted by whichever process is free first, so the load evens out;
a new connection on loopback or a LAN costs far less than a request."""


class _ConcurrencyLimit:
    """Pure ASGI middleware: at most ``limit`` HTTP requests inside the app at once, and
    :data:`REQUESTS_PER_CONNECTION` requests per kept-alive connection."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: anyio.Semaphore | None = None
        self._served: dict[tuple[str, int], int] = {}  # requests per client address and port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = anyio.Semaphore(self.limit)
        client = scope.get("client")
        if client is not None and self._last_on_connection(tuple(client)):
            send = _closing(send)
        async with self._slots:
            await self.app(scope, receive, send)

    def _last_on_connection(self, client: tuple[str, int]) -> bool:
        served = self._served.get(client, 0) + 1
        if served < REQUESTS_PER_CONNECTION:
            if len(self._served) >= 50_000:  # ports of connections closed meanwhile
                self._served.clear()
            self._served[client] = served
            return False
        self._served.pop(client, None)
        return True


def _closing(send: Send) -> Send:
    """``send`` that adds ``Connection: close`` to the response (uvicorn then closes it)."""

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing


def create_app(settings: Settings, store: Store) -> FastAPI:
    """Build the app around an open store (the caller closes the store)."""
    app = FastAPI(
        title="Maillon",
        version=__version__,
        description="Information system against trafficking in human beings.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.security = Security.open(settings)
    app.state.cipher = FieldCipher(app.state.security.keys, store.engine)
    app.state.session_cache = SessionCache()

    @app.exception_handler(AuthenticationFailed)
    def unauthenticated(request: Request, exc: AuthenticationFailed) -> Response:
        if _wants_html(request) or (
            request.method == "GET" and not request.url.path.startswith("/api/")
        ):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
        return JSONResponse(exc.body(), status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(MaillonError)
    def maillon_error(request: Request, exc: MaillonError) -> Response:
        if _wants_html(request):
            return pages.error_page(request, exc.status, exc.message, exc.details)
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    def request_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            FieldError(reason=str(e.get("msg")), field=".".join(str(p) for p in e.get("loc", ())))
            for e in exc.errors()
        ]
        if _wants_html(request):
            return pages.error_page(request, 422, "The request is not valid.", details)
        return JSONResponse(
            error_body("validation_failed", "the request is not valid", details), status_code=422
        )

    static = Path(str(resources.files("maillon.web") / "static"))
    app.mount("/static", StaticFiles(directory=static), name="static")
    signed_in = SIGNED_IN
    app.include_router(api_routes.public_router)
    app.include_router(auth_routes.api_router)
    app.include_router(api_routes.router, dependencies=signed_in)
    app.include_router(auth_routes.pages_router, default_response_class=HTMLResponse)
    app.include_router(pages.router, default_response_class=HTMLResponse, dependencies=signed_in)
    app.include_router(stats_routes.api_router, dependencies=signed_in)
    app.include_router(link_routes.api_router, dependencies=signed_in)
    app.include_router(link_routes.pages_router, default_response_class=HTMLResponse,
                       dependencies=signed_in)
    app.include_router(stats_routes.pages_router, default_response_class=HTMLResponse,
                       dependencies=signed_in)
    app.include_router(identify_routes.api_router, dependencies=signed_in)
    app.include_router(identify_routes.pages_router, default_response_class=HTMLResponse,
                       dependencies=signed_in)
    app.include_router(refer_routes.api_router, dependencies=signed_in)
    app.include_router(refer_routes.pages_router, default_response_class=HTMLResponse,
                       dependencies=signed_in)
    app.include_router(screen_routes.api_router, dependencies=signed_in)
    app.include_router(screen_routes.pages_router, default_response_class=HTMLResponse,
                       dependencies=signed_in)
    app.include_router(money_routes.api_router, dependencies=signed_in)
    app.include_router(money_routes.pages_router, default_response_class=HTMLResponse,
                       dependencies=signed_in)
    app.add_middleware(_ConcurrencyLimit, limit=MAX_CONCURRENT_REQUESTS)
    return app
