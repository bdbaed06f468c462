"""Administration: deployed procedure versions, uploading a new version, problems that need an administrator."""
