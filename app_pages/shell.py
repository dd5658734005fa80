"""The page shell's first second (a middleware of ``serve.py``): fewer round trips before a map.

Measured on the Park page opened in a new browser (docs/benchmarks.md, ``streamlit_park``):

- **Deep links connect at once.** Streamlit's frontend opened at ``/park`` first asks
  ``/park/_stcore/health`` (a 404), waits 100 ms and only then asks ``/_stcore/health``. A page's
  own HTML now tells it where the server is (``window.__streamlit.BACKEND_BASE_URL``: the page's
  address without its last path segment, so a proxy that adds or strips a path prefix still
  works), and it connects on the first try.
- **The first widgets' code loads with the page.** Streamlit fetches a widget's code (its chunk
  and the chunks it imports) when its first element arrives: the Park page waited for two such
  waves (the sidebar's radio, HTML and select boxes; then the number input and the map
  component) after its script had started. A page's HTML now lists them as ``modulepreload``
  links after Streamlit's own (:data:`FIRST_WIDGETS`, with their imports), so they load while
  the app connects.
- **Leaflet loads beside the map frame's bundle.** streamlit-folium's frame loads Leaflet only
  after its own 225 KB bundle has run and received the map (script, then stylesheet, one after
  the other). The frame's HTML now asks for both at the start (``preload``), in parallel.
- **Cacheable vendored assets.** The vendored Leaflet (``/app/static/``) was served without
  ``Cache-Control`` and the components' content-hashed bundles as ``public`` without a lifetime,
  so a returning planner's browser asked for them again on every page load.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from layers.assets import APP_STATIC_URL

#: How long a browser keeps the vendored Leaflet without asking again (its path has no version:
#: a new copy reaches every browser within a day; ETag revalidation after that).
VENDORED_MAX_AGE_S = 86_400
#: Content-hashed build files (``main.521860b0.js``): a new build has a new name.
IMMUTABLE = "public, max-age=31536000, immutable"
_HASHED_ASSET = re.compile(r"^/component/[^/]+/static/.+\.[0-9a-f]{8,}(?:\.chunk)?\.(?:js|css)$")
#: A page of the app: one path segment, not a file, not a server route.
_PAGE_PATH = re.compile(r"^/[A-Za-z0-9_-]+/?$")
_RESERVED_FIRST_SEGMENTS = {"_stcore", "static", "app", "component", "media", "auth", "favicon.png"}
#: The frame of streamlit-folium, whose maps all load Leaflet from the app (``layers.assets``).
FOLIUM_FRAME = "/component/streamlit_folium.st_folium/index.html"

#: Streamlit's frontend reads ``window.__streamlit`` once, when its bundle runs; the page's
#: address minus its last segment (``/park`` → ``/``, ``/prefix/park`` → ``/prefix/``).
BASE_URL_SCRIPT = ('<script>window.__streamlit=Object.assign({},window.__streamlit,{BACKEND_BASE_URL:'
                   'new URL(location.pathname.replace(/\\/+$/,"").replace(/[^/]*$/,""),location.href).href});'
                   '</script>')
#: The widgets every page's sidebar draws (radio, HTML, select box) and the Park page's first
#: ones (number input, the map component): Streamlit's chunk names start with these.
FIRST_WIDGETS = ("Radio", "Html", "Selectbox", "NumberInput", "ComponentInstance")
_IMPORT = re.compile(r'(?:from|import)\s*"\./([^"/]+\.js)"')
LEAFLET_PRELOAD = (f'<link rel="preload" as="script" href="{APP_STATIC_URL}/leaflet/leaflet.js">'
                   f'<link rel="preload" as="style" href="{APP_STATIC_URL}/leaflet/leaflet.css">')


def _local_path(scope) -> str:
    """The request path below the app's base URL path (``server.baseUrlPath``)."""
    path, root = scope.get("path", ""), scope.get("root_path", "") or ""
    if root and path.startswith(root):
        path = path[len(root):]
    from streamlit import config

    base = "/" + (config.get_option("server.baseUrlPath") or "").strip("/")
    if base != "/" and (path == base or path.startswith(base + "/")):
        path = path[len(base):] or "/"
    return path


def is_page_path(path: str) -> bool:
    """Whether ``path`` (below the base URL path) is a page of the app other than the main one."""
    return bool(_PAGE_PATH.match(path)) and path.strip("/") not in _RESERVED_FIRST_SEGMENTS


def head_addition(path: str) -> tuple[str, str] | None:
    """What goes at the start and at the end of the ``<head>`` of the HTML served at ``path``, if anything."""
    if path == FOLIUM_FRAME:
        return LEAFLET_PRELOAD, ""
    if is_page_path(path):
        return BASE_URL_SCRIPT, widget_preloads()
    return None


@lru_cache(maxsize=1)
def widget_preloads() -> str:
    """``modulepreload`` links for Streamlit's chunks of :data:`FIRST_WIDGETS` and everything they
    import, but those its ``index.html`` already lists (empty if Streamlit lays its files out otherwise)."""
    from streamlit import file_util

    static = Path(file_util.get_static_dir())
    scripts = static / "static" / "js"
    try:
        listed = set(re.findall(r'static/js/([^"/]+\.js)', (static / "index.html").read_text(encoding="utf-8")))
        todo = [found.name for prefix in FIRST_WIDGETS for found in sorted(scripts.glob(f"{prefix}.*.js"))[:1]]
        needed: list[str] = []
        while todo:
            name = todo.pop(0)
            if name in needed or name in listed or not (scripts / name).is_file():
                continue
            needed.append(name)
            todo.extend(_IMPORT.findall((scripts / name).read_text(encoding="utf-8")))
    except OSError:
        return ""
    return "".join(f'<link rel="modulepreload" crossorigin href="./static/js/{name}">' for name in needed)


def cache_control(path: str) -> str | None:
    """The ``Cache-Control`` for an asset at ``path`` that Streamlit serves without a lifetime."""
    if path.startswith(f"{APP_STATIC_URL}/leaflet/"):
        return f"public, max-age={VENDORED_MAX_AGE_S}"
    if _HASHED_ASSET.match(path):
        return IMMUTABLE
    return None


def insert_in_head(body: bytes, start: str, end: str = "") -> bytes:
    """``body`` with ``start`` right after its ``<head>`` tag and ``end`` before ``</head>``
    (unchanged without both tags)."""
    opening = re.search(rb"<head[^>]*>", body, flags=re.IGNORECASE)
    closing = re.search(rb"</head\s*>", body, flags=re.IGNORECASE)
    if not opening or not closing or closing.start() < opening.end():
        return body
    return (body[:opening.end()] + start.encode("utf-8") + body[opening.end():closing.start()]
            + end.encode("utf-8") + body[closing.start():])


class PageShell:
    """ASGI middleware: the head additions of :func:`head_addition` and the lifetimes of :func:`cache_control`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path = _local_path(scope)
        lifetime = cache_control(path)
        addition = head_addition(path)
        if lifetime is None and addition is None:
            await self.app(scope, receive, send)
            return
        if addition is None or scope["method"] != "GET":
            await self.app(scope, receive, _with_lifetime(send, lifetime) if lifetime else send)
            return
        # Uncompressed, so the head can be edited (a few KB of HTML, once per page load).
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"accept-encoding"]
        await self.app({**scope, "headers": headers}, receive, _with_head_addition(send, *addition))


def _with_lifetime(send, lifetime: str):
    async def sending(message):
        if message["type"] == "http.response.start" and message["status"] == 200:
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
            message = {**message, "headers": [*headers, (b"cache-control", lifetime.encode("latin-1"))]}
        await send(message)
    return sending


def _with_head_addition(send, start: str, end: str):
    """Buffer an HTML 200 response, put ``start`` and ``end`` into its head, fix its length and ETag."""
    state: dict = {"response": None, "body": []}

    async def sending(message):
        if message["type"] == "http.response.start":
            headers = dict((k.lower(), v) for k, v in message.get("headers", []))
            html = headers.get(b"content-type", b"").startswith(b"text/html")
            if message["status"] != 200 or not html or b"content-encoding" in headers:
                state["response"] = False
                await send(message)
                return
            state["response"] = message
            return
        if message["type"] != "http.response.body" or state["response"] is False:
            await send(message)
            return
        state["body"].append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = insert_in_head(b"".join(state["body"]), start, end)
        response = state["response"]
        headers = [(k, v) for k, v in response.get("headers", []) if k.lower() not in (b"content-length", b"etag")]
        etag = dict((k.lower(), v) for k, v in response.get("headers", [])).get(b"etag")
        if etag:  # another body than the file's: another validator
            headers.append((b"etag", etag.rstrip(b'"') + b'-shell"'))
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
        await send({**response, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    return sending
