"""Analysis (研判): complaint tallies, trends, spike alerts and their staff pages."""
