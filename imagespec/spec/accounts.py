"""The user and group names a base image has before imagespec adds the app's user (BP8).

The final stage makes `final.user.name` as a user and a group (groupadd/useradd, BusyBox's
addgroup/adduser, or a passwd written beside root's on scratch); each refuses a name the
base has already (`groupadd: group 'root' already exists`), after the rest of the build.
So a spec's user name is refused where it is written instead.
"""

from __future__ import annotations

from imagespec.reference import Invalid

#: what `final.user.name` may be: useradd's portable name (lower case, at most 32)
ACCOUNT_NAME = r"[a-z_][a-z0-9_-]{0,31}"

# One list for every family, so a spec means the same on each base:
# - Debian: base-passwd's static passwd.master and group.master (/usr/share/base-passwd/,
#   3.6 in bookworm; `gnats` is still in bullseye's), and `_apt`, the user apt's postinst
#   adds to every Debian image;
# - Alpine: alpine-baselayout's /etc/passwd and /etc/group (3.4 and later, plus the names
#   the older ones had: adm, at, cyrus, man, operator, postmaster, smmsp, squid, vpopmail, xfs).
BASE_ACCOUNTS = frozenset({
    # Debian base-passwd, passwd.master (and apt's _apt)
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
    "backup", "list", "irc", "gnats", "nobody", "_apt",
    # Debian base-passwd, group.master
    "adm", "tty", "disk", "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape", "sudo", "audio", "dip",
    "operator", "src", "shadow", "utmp", "video", "sasl", "plugdev", "staff", "users", "nogroup",
    # Alpine baselayout, /etc/passwd
    "shutdown", "halt", "cron", "ftp", "sshd", "ntp", "guest", "postmaster", "at", "squid", "xfs", "cyrus",
    "vpopmail", "smmsp",
    # Alpine baselayout, /etc/group
    "wheel", "input", "netdev", "kvm", "abuild", "ping",
})


def new_account_name(value: str) -> str:
    """`final.user.name`: a name the base does not have yet (see the module's docstring)."""
    if value in BASE_ACCOUNTS:
        raise Invalid(f"'{value}' is a user or group the base image has already (Debian's base-passwd, Alpine's "
                      "baselayout): making it again fails the build",
                      "pick a name of your own, e.g. `app` (the default is `nonroot`); `gid: 0` joins root's group "
                      "without naming it")
    return value


# The IDs Debian's base-passwd 3.6 gives its static users and groups (bookworm's
# /etc/passwd and /etc/group, plus apt's `_apt`): groupadd/useradd refuse an ID taken
# (`GID '33' already exists`, `UID 65534 is not unique`), after the rest of the build.
DEBIAN_UIDS = {1: "daemon", 2: "bin", 3: "sys", 4: "sync", 5: "games", 6: "man", 7: "lp", 8: "mail", 9: "news",
               10: "uucp", 13: "proxy", 33: "www-data", 34: "backup", 38: "list", 39: "irc", 42: "_apt",
               65534: "nobody"}
DEBIAN_GIDS = {1: "daemon", 2: "bin", 3: "sys", 4: "adm", 5: "tty", 6: "disk", 7: "lp", 8: "mail", 9: "news",
               10: "uucp", 12: "man", 13: "proxy", 15: "kmem", 20: "dialout", 21: "fax", 22: "voice", 24: "cdrom",
               25: "floppy", 26: "tape", 27: "sudo", 29: "audio", 30: "dip", 33: "www-data", 34: "backup",
               37: "operator", 38: "list", 39: "irc", 40: "src", 42: "shadow", 43: "utmp", 44: "video", 45: "sasl",
               46: "plugdev", 50: "staff", 60: "games", 100: "users", 65534: "nogroup"}


def debian_id_taken(uid: int, gid: int) -> str | None:
    """What a Debian or Ubuntu base already has under the new user's uid, or under the gid
    of the group made for it (gid 0 is root's, joined, not made): None when both are free."""
    if uid in DEBIAN_UIDS:
        return f"uid {uid} is the user '{DEBIAN_UIDS[uid]}'"
    if gid != 0 and gid in DEBIAN_GIDS:
        return f"gid {gid} is the group '{DEBIAN_GIDS[gid]}'"
    return None
