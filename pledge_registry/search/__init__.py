"""The merchant search: an n-gram index kept in step with the merchant row (`index.py`) and
the directory's query over it (`directory.py`), which the public directory and the API share.

Pure text handling (normalising, cutting into grams) is in `text.py`, with no Flask import.
"""
