"""The auditor workspace (issue #8): what inspectors (ủy ban kiểm tra) read and how the record is proved intact.

- `history.py`   an instance's full history for an inspector (every event, who in which role, the model and rule
                 versions, ballot tallies, eligibility as it was decided); a cadre's procedures in time order
- `anchors.py`   signed daily digests of every chain head (HMAC-SHA256), checked by `verify --against`
- `exporting.py` an instance's history as one self-contained file (JSON or HTML) verifiable offline
- `reads.py`     who read which personal record or history (the read log inspectors consult)
- `notes.py`     the inspection note: the one thing an inspector writes, itself on the instance's chain
"""
