"""A year of DEMO activity for the demo city: cases, handling, compliance, nominations.

`schedule` plans it (pure: dates, volumes and each case's timeline from a seed);
`loader` writes the plan with the real models and, where they are fast enough, the
services. Everything here is fake data for development and demonstration.
"""
