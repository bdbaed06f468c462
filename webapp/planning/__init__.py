"""Planning pages: start a planning review (personnel, scoped), the plan of a unit with its history and structure
(.xlsx/.csv export), and the page that opens the ballot box of the step a review is at."""
