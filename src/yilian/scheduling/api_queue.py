"""Queue endpoints for self-service kiosks (自助签到机) and clinic systems: check in by QR token, resident ID
or booking number; call the next patient; a doctor's move on one entry; the waiting-room board (masked
names only). Parsing and the acting identity here; every rule is in `queue`."""

from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap
from yilian.scheduling import queue
from yilian.scheduling.models import QueueEntry

router = Router(tags=["queue"])
ID = {"ge": 1, "le": 2**62}


class CheckInIn(Schema):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(..., min_length=1, max_length=64, description="QR token, resident ID or booking number")
    department_id: int | None = Field(None, **ID, description="for a walk-in (no booking today)")
    doctor_id: int | None = Field(None, **ID)
    disabled: bool = False
    room: str = Field("", max_length=20)


class CallNextIn(Schema):
    model_config = ConfigDict(extra="forbid")

    department_id: int = Field(**ID)


class EntryOut(Schema):
    """A queue entry as a machine needs it: the number and the times, never a name or an identifier."""

    id: int
    number: int
    registration_id: int
    department_id: int
    doctor_id: int | None
    room: str
    status: str
    priority: int
    calls: int
    booked_at: datetime | None
    arrived_at: datetime
    checked_in_at: datetime
    called_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None


class BoardLine(Schema):
    number: int
    masked_name: str
    status: str
    doctor: str
    room: str


class BoardOut(Schema):
    called: list[BoardLine]
    next: list[BoardLine]


class BoardQuery(Schema):
    department_id: int = Field(**ID)


def _entry_out(e: QueueEntry) -> dict:
    return {name: getattr(e, name) for name in EntryOut.model_fields}


@router.post("/check-ins", response={201: EntryOut}, summary="Check in (QR, resident ID or booking number)",
             auth=ActingRole(Cap.REGISTER))
def check_in(request, payload: CheckInIn):
    actor = api_actor(request, Cap.REGISTER)
    entry = queue.do_queue_check_in(actor, queue.CheckIn(
        code=payload.code, department_id=payload.department_id, doctor_id=payload.doctor_id,
        disabled=payload.disabled, room=payload.room))
    return Status(201, _entry_out(entry))


@router.post("/call-next", response={200: EntryOut, 204: None}, summary="Call the next waiting patient",
             auth=ActingRole(Cap.CLINICAL))
def call_next(request, payload: CallNextIn):
    entry = queue.do_call_next(api_actor(request, Cap.CLINICAL), payload.department_id)
    return _entry_out(entry) if entry is not None else Status(204, None)


@router.post("/entries/{int:entry_id}/{move}", response=EntryOut,
             summary="recall, skip, requeue, start or end one entry", auth=ActingRole(Cap.CLINICAL))
def move(request, entry_id: int, move: Literal["recall", "skip", "requeue", "start", "end"]):
    return _entry_out(queue.do_move(api_actor(request, Cap.CLINICAL), entry_id, move))


@router.get("/board", response=BoardOut, summary="The waiting-room board of a department (masked names)",
            auth=ActingRole())
def board(request, q: Query[BoardQuery]):
    shown = queue.display_board(api_actor(request), q.department_id)
    line = ("number", "masked_name", "status", "doctor", "room")
    return {"called": [{k: getattr(x, k) for k in line} for x in shown.called],
            "next": [{k: getattr(x, k) for k in line} for x in shown.next]}
