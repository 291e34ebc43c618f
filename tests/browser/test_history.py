"""The patient's access history in a real browser: a demo patient opens it from their
account, reads the demo professionals' accesses in words, and the trail checks out."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import assert_accessible, log_in, run_carnet, translated

pytestmark = pytest.mark.browser


def test_a_patient_reads_who_accessed_their_record(new_page, portal, totp):
    page = new_page(javascript=True)
    log_in(page, "jules.petit@demo.carnet.fr", totp)
    page.goto("/account")
    page.get_by_role("link", name=translated("Access history of my record")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated("Who accessed the record"))
    garcia = translated("%(who)s viewed %(what)s.") % {
        "who": f"Karim Garcia, {translated('Doctor').lower()}",
        "what": translated("the record"),
    }
    expect(page.get_by_text(garcia)).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name=translated("Check the integrity")).click()
    intact = translated(
        "The history is intact: its %(count)s entries follow one another without a gap, and "
        "none has been changed since it was written."
    )
    expect(page.get_by_role("status")).to_contain_text(intact.split("%(count)s")[0])

    assert "The audit trail is intact." in run_carnet(portal, "audit", "verify")
