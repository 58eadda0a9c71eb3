"""Set Chinese translations from the command line: scripts/translate.py 'msgid=译文' …
(for the few strings a change adds; then scripts/i18n compiles them)."""

import sys

from babel.messages.pofile import read_po, write_po

PATH = "pledge_registry/translations/zh/LC_MESSAGES/messages.po"
with open(PATH, "rb") as fh:
    catalog = read_po(fh)
for pair in sys.argv[1:]:
    msgid, _, msgstr = pair.partition("=")
    message = catalog.get(msgid)
    if message is None:
        sys.exit(f"no such msgid: {msgid!r} (run scripts/i18n first)")
    message.string = msgstr
    message.flags.discard("fuzzy")
with open(PATH, "wb") as fh:
    write_po(fh, catalog, sort_output=True)
