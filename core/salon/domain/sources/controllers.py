"""``/api/sources``: browse image sources without importing, and import as a job (with
``favorite: true``, also favorite what is imported: the APOD page's star)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import ClientException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from salon.db.models import User
from salon.domain.deps import CurrentUser, DbSession, RuntimeDep, SourcesDep
from salon.domain.jobs.services import job_admission, queue_job
from salon.domain.openapi import AUTHENTICATED, SOURCE_IMPORT_BODY, documented
from salon.domain.sources.schemas import EntryOut, ImportAccepted, SourceOut
from salon.domain.sources.services import entry_to_payload
from salon.providers import SourceCaller

MAX_QUERY_KEYS = 10
MAX_QUERY_VALUE = 100
MAX_CURSOR = 1000
NEXT_CURSOR = "X-Next-Cursor"


def _caller(user: User) -> SourceCaller:
    return SourceCaller(user.id, user.email)


def _query(values: Mapping[str, Any]) -> dict[str, str]:
    if len(values) > MAX_QUERY_KEYS:
        raise ClientException("too many query parameters")
    query = {str(k): str(v) for k, v in values.items() if v is not None}
    if any(len(k) > MAX_QUERY_VALUE for k in query) or any(
        len(v) > (MAX_CURSOR if k == "cursor" else MAX_QUERY_VALUE) for k, v in query.items()
    ):
        raise ClientException(
            f"query keys and values must be at most {MAX_QUERY_VALUE} characters "
            f"(a cursor {MAX_CURSOR})"
        )
    return query


class SourceController(Controller):
    path = "/api/sources"
    tags = ["sources"]
    security = AUTHENTICATED

    @get("/", operation_id="list_sources")
    async def list_sources(self, runtime: RuntimeDep, current_user: CurrentUser) -> list[SourceOut]:
        return [SourceOut(s.name, s.title) for s in runtime.sources.values()]

    @get(
        "/{name:str}/entries",
        operation_id="list_source_entries",
        response_headers=[
            ResponseHeader(
                name=NEXT_CURSOR,
                description="The next page's cursor, for a source that pages: pass it back "
                "as `?cursor=` with the same query. Absent on the last page.",
                documentation_only=True,
            )
        ],
    )
    async def entries(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        current_user: CurrentUser,
        source_service: SourcesDep,
    ) -> Response[list[EntryOut]]:
        """Entries the query selects, without importing. ``image_id`` is set for an entry
        you have imported (and not trashed), ``favorite`` when that image is a favorite. A
        source that pages answers one page and its next cursor in ``X-Next-Cursor``."""
        source = source_service.source(name)
        page = await source_service.page(
            source, _query(dict(request.query_params)), _caller(current_user)
        )
        found = page.entries
        mine = await source_service.imported(
            current_user.id, source.name, [e.external_id for e in found]
        )
        headers = {NEXT_CURSOR: page.next_cursor} if page.next_cursor is not None else {}
        items = [
            EntryOut(
                e.external_id,
                e.title,
                e.media_type,
                e.image_url is not None,
                e.image_url,
                e.thumbnail_url,
                e.page_url,
                e.date,
                dict(e.metadata),
                str(mine[e.external_id][0]) if e.external_id in mine else None,
                mine[e.external_id][1] if e.external_id in mine else False,
            )
            for e in found
        ]
        return Response(items, headers=headers)

    @post(
        "/{name:str}/import",
        operation_id="import_from_source",
        status_code=HTTP_202_ACCEPTED,
        operation_class=documented(body=SOURCE_IMPORT_BODY),
    )
    async def start_import(
        self,
        name: FromPath[str],
        data: JSONBody[dict[str, str | int | bool]],
        runtime: RuntimeDep,
        db_session: DbSession,
        current_user: CurrentUser,
        source_service: SourcesDep,
    ) -> ImportAccepted:
        """Import what the query selects, as a job: follow it at ``/api/jobs/{job_id}``; its
        result's ``image_ids`` maps each entry's external id to its image. With
        ``"favorite": true`` each entry's image is also favorited, imported or not before
        (an entry is imported once per user, by its external id)."""
        body = dict(data)
        favorite = body.pop("favorite", False)
        if not isinstance(favorite, bool):
            raise ClientException("favorite must be true or false")
        query = _query(body)
        limit = runtime.core.max_jobs_per_user
        async with job_admission(runtime.session_maker, current_user.id, limit):
            # Asked here, so a bad query is a 400 now and not a failed job later; the job
            # imports these very entries and does not ask the upstream again.
            source = source_service.source(name)
            page = await source_service.page(source, query, _caller(current_user))
            job = await queue_job(
                runtime,
                kind="source_import",
                owner_id=current_user.id,
                payload={
                    "source": name,
                    "query": query,
                    "favorite": favorite,
                    "entries": [entry_to_payload(e) for e in page.entries],
                },
            )
        return ImportAccepted(str(job.id))
