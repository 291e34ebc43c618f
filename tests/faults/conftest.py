"""What the fault tests share: a document deposited by a professional, as a form sends it."""

from __future__ import annotations

import re
from uuid import UUID, uuid4

import httpx

from portal.dossiers.tables import Document

SELECT = re.compile(r'<select[^>]*name="(category|type)".*?</select>', re.S)
OPTION = re.compile(r'<option value="([^"]+)"[^>]*?(selected)?[ >]')


async def deposit(client: httpx.AsyncClient, dossier: UUID, title: str, body: str = "Texte") -> int:
    """Open and send the deposit form of ``dossier`` with ``title``; the answer's status."""
    form = await client.get(f"/dossiers/{dossier}/documents/new")
    if form.status_code != 200:
        return form.status_code
    values = {"title": title, "care_date": "2026-02-27", "body": body, "submission": str(uuid4())}
    for select in SELECT.finditer(form.text):
        options = OPTION.findall(select.group(0))
        values[select.group(1)] = next((v for v, chosen in options if chosen), options[0][0])
    answer = await client.post(
        f"/dossiers/{dossier}/documents/new", data=values, follow_redirects=False
    )
    return answer.status_code


async def saved(title: str) -> int:
    """How many documents have ``title``."""
    return await Document.count().where(Document.title == title)
