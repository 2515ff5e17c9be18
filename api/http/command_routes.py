"""``POST /commands/{command}``: one documented endpoint per write command.

``POST /requests`` takes any signed request; these endpoints take the same
documents, one command each, so that the OpenAPI document lists every command
with its parameters and the roles that may send it, and so that a proxy can
route or limit them one by one. The signed document still says everything: a
document for another command than the path names is refused, never re-aimed.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse

from api.commands import COMMANDS, Command
from api.http.examples import INVALID_PARAMETERS, RECEIPT, SIGNED_REQUEST, answer
from api.http.problems import BadQuery
from api.http.state import ApiState, state_of
from api.http.write_routes import JSON, REFUSALS, answer_receipt
from domain.officers import PERMISSIONS

router = APIRouter(prefix="/commands", tags=["commands"], responses=INVALID_PARAMETERS)

State = Annotated[ApiState, Depends(state_of)]


def _example(command: Command) -> dict[str, Any]:
    """A document of the command's shape (placeholders for its values)."""
    params = {name: f"<{name}>" for name in sorted(command.parameters())}
    request = SIGNED_REQUEST["request"] | {"command": command.name, "params": params}
    return {"request": request, "signature": SIGNED_REQUEST["signature"]}


def _description(command: Command) -> str:
    required = sorted(command.required())
    optional = sorted(command.parameters() - command.required())
    roles = sorted(role.value for role in PERMISSIONS.get(command.name, ()))
    doc = inspect.getdoc(command.method) or ""
    return (
        f"{doc.splitlines()[0] if doc else command.name}\n\n"
        f"Parameters: {', '.join(required) or 'none'}"
        + (f"; optional: {', '.join(optional)}" if optional else "")
        + f". Roles: {', '.join(roles) or 'none'}."
    )


def _handler(name: str) -> Callable[..., Awaitable[JSONResponse]]:
    example = _example(COMMANDS[name])
    document_type = Annotated[
        dict[str, Any],
        Body(
            description=f"a signed {name} request",
            openapi_examples={name: {"summary": name, "value": example}},
        ),
    ]

    async def submit(state: ApiState, document: dict[str, Any]) -> JSONResponse:
        request = document.get("request")
        given = request.get("command") if isinstance(request, dict) else None
        if given != name:
            raise BadQuery("command", given, f"this endpoint records {name}")
        return await answer_receipt(state, document)

    # The body's documentation differs per command, so the signature FastAPI
    # reads is built here (string annotations could not name local values).
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    submit.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("state", keyword, annotation=State),
            inspect.Parameter("document", keyword, annotation=document_type),
        ],
        return_annotation=JSONResponse,
    )
    return submit


for _name, _command in sorted(COMMANDS.items()):
    router.add_api_route(
        f"/{_name}",
        _handler(_name),
        methods=["POST"],
        name=f"submit_{_name.replace('.', '_')}",
        summary=f"Record a signed {_name} request",
        description=_description(_command),
        status_code=201,
        responses={
            **answer(201, "Recorded now: the receipt", JSON, RECEIPT),
            **answer(200, "Recorded before: the original receipt", JSON, RECEIPT),
            **REFUSALS,
        },
        response_class=JSONResponse,
        tags=["commands"],
    )
