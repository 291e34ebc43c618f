from litestar import get
from litestar.response import Template

from portal.access import public


@get("/sections/sleep_diary", guards=[public], sync_to_thread=False)
def about() -> Template:
    return Template("sleep_diary/about.html")
