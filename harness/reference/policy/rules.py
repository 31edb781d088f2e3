"""Rules across settings (what a valid configuration is) and the prerequisites the documents
state for MAPI, hybrid Office 365 and the SSO-based integration. Pure functions over values;
each returns every refusal that applies, so a message can say which conditions failed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from harness.reference.policy.refusal import Refusal
from harness.reference.policy.versions import (
    EXCHANGE_2016_CU3,
    older_than_exchange_2016_cu3,
    parse_version,
)

CU3_TEXT = ".".join(map(str, EXCHANGE_2016_CU3))


def ews_refusals(values: Mapping[str, Any]) -> list[Refusal]:
    url = (values.get("ews_url") or "").strip()
    if values.get("authorize_with") == "ews" and not url:
        return [Refusal("ews_url_required", "Authorize with EWS URL needs the EWS URL: enter "
                                            "it before saving")]
    if url:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            return [Refusal("invalid_ews_url", f"the EWS URL {url!r} is not an https URL")]
    return []


def build_refusals(values: Mapping[str, Any]) -> list[Refusal]:
    build = values.get("exchange_onprem_build")
    if build is None:
        return []
    try:
        parse_version(str(build))
    except ValueError:
        return [Refusal("invalid_build", f"the on-premises Exchange build {build!r} is not a "
                                         "build number like 15.1.466.34")]
    return []


def graph_environment_refusal(environment: str, build: str | None) -> Refusal | None:
    """Office 365 through Graph API and the Microsoft environment the admin described."""
    if environment != "hybrid":
        return None
    if build and older_than_exchange_2016_cu3(build):
        return Refusal("hybrid_exchange_before_cu3",
                       f"the on-premises Exchange server (build {build}) is older than Exchange "
                       f"2016 CU3 ({CU3_TEXT}): this hybrid Office 365 environment must "
                       "authorize with the EWS URL; Graph API does not support hybrid "
                       "environments")
    return Refusal("graph_hybrid_unsupported",
                   "Office 365 authorized with Graph API does not support a hybrid Office 365 "
                   "environment: select Authorize with EWS URL and enter the EWS URL")


def sso_refusals(values: Mapping[str, Any], feature: str) -> list[Refusal]:
    """Prerequisites of the SSO-based Office 365 integration (sign-in prompts, automatic
    integration upon login)."""
    out = []
    if not values.get("sso_configured"):
        out.append(Refusal("sso_not_configured", f"{feature} needs single sign-on configured "
                                                 "for the account"))
    if not values.get("idp_federated"):
        out.append(Refusal("idp_not_federated", f"{feature} needs the account's identity "
                                                "provider federated with the Microsoft tenant "
                                                "(Entra ID)"))
    if values.get("office365_environment") == "on_premises":
        out.append(Refusal("on_premises_unsupported", f"{feature} needs an Office 365 "
                                                      "environment that is full or hybrid; a "
                                                      "fully on-premises environment is not "
                                                      "supported"))
    if not values.get("calendar_integration") or \
            values.get("default_calendar_service") != "office365":
        out.append(Refusal("office365_integration_required",
                           f"{feature} needs calendar and contact integration configured for "
                           "Office 365"))
    return out


def auto_integrate_refusals(values: Mapping[str, Any], company_consent: bool = False
                            ) -> list[Refusal]:
    """`company_consent`: the Office 365 admin has consented on behalf of the company, so users
    need not consent themselves and the platform's user-consent option may be off (the
    documents' second fix for "Needs admin approval")."""
    feature = "automatic integration upon login"
    out = []
    if values.get("default_calendar_service") != "office365":
        out.append(Refusal("office365_only", f"{feature} is available for Office 365 only (the "
                                             "default calendar service is "
                                             f"{values.get('default_calendar_service')})"))
    out += [r for r in sso_refusals(values, feature)
            if r.code != "office365_integration_required" or values.get(
                "default_calendar_service") == "office365"]
    if not values.get("office365_users_can_consent") and not company_consent:
        out.append(Refusal("users_cannot_consent", f"{feature} needs 'Office 365 users can "
                                                   "consent to enterprise applications "
                                                   "accessing company data on their behalf' "
                                                   "switched on, or the Office 365 admin's "
                                                   "consent on behalf of the company"))
    return out


def settings_refusals(values: Mapping[str, Any], company_consent: bool = False
                      ) -> list[Refusal]:
    """Every rule a configuration in effect (account or group) must satisfy."""
    out = ews_refusals(values) + build_refusals(values)
    if values.get("default_calendar_service") == "office365" and \
            values.get("authorize_with") == "graph" and not build_refusals(values):
        refusal = graph_environment_refusal(str(values.get("office365_environment")),
                                            values.get("exchange_onprem_build"))
        if refusal is not None:
            out.append(refusal)
    if values.get("ask_to_integrate_on_sign_in", "off") != "off":
        out += sso_refusals(values, "asking users to integrate Office 365 on sign-in")
    if values.get("auto_integrate_on_login"):
        out += auto_integrate_refusals(values, company_consent)
    return out


PERMISSION_SETTINGS = ("calendar_permission", "contacts_permission")


def ews_permission_refusal(before: Mapping[str, Any], after: Mapping[str, Any]
                           ) -> Refusal | None:
    """Office 365 permissions cannot be changed while Authorize with EWS URL is selected: they
    become editable once it is unselected (a change that unselects it may set them too). The
    change that selects it may still carry them: EWS grants full mailbox access whatever they
    say, so only a later change of permissions under a selected EWS URL is refused."""
    if after.get("default_calendar_service") != "office365" or \
            after.get("authorize_with") != "ews" or before.get("authorize_with") != "ews":
        return None
    changed = [n for n in PERMISSION_SETTINGS if before.get(n) != after.get(n)]
    if not changed:
        return None
    return Refusal("permissions_fixed_by_ews",
                   "the Office 365 permissions cannot be changed while Authorize with EWS URL "
                   "is selected: unselect it to choose the calendar and contacts permissions")


EWS_FULL_ACCESS = ("Authorize with EWS URL grants full access to the mailbox; the calendar and "
                   "contacts permission choices do not limit it")
EWS_LEGACY = ("Exchange Web Services (EWS) is a legacy method and not recommended: Microsoft is "
              "phasing it out; Office 365 with the Graph API is recommended")


def service_notices(values: Mapping[str, Any]) -> list[str]:
    """What the admin must be told about the configuration in effect (not refusals)."""
    notices = []
    office365_ews = values.get("default_calendar_service") == "office365" and \
        values.get("authorize_with") == "ews"
    if office365_ews or values.get("default_calendar_service") == "exchange":
        notices.append(EWS_FULL_ACCESS)
    if office365_ews:
        notices.append(EWS_LEGACY)
    return notices


def mapi_refusals(platform: str, mapi_enabled: bool, mapi_locked: bool) -> list[Refusal]:
    """A MAPI calendar integration: Windows desktop client only, and only when the admin enabled
    MAPI and locked the setting."""
    out = []
    if platform != "windows":
        out.append(Refusal("mapi_windows_only", "calendar integration through MAPI works only "
                                                f"on the Windows desktop client, not on "
                                                f"{platform}"))
    if not mapi_enabled:
        out.append(Refusal("mapi_not_enabled", "the admin has not enabled MAPI"))
    if not mapi_locked:
        out.append(Refusal("mapi_not_locked", "the admin has not locked the MAPI setting; MAPI "
                                              "calendar integration needs MAPI enabled and "
                                              "locked"))
    return out


def combined(refusals: list[Refusal], prefix: str = "") -> Refusal | None:
    """One refusal naming every failed condition (the first one's code)."""
    if not refusals:
        return None
    return Refusal(refusals[0].code, prefix + "; ".join(r.message for r in refusals))
