"""Capacity-aware planning: seats per service and month, and a batch of clients planned into them.

- `capacity`: the seats each service has in a month (the catalogue's
  `monthly_capacity`, overridden per month by a capacity table).
- `programme`: one batch of clients awaiting a decision assigned at most one
  service each, as an integer programme solved with HiGHS.
- `prices`: what a seat is worth to the clients expected later, from the
  linear relaxation over a forecast of arrivals, and each client's value of
  waiting for a later seat.
- `month`: a month's batch scored by the router, planned and scheduled.
- `hindsight`: a whole period planned with every arrival known (the
  backtest's yard stick).
- `schedule`: start days spread over the month, and each client's expected wait.
"""
