"""``GET /api/v1/alarms``: the incidents staff were told of (silent edges, sensor faults,
machines out of service automatically), open and cleared. Staff only."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from cloud.api.auth import StaffUser
from cloud.api.deps import PageDep, ReadConnDep, SettingsDep
from cloud.domain.alarms import reads
from cloud.domain.alarms.reads import AlarmFilter
from cloud.domain.alarms.schemas import AlarmsPage
from cloud.platform.languages import reader_language

router = APIRouter(prefix="/api/v1", tags=["alarms"])

Name = Annotated[str | None, Query(min_length=1, max_length=63)]


@router.get("/alarms", response_model=AlarmsPage)
def list_alarms(
    staff: StaffUser,
    request: Request,
    conn: ReadConnDep,
    settings: SettingsDep,
    page: PageDep,
    open: Annotated[bool | None, Query(description="true: only open incidents; false: only cleared ones")] = None,
    site: Annotated[str | None, Query(min_length=1, max_length=63, description="only this site's rooms")] = None,
    room: Name = None,
    kind: Annotated[Literal["edge_silent", "sensor_fault", "out_of_service"] | None, Query()] = None,
) -> AlarmsPage:
    """Newest first, paginated like the other lists (``?before=&limit=``)."""
    return reads.list_alarms(
        conn,
        page,
        AlarmFilter(open, site, room, kind),
        settings.timezone,
        reader_language(staff.language, request.headers.get("accept-language")),
    )
