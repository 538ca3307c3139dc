"""The user and group names a base image has before imagespec adds the app's user (BP8).

The final stage makes `final.user.name` as a user and a group (groupadd/useradd, BusyBox's
addgroup/adduser, or a passwd written beside root's on scratch); each refuses a name the
base has already (`groupadd: group 'root' already exists`), after the rest of the build.
So a spec's user name is refused where it is written instead.
"""

from __future__ import annotations

from imagespec.reference import Invalid

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
