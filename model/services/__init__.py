"""The service report's figures: what the municipality's services did, and for whom.

Pure computation on the three input tables and on decision points scored by
a router (no tracking, web or database). One module per concept:

- :mod:`.cells`: the small-cell rule: tiny categories pooled before
  tabulating, small counts hidden;
- :mod:`.activity`: volumes per month and service, and waiting times;
- :mod:`.language`: Finnish level before and after each language service;
- :mod:`.effects`: outcomes per service, their doubly-robust effects against
  no new service with the sensitivity bound, and the same per client group;
- :mod:`.groups`: the client groups of "what works for whom";
- :mod:`.matching`: work that matches the client's education;
- :mod:`.policy_tree`: a shallow tree of plain rules that approximates the
  recommendations;
- :mod:`.report`: the report as one JSON-ready dict.

docs/reports.md describes the report.
"""
