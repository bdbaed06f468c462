"""Production mode over HTTP and the command line: /healthz, /metrics, JSON request logs, `canbo serve`,
`canbo check`, `canbo backup` / `canbo restore` (docs/deploy.md, docs/decisions/0023 and 0024)."""
