"""The caseworker console at /console and the client's explanation: pages for people.

Server-rendered HTML (Jinja2) with one small script and one stylesheet, all
served from this package; the console signs in with an API key exchanged
for a session cookie and uses the same roles, units, services and storage
as the API. docs/console.md is the guide for a pilot team.
"""
