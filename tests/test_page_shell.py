"""serve.py's page-shell middleware (app_pages/shell.py): head additions and asset lifetimes, on a bare ASGI app."""
from __future__ import annotations

import asyncio
import re

import pytest

from app_pages import shell

INDEX = b'<!doctype html><html lang="en"><head><meta charset="UTF-8"/><title>Streamlit</title></head><body></body></html>'


def serve(path: str, *, method: str = "GET", status: int = 200, body: bytes = INDEX,
          content_type: bytes = b"text/html; charset=utf-8", headers=(), chunks: int = 1, request_headers=()):
    """Run one request through ``PageShell`` in front of an app answering ``body``; returns
    ``(status, headers, body, request headers the app saw)``."""
    seen = {}

    async def app(scope, receive, send):
        seen["headers"] = dict(scope["headers"])
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                                (b"etag", b'"abc"'), *headers]})
        size = max(1, -(-len(body) // chunks))
        parts = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"",
             "headers": [(b"accept-encoding", b"gzip, deflate"), *request_headers]}
    asyncio.run(shell.PageShell(app)(scope, receive, send))
    start = sent[0]
    return (start["status"], {k.decode(): v.decode() for k, v in start["headers"]},
            b"".join(m.get("body", b"") for m in sent[1:]), seen["headers"])


def test_a_page_tells_the_frontend_where_the_server_is():
    status, headers, body, seen = serve("/park", chunks=3)
    assert status == 200
    assert body.startswith(b'<!doctype html><html lang="en"><head><script>window.__streamlit=')
    assert body.count(shell.BASE_URL_SCRIPT.encode()) == 1
    # The first widgets' chunks, after Streamlit's own links, with what they import.
    preloads = shell.widget_preloads()
    assert body.endswith(preloads.encode() + b"</head><body></body></html>")
    chunks = re.findall(r'href="\./static/js/([^"]+)"', preloads)
    for prefix in shell.FIRST_WIDGETS:
        assert any(name.startswith(prefix + ".") for name in chunks), prefix
    assert "withCalculatedWidth" in preloads  # imported by the component's chunk
    assert len(chunks) == len(set(chunks)) and "index." not in preloads  # once each; not the main bundle
    assert int(headers["content-length"]) == len(body)
    assert headers["etag"] == '"abc-shell"'  # another body, another validator
    assert b"accept-encoding" not in seen  # asked uncompressed, so the head can be edited


@pytest.mark.parametrize("path", ["/", "/_stcore/health", "/_stcore/host-config", "/static/js/index.js",
                                  "/app/static/leaflet/leaflet.js", "/media/abc.png", "/favicon.png",
                                  "/park/_stcore/health", "/component/x/index.html"])
def test_other_paths_pass_unchanged(path):
    status, headers, body, seen = serve(path)
    assert body == INDEX and headers["etag"] == '"abc"' and seen[b"accept-encoding"] == b"gzip, deflate"


def test_only_a_plain_html_200_is_edited():
    assert serve("/park", status=404)[2] == INDEX
    assert serve("/park", content_type=b"application/json")[2] == INDEX
    assert serve("/park", headers=[(b"content-encoding", b"gzip")])[2] == INDEX
    assert serve("/park", method="HEAD")[2] == INDEX
    assert serve("/park", body=b"<html><body>no head</body></html>")[2] == b"<html><body>no head</body></html>"


def test_the_folium_frame_asks_for_leaflet_at_once():
    status, headers, body, _ = serve(shell.FOLIUM_FRAME)
    assert b'<head><link rel="preload" as="script" href="/app/static/leaflet/leaflet.js">' in body
    assert b'<link rel="preload" as="style" href="/app/static/leaflet/leaflet.css">' in body
    assert shell.BASE_URL_SCRIPT.encode() not in body


def test_vendored_and_hashed_assets_get_a_lifetime():
    js = b"console.log(1)"
    _, headers, body, _ = serve("/app/static/leaflet/leaflet.js", body=js, content_type=b"application/javascript",
                                headers=[(b"cache-control", b"public")])
    assert headers["cache-control"] == f"public, max-age={shell.VENDORED_MAX_AGE_S}" and body == js
    _, headers, _, _ = serve("/component/streamlit_folium.st_folium/static/js/main.521860b0.js", body=js,
                             content_type=b"application/javascript", headers=[(b"cache-control", b"public")])
    assert headers["cache-control"] == shell.IMMUTABLE
    assert list(headers).count("cache-control") == 1
    _, headers, _, _ = serve("/component/streamlit_folium.st_folium/static/js/main.js", body=js)
    assert "cache-control" not in headers  # no content hash in the name: left as Streamlit serves it
    _, headers, _, _ = serve("/app/static/leaflet/leaflet.js", status=304, body=b"")
    assert "cache-control" not in headers


def test_base_url_path_is_honoured(monkeypatch):
    from streamlit import config

    monkeypatch.setattr(config, "get_option",
                        lambda name: "atlas" if name == "server.baseUrlPath" else None)
    assert shell.BASE_URL_SCRIPT.encode() in serve("/atlas/park")[2]
    assert serve("/atlas")[2] == INDEX and serve("/atlas/")[2] == INDEX
    assert "cache-control" in serve("/atlas/app/static/leaflet/leaflet.js")[1]


def test_page_paths():
    assert shell.is_page_path("/park") and shell.is_page_path("/park/") and shell.is_page_path("/city_admin")
    for path in ("/", "", "/park/x", "/static", "/_stcore", "/app", "/favicon.png", "/a.b"):
        assert not shell.is_page_path(path), path
