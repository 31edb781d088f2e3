"""Audit findings over recorded traffic: least privilege, writes under read-only grants, auth
schemes when OAuth 2.0 is enforced."""

from __future__ import annotations

from harness.traffic.audit import audit, scopes_requested
from harness.traffic.cassettes import Exchange

LOGIN = "https://login.microsoftonline.com/contoso/oauth2/v2.0"
GRAPH = "https://graph.microsoft.com/v1.0"


def token_request(scopes: str) -> Exchange:
    return Exchange("POST", f"{LOGIN}/token", [("Content-Type",
                                                "application/x-www-form-urlencoded")],
                    f"grant_type=authorization_code&code=REDACTED&scope={scopes}", 200)


def call(method: str, url: str, status: int = 200, auth: str = "Bearer REDACTED") -> Exchange:
    return Exchange(method, url, [("Authorization", auth)], None, status)


def test_scopes_requested_from_authorize_and_token_requests() -> None:
    authorize = Exchange("GET", f"{LOGIN}/authorize?client_id=x&scope=openid+"
                                "https%3A%2F%2Fgraph.microsoft.com%2FCalendars.Read", [], None, 302)
    assert scopes_requested([authorize, token_request("Contacts.Read offline_access")]) == {
        "openid", "Calendars.Read", "Contacts.Read", "offline_access"}


def test_a_write_scope_used_only_for_reads_is_a_least_privilege_finding() -> None:
    findings = audit([token_request("Calendars.ReadWrite openid"),
                      call("GET", f"{GRAPH}/me/calendarView/delta")])
    assert [(f.kind, f.requirement_ids) for f in findings] == [
        ("unused_scope", ("SCOPE-05", "OAUTH-03"))]
    assert "Calendars.Read would do" in findings[0].message
    # a write made: the write scope is needed, nothing to say
    assert audit([token_request("Calendars.ReadWrite"), call("POST", f"{GRAPH}/me/events",
                                                              201)]) == []


def test_writes_under_read_only_scopes_and_undocumented_scopes() -> None:
    findings = audit([token_request("Calendars.Read Mail.Read"),
                      call("PATCH", f"{GRAPH}/me/events/AAMk1", 403),
                      call("GET", f"{GRAPH}/me/events")])
    assert sorted(f.kind for f in findings) == ["undocumented_scope", "write_under_read_only"]
    write = next(f for f in findings if f.kind == "write_under_read_only")
    assert write.url == f"{GRAPH}/me/events/AAMk1" and "answered 403" in write.message


def test_auth_schemes_only_when_oauth_is_enforced() -> None:
    ews = "https://outlook.office365.com/EWS/Exchange.asmx"
    traffic = [call("POST", ews, auth="Basic REDACTED"), call("POST", ews),
               call("POST", ews, auth="NTLM REDACTED")]
    assert audit(traffic) == []
    findings = audit(traffic, oauth_enforced=True)
    assert [(f.kind, f.message.split(" with ")[1].split()[0]) for f in findings] == [
        ("auth_scheme", "Basic"), ("auth_scheme", "NTLM")]
    assert all(f.requirement_ids == ("OAUTH-01",) for f in findings)


def test_findings_are_grouped_per_requirement_in_the_html_and_json_reports() -> None:
    """The requirement view shows the audit findings of its scenarios (attached per scenario
    as evidence by the traffic session), in both the HTML and the JSON report."""
    import json
    from datetime import UTC, datetime

    from harness.reports import (
        Evidence,
        RequirementRecord,
        RunResult,
        ScenarioResult,
        render_html,
        render_json,
    )

    findings = [f.as_dict() for f in audit([token_request("Calendars.ReadWrite"),
                                            call("GET", f"{GRAPH}/me/events")])]
    assert findings and findings[0]["kind"] == "unused_scope"

    def scenario(name: str, rid: str, evidence: list[Evidence]) -> ScenarioResult:
        return ScenarioResult("F", "features/f.feature", name, 1, [], [rid], "passed", 0.1, [],
                              evidence=evidence)

    audited = Evidence(label="traffic audit (1 finding(s))", data={"findings": findings})
    other = Evidence(label="provider traffic through the proxy", data={"exchanges": []})
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    run = RunResult("r1", 42, "reference", moment, moment,
                    [scenario("asks <too much>", "SCOPE-05", [other, audited]),
                     scenario("quiet one", "SYNC-01", [other])],
                    [RequirementRecord("SCOPE-05", "scope", "t", "s", "x", True),
                     RequirementRecord("SYNC-01", "sync", "t", "s", "x", True)])
    rows = {r["id"]: r for r in json.loads(render_json(run))["requirements"]}
    assert [(f["scenario"], f["kind"]) for f in rows["SCOPE-05"]["findings"]] == [
        ("asks <too much>", "unused_scope")]
    assert rows["SCOPE-05"]["findings"][0]["requirement_ids"] == list(
        findings[0]["requirement_ids"])
    assert rows["SYNC-01"]["findings"] == []
    html = render_html(run)
    scope_row = html.split('id="req-SCOPE-05"', 1)[1].split("</tr>", 1)[0]
    sync_row = html.split('id="req-SYNC-01"', 1)[1].split("</tr>", 1)[0]
    assert "traffic audit: 1 finding" in scope_row and findings[0]["message"][:30] in scope_row
    assert "asks &lt;too much&gt;" in scope_row  # escaped
    assert "traffic audit" not in sync_row
