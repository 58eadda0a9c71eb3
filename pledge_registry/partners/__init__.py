"""Partner systems of the complaint intake API and their keys (services.py; `flask partners`)."""
