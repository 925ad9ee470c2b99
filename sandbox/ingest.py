"""Azure Monitor's Logs Ingestion API as the sandbox serves it under `/sandbox/ingest`.

`POST /dataCollectionRules/{ruleId}/streams/{stream}?api-version=2023-01-01` takes a JSON array
of records, plain or gzip-compressed (`Content-Encoding: gzip`, which `azure-monitor-ingestion`'s
`LogsIngestionClient` sends), and answers 204. A body over 1 MB, one that is not an array of
objects, or a missing api-version gets a 400/413 in the API's `{"error": {"code", "message"}}`.

`GET /sandbox/ingest/_records` (a test route: no token needed) lists what arrived, oldest first:
`{"records": [{"ruleId", "stream", "record", "time"}]}`; `?stream=` narrows it.

Limitation: records are kept as sent; no data collection rule transforms them and no table
schema checks their columns.
"""

from __future__ import annotations

import gzip
import json
import zlib

import structlog
from aiohttp import web

from sandbox.api_errors import ApiError
from sandbox.app_keys import TENANT_KEY
from sandbox.clock import utc_now
from sandbox.tenant import IngestedRecord

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()
MAX_BYTES = 1_048_576


async def decoded_body(request: web.Request) -> bytes:
    """The body, gunzipped when the client compressed it (aiohttp may already have)."""
    raw = await request.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error):
        raise ApiError(400, "InvalidContentEncoding", "The gzip body could not be read.") from None


@routes.post("/ingest/dataCollectionRules/{rule_id}/streams/{stream}")
async def upload(request: web.Request) -> web.Response:
    if not request.query.get("api-version"):
        raise ApiError(400, "MissingApiVersion", "The api-version query parameter is required.")

    body = await decoded_body(request)
    if len(body) > MAX_BYTES:
        raise ApiError(413, "ContentLengthLimitExceeded",
                       f"A call carries at most {MAX_BYTES} bytes; got {len(body)}.")
    try:
        records = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "InvalidPayload", "The body is not valid JSON.") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ApiError(400, "InvalidPayload", "The body must be a JSON array of objects.")

    rule_id, stream = request.match_info["rule_id"], request.match_info["stream"]
    now = utc_now()
    request.app[TENANT_KEY].ingested.extend(
        IngestedRecord(rule_id, stream, record, now) for record in records
    )
    log.info("sandbox logs ingested", rule_id=rule_id, stream=stream, count=len(records))
    return web.Response(status=204)


@routes.get("/ingest/_records")
async def list_records(request: web.Request) -> web.Response:
    stream = request.query.get("stream")
    records = [r.to_json() for r in request.app[TENANT_KEY].ingested
               if stream is None or r.stream == stream]
    return web.json_response({"records": records})
