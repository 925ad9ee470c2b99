"""The `Watchlists` plugin: Sentinel watchlists read through the Log Analytics query API.

`POST {loganalytics}/v1/workspaces/{workspaceId}/query` with `_GetWatchlist('<name>')`; the
answer's first table becomes a list of row dicts keyed by column name. Only a watchlist alias
made of letters, digits, `_` and `-` is accepted: the name goes into a KQL query, and no text
from an incident or a model may become query syntax.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from semantic_kernel.functions import kernel_function

from core.errors import CordonError
from skills.api_client import ApiClient

_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidWatchlistName(CordonError):
    status = 400
    code = "invalid_watchlist_name"


class WatchlistLookups:
    """Rows of one Sentinel watchlist (VIPUsers, CriticalAssets, KnownVPNEgress...)."""

    def __init__(self, api: ApiClient, workspace_id: str) -> None:
        self._api = api
        self._workspace_id = workspace_id

    @kernel_function(name="watchlist",
                     description="The rows of a Sentinel watchlist, e.g. VIPUsers.")
    async def watchlist(
        self, name: Annotated[str, "The watchlist alias, e.g. VIPUsers"],
    ) -> dict[str, Any]:
        if not _ALIAS.match(name):
            raise InvalidWatchlistName(
                f"watchlist alias {name!r} is not letters, digits, '_' or '-'", name=name)
        answer = await self._api.call(
            "loganalytics", "POST", f"/v1/workspaces/{self._workspace_id}/query",
            body={"query": f"_GetWatchlist('{name}')"},
        )
        return {"name": name, "items": _rows(answer or {})}


def _rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    tables = answer.get("tables") or []
    if not tables:
        return []
    columns = [column.get("name", "") for column in tables[0].get("columns", [])]
    return [dict(zip(columns, row, strict=False)) for row in tables[0].get("rows", [])]
