"""In-app notifications: new tasks, returns for revision, deadlines."""
