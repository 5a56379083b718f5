"""Compiled reads: known query documents answered by one SQL statement building the JSON.

Centers declare where their types live in SQL (``maps``); ``schema/`` hands the maps
to the composed endpoint; ``planner.ReadPlanner`` compiles each document once
(``compiler``) and runs it on the request's connection (``kernel.prepared``). Whatever
a map does not cover takes the generic path. See docs/decisions/0150.
"""
