"""Secret ballots: the member's voting page, the secretary's attendance / close / paper-count page, the printable
tally minutes (workflows/ballots.py does the work; decision 0015)."""
