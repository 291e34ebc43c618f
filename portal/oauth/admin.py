"""The administrator's pages for client applications: list, register, suspend, resume and
delete them (`portal.oauth.clients`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from portal.access import administrators
from portal.i18n import gettext as _
from portal.identity.accounts import FormErrors
from portal.identity.routes import form_page
from portal.oauth import clients
from portal.oauth.tables import ClientKind
from portal.web import flash, see_other


@get("/admin/clients", guards=[administrators])
async def client_list() -> Template:
    return Template("oauth/admin_clients.html", context={"clients": await clients.all_clients()})


@get("/admin/clients/new", guards=[administrators])
async def new_client_form() -> Template:
    return _client_form({"kind": ClientKind.APP}, {})


def _client_form(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Template:
    return form_page(
        "oauth/admin_client_new.html", status=status, values=values, errors=errors, kinds=ClientKind
    )


@post("/admin/clients/new", guards=[administrators])
async def register_client(
    request: Request, data: URLEncodedBody[dict[str, Any]]
) -> Template | Redirect:
    values = {name: str(value) for name, value in data.items() if name != "csrf_token"}
    new = clients.NewClient(
        **{name: values.get(name, "") for name in clients.NewClient.__dataclass_fields__}
    )
    try:
        await clients.register(new, production=request.app.state.settings.env == "prod")
    except FormErrors as problem:
        return _client_form(values, problem.errors, status=400)
    flash(request, _("The application %(name)s is registered.") % {"name": new.name}, "success")
    return see_other("/admin/clients")


@post("/admin/clients/{client_id:uuid}/suspend", guards=[administrators])
async def suspend_client(request: Request, client_id: FromPath[UUID]) -> Redirect:
    if not await clients.set_suspended(client_id, True):
        raise NotFoundException()
    flash(request, _("The application is suspended: its tokens no longer act."), "success")
    return see_other("/admin/clients")


@post("/admin/clients/{client_id:uuid}/resume", guards=[administrators])
async def resume_client(request: Request, client_id: FromPath[UUID]) -> Redirect:
    if not await clients.set_suspended(client_id, False):
        raise NotFoundException()
    flash(request, _("The application may act again."), "success")
    return see_other("/admin/clients")


@post("/admin/clients/{client_id:uuid}/delete", guards=[administrators])
async def delete_client(request: Request, client_id: FromPath[UUID]) -> Redirect:
    if not await clients.delete(client_id):
        raise NotFoundException()
    flash(request, _("The application is deleted, with every access given to it."), "success")
    return see_other("/admin/clients")


ROUTES = [
    client_list,
    new_client_form,
    register_client,
    suspend_client,
    resume_client,
    delete_client,
]
