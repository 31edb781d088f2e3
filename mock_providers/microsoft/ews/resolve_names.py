"""ResolveNames: the acting user's tenant's users whose UPN, display name or a word of it starts
with the entry (an "smtp:" prefix is dropped); none is ErrorNameResolutionNoResults, several a
Warning ErrorNameResolutionMultipleResults; ReturnFullContactData adds the t:Contact."""

from __future__ import annotations

from lxml import etree

from mock_providers.microsoft.ews.context import OpContext
from mock_providers.microsoft.ews.render import error, success
from mock_providers.microsoft.ews.xml import m, t


def resolve_names(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    full = (op.get("ReturnFullContactData") or "false").lower() in ("true", "1")
    messages: list[etree._Element] = []
    for entry in op.findall(m("UnresolvedEntry")):
        query = (entry.text or "").strip()
        if query.lower().startswith("smtp:"):
            query = query[5:]
        needle = query.casefold()
        tenant = ctx.world.tenant(ctx.acting.tenant_id)
        users = [u for u in (tenant.users.values() if tenant else [])
                 if needle and (u.upn.casefold().startswith(needle)
                                or any(p.casefold().startswith(needle)
                                       for p in u.display_name.split())
                                or u.display_name.casefold().startswith(needle))]
        users.sort(key=lambda u: u.upn)
        if not users:
            messages.append(error("ResolveNames", "ErrorNameResolutionNoResults",
                                  "No results were found."))
            continue
        if len(users) > 1:
            message = etree.Element(m("ResolveNamesResponseMessage"), ResponseClass="Warning")
            etree.SubElement(message, m("MessageText")).text = "Multiple results were found."
            etree.SubElement(message, m("ResponseCode")).text = \
                "ErrorNameResolutionMultipleResults"
            etree.SubElement(message, m("DescriptiveLinkKey")).text = "0"
        else:
            message = success("ResolveNames")
        found = users[:100]
        resolution_set = etree.SubElement(message, m("ResolutionSet"), {
            "TotalItemsInView": str(len(found)),
            "IncludesLastItemInRange": "true" if len(found) == len(users) else "false"})
        for user in found:
            resolution = etree.SubElement(resolution_set, t("Resolution"))
            box = etree.SubElement(resolution, t("Mailbox"))
            etree.SubElement(box, t("Name")).text = user.display_name
            etree.SubElement(box, t("EmailAddress")).text = user.upn
            etree.SubElement(box, t("RoutingType")).text = "SMTP"
            etree.SubElement(box, t("MailboxType")).text = "Mailbox"
            if full:
                contact = etree.SubElement(resolution, t("Contact"))
                etree.SubElement(contact, t("DisplayName")).text = user.display_name
                etree.SubElement(contact, t("GivenName")).text = user.given_name
                emails = etree.SubElement(contact, t("EmailAddresses"))
                etree.SubElement(emails, t("Entry"), Key="EmailAddress1").text = \
                    f"SMTP:{user.upn}"
                etree.SubElement(contact, t("ContactSource")).text = "ActiveDirectory"
                etree.SubElement(contact, t("Surname")).text = user.surname
        messages.append(message)
    return messages
