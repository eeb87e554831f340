"""The address book to domain events: contact-store entries (``ContactSeen``) and groups
(``GroupInfo``, ``JoinedGroup``, ``GroupInfoEvent`` → ``GroupSeen``). Pure (no neonize
import)."""

from __future__ import annotations

import logging
from typing import Any

from core.events import ContactSeen, GroupSeen
from core.ids import LID_SERVER, PERSON_SERVER, ChatJid, is_group_jid, jid_server
from whatsapp.convert_fields import jid_str

logger = logging.getLogger(__name__)

MAX_NAME = 256


def group_info(info: Any) -> GroupSeen | None:
    """Convert a ``GroupInfo`` (a joined group, or one of ``get_joined_groups``): subject,
    members and admins."""
    members = tuple(ChatJid(jid_str(p.JID)) for p in info.Participants if jid_str(p.JID))
    admins = tuple(
        ChatJid(jid_str(p.JID))
        for p in info.Participants
        if jid_str(p.JID) and (p.IsAdmin or p.IsSuperAdmin)
    )
    jid = jid_str(info.JID)
    if not is_group_jid(jid):
        logger.warning("group info for a JID that is not a group skipped")
        return None
    return GroupSeen(ChatJid(jid), info.GroupName.Name[:MAX_NAME], members, admins)


def contact_entry(entry: Any) -> ContactSeen | None:
    """Convert one entry of the session's contact store (``Contact``: JID and ``ContactInfo``
    with the saved full and first name, push name and business name); None for an entry
    that is not a person or names nobody."""
    jid = jid_str(entry.JID)
    if jid_server(jid) not in {PERSON_SERVER, LID_SERVER}:
        return None
    info = entry.Info
    found = ContactSeen(
        ChatJid(jid),
        name=info.FullName[:MAX_NAME],
        push_name=info.PushName[:MAX_NAME],
        first_name=info.FirstName[:MAX_NAME],
        business_name=info.BusinessName[:MAX_NAME],
    )
    if not (found.name or found.push_name or found.first_name or found.business_name):
        return None
    return found


def group_event(ev: Any) -> GroupSeen | None:
    """Convert ``JoinedGroup`` (name, members, admins) or ``GroupInfoEvent`` (a new name,
    admins promoted or demoted)."""
    if ev.DESCRIPTOR.name == "JoinedGroup":
        return group_info(ev.GroupInfo)
    jid = jid_str(ev.JID)
    name = ev.Name.Name if ev.HasField("Name") else ""
    promoted = tuple(ChatJid(s) for j in ev.Promote if (s := jid_str(j)))
    demoted = tuple(ChatJid(s) for j in ev.Demote if (s := jid_str(j)))
    if not name and not promoted and not demoted:
        return None
    if not is_group_jid(jid):
        logger.warning("group event for a JID that is not a group skipped")
        return None
    return GroupSeen(ChatJid(jid), name[:MAX_NAME], (), None, promoted, demoted)
