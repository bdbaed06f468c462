"""The task inbox: my tasks, claimable group tasks, procedures I follow; claim, release, bulk approval."""
