"""English is the source language: its catalogue's translations are the msgids themselves."""

import sys

from babel.messages.pofile import read_po, write_po

path = sys.argv[1]
with open(path, "rb") as fh:
    catalog = read_po(fh)
for message in catalog:
    if not message.id:
        continue
    if isinstance(message.id, tuple):
        if not any(message.string):
            message.string = tuple(message.id[:2])
    elif not message.string:
        message.string = message.id
    message.flags.discard("fuzzy")
with open(path, "wb") as fh:
    write_po(fh, catalog, sort_output=True)
