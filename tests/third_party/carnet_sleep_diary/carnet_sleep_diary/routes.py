from uuid import UUID

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from portal.access import public, signed_in
from portal.access.view import open_dossier


@get("/sections/sleep_diary", guards=[public], sync_to_thread=False)
def about() -> Template:
    return Template("sleep_diary/about.html")


@get("/dossiers/{dossier_id:uuid}/sleep_diary", guards=[signed_in])
async def diary(request: Request, dossier_id: FromPath[UUID]) -> Template:
    """The section's page in a dossier: the core decides and traces, the plugin gets a view."""
    view = await open_dossier(request, dossier_id, category="sommeil")
    return Template("sleep_diary/diary.html", context={"view": view})
