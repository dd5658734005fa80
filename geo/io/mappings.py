"""Field mappings remembered per source: a county bureau sends the same columns every time.

A source is known by its columns: :func:`source_signature` of the file's headers (normalised,
order ignored). Each committed import stores its report — with that signature and the
mapping used (``attributes.mapped``) — in the store's audit log, so no extra table is needed
and both stores remember alike. :func:`recall_mapping` returns the newest such mapping.
"""
from __future__ import annotations

import hashlib

from geo.io.attributes import normalise_header


def source_signature(headers) -> str:
    """A short stable key for a set of column headers (case, spaces and order ignored)."""
    keys = sorted({normalise_header(h) for h in headers})
    return hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()[:16]


def mapping_of(report: dict) -> dict[str, str]:
    """``{source header: field}`` used by an import, from its report (unmapped columns: ``ignore``)."""
    source = report.get("source") or {}
    mapped = (report.get("attributes") or {}).get("mapped") or {}
    chosen = {header: field for field, header in mapped.items()}
    return {header: chosen.get(header, "ignore") for header in source.get("columns", [])}


def target_label(target: str, lang: str) -> str:
    """A mapping target in the planner's words: ``import.target.<target>``, else the field's label."""
    from geo.i18n import catalogue, label_field, t

    if target == "ignore":
        return t("data.map_ignore", lang)
    return catalogue(lang).get(f"import.target.{target}") or label_field(target, lang)


def recall_mapping(store, headers, layer: str) -> dict[str, str] | None:
    """The mapping of the newest committed import of this layer from a source with these headers.

    ``None`` when this source was never imported (or the store keeps no import reports).
    """
    reader = getattr(store, "import_reports", None)
    if reader is None:
        return None
    signature = source_signature(headers)
    reports = reader()
    for report in reversed(list(reports["detail"])):  # newest last
        if not isinstance(report, dict) or report.get("layer") != layer:
            continue
        if (report.get("source") or {}).get("signature") == signature:
            return mapping_of(report)
    return None


__all__ = ["source_signature", "mapping_of", "target_label", "recall_mapping"]
