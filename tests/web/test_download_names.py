"""An attachment's file name reaches Content-Disposition encoded (RFC 6266/5987), never as header syntax:
a name written to smuggle ``filename*=…evil.html`` is saved under the sanitised original name."""
from __future__ import annotations

import pytest
from werkzeug.http import parse_options_header

from tests.web.conftest import first_assignment, login

EVIL = "x.csv\"; filename*=UTF-8''evil.html; a=\""


def saved_as(header: str) -> tuple[str, list[str]]:
    """The name a browser saves under (filename* wins over filename, RFC 6266 §4.3), and the parameter names."""
    disposition, params = parse_options_header(header)
    assert disposition == "attachment"
    return params["filename"], list(params)


@pytest.mark.parametrize("who, url", [
    ("cadre1", "/cadre/assignments/{assignment}/attachments/0"),
    ("lecturer1", "/lecturer/scenarios/{slug}/v{number}/attachments/0"),
])
def test_a_crafted_attachment_name_cannot_add_header_parameters(client, demo, session, who, url):
    assignment = first_assignment(session)
    version = assignment.scenario_version
    attachment = next(a for a in version.attachments if a.position == 0)
    attachment.file = "data/" + EVIL
    session.commit()
    login(client, who)
    response = client.get(url.format(assignment=assignment.id, slug=version.scenario.slug, number=version.number))
    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    name, params = saved_as(header)
    assert params == ["filename"]
    assert name == "x.csv__ filename_=UTF-8''evil.html_ a=_"      # quotes, ; and * (unsafe in names) replaced
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == attachment.content


def test_a_vietnamese_name_is_kept_through_rfc_5987(client, demo, session):
    assignment = first_assignment(session)
    attachment = next(a for a in assignment.scenario_version.attachments if a.position == 0)
    attachment.file = "data/Bảng số liệu xã.csv"
    session.commit()
    login(client, "cadre1")
    response = client.get(f"/cadre/assignments/{assignment.id}/attachments/0")
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment;") and header.isascii()
    assert saved_as(header)[0] == "Bảng số liệu xã.csv"
